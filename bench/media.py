#!/usr/bin/env python3
"""Media benchmark (not a test): 200 MB uploads through the direct path (folder store and
Azurite) and through GraphQL multipart, the server's RSS during each, jobs processed per
minute for small videos, and time from completeVideoUpload to READY.

Usage: python3 bench/media.py --bin target/release/reelgraph [--azurite URL] [--mb 200]
                              [--jobs 60] [--tiny tests/fixtures/tiny.mp4]
Only the standard library; starts its own servers on free ports in temporary folders.
"""
import argparse, json, os, shutil, socket, statistics, subprocess, sys, tempfile, threading, time
import http.client, urllib.parse, uuid

AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


class Server:
    def __init__(self, binary, extra_env):
        self.dir = tempfile.mkdtemp(prefix="rg-bench-media-")
        self.port = free_port()
        env = {"PATH": os.environ["PATH"], "REELGRAPH_DATA_DIR": self.dir, "RUST_LOG": "warn",
               "REELGRAPH_MAX_MULTIPART_FILE_BYTES": str(512 << 20),
               "REELGRAPH_JWT_SECRET": "bench-secret-bench-secret-bench-secret-01"}
        env.update(extra_env)
        self.proc = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{self.port}"], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(300):
            try:
                self.request("GET", "/health/live"); break
            except OSError:
                time.sleep(0.1)

    def rss_mb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def request(self, method, path, body=None, headers=None, host=None):
        conn = http.client.HTTPConnection(host or f"127.0.0.1:{self.port}", timeout=600)
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse(); data = resp.read(); conn.close()
        return resp.status, data

    def gql(self, query, variables=None, token=None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        status, data = self.request("POST", "/graphql", json.dumps({"query": query, "variables": variables or {}}), headers)
        body = json.loads(data)
        if body.get("errors"):
            raise RuntimeError(body["errors"])
        return body["data"]

    def stop(self):
        self.proc.kill(); self.proc.wait(); shutil.rmtree(self.dir, ignore_errors=True)


class RssSampler(threading.Thread):
    def __init__(self, server):
        super().__init__(daemon=True); self.server = server; self.samples = []; self.running = True

    def run(self):
        while self.running:
            self.samples.append(self.server.rss_mb()); time.sleep(0.05)

    def stop(self):
        self.running = False; self.join(); return max(self.samples or [0.0])


def login(server, name):
    q = "mutation($u: String!) { register(input: {username: $u, email: \"%s@example.com\", password: \"correct horse battery\"}) { accessToken } }" % name
    return server.gql(q, {"u": name})["register"]["accessToken"]


def new_video(server, token, title):
    return server.gql("mutation($t: String!) { createVideo(input: {title: $t}) { id } }", {"t": title}, token)["createVideo"]["id"]


def wait_ready(server, token, vid, timeout=600):
    start = time.time()
    while time.time() - start < timeout:
        v = server.gql("query($id: ID!) { video(id: $id) { status processing { error } } }", {"id": vid}, token)["video"]
        if v["status"] in ("READY", "FAILED"):
            return v
        time.sleep(0.02)
    raise RuntimeError("timeout")


def make_file(path, mb, tiny):
    # A real MP4 header (the fixture) padded to the size: sniffing accepts it, and the
    # upload paths never parse further.
    with open(tiny, "rb") as src, open(path, "wb") as out:
        head = src.read(); out.write(head)
        chunk = b"\0" * (1 << 20); left = mb * (1 << 20) - len(head)
        while left > 0:
            out.write(chunk[:min(left, len(chunk))]); left -= len(chunk)


def put_file(url, headers, path):
    u = urllib.parse.urlsplit(url)
    size = os.path.getsize(path)
    conn = http.client.HTTPConnection(u.netloc, timeout=600)
    with open(path, "rb") as f:
        conn.request("PUT", u.path + ("?" + u.query if u.query else ""), body=f,
                     headers=dict(headers, **{"Content-Length": str(size)}))
        resp = conn.getresponse(); resp.read()
    conn.close()
    return resp.status


def direct(server, path, label):
    token = login(server, "direct" + uuid.uuid4().hex[:8])
    vid = new_video(server, token, label)
    size = os.path.getsize(path)
    t = server.gql("mutation($v: ID!, $i: UploadRequestInput!) { requestVideoUpload(videoId: $v, input: $i) { uploadId uploadUrl headers { name value } } }",
                   {"v": vid, "i": {"filename": "big.mp4", "contentType": "video/mp4", "sizeBytes": size}}, token)["requestVideoUpload"]
    before = server.rss_mb()
    sampler = RssSampler(server); sampler.start()
    start = time.time()
    status = put_file(t["uploadUrl"], {h["name"]: h["value"] for h in t["headers"]}, path)
    upload_s = time.time() - start
    peak = sampler.stop()
    sampler = RssSampler(server); sampler.start()
    c0 = time.time()
    server.gql("mutation($u: ID!) { completeVideoUpload(uploadId: $u) { status } }", {"u": t["uploadId"]}, token)
    complete_s = time.time() - c0
    v = wait_ready(server, token, vid)
    ready_s = time.time() - c0
    peak_processing = sampler.stop()
    return dict(path=label, status=status, seconds=upload_s, mb_per_s=size / (1 << 20) / upload_s,
                rss_before_mb=before, peak_rss_upload_mb=peak, peak_rss_processing_mb=peak_processing,
                complete_call_s=complete_s, complete_to_ready_s=ready_s, final=v["status"])


def multipart(server, path, label):
    token = login(server, "mp" + uuid.uuid4().hex[:8])
    vid = new_video(server, token, label)
    boundary = "rgbench" + uuid.uuid4().hex
    ops = json.dumps({"query": "mutation($v: ID!, $f: Upload!) { uploadVideo(videoId: $v, file: $f) { status } }",
                      "variables": {"v": vid, "f": None}})
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{ops}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"map\"\r\n\r\n{{\"0\": [\"variables.f\"]}}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"big.mp4\"\r\nContent-Type: video/mp4\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    body_path = path + ".multipart"
    with open(body_path, "wb") as out, open(path, "rb") as src:
        out.write(head); shutil.copyfileobj(src, out, 1 << 20); out.write(tail)
    size = os.path.getsize(body_path)
    before = server.rss_mb()
    sampler = RssSampler(server); sampler.start()
    start = time.time()
    conn = http.client.HTTPConnection(f"127.0.0.1:{server.port}", timeout=600)
    with open(body_path, "rb") as f:
        conn.request("POST", "/graphql", body=f, headers={"Content-Type": f"multipart/form-data; boundary={boundary}",
                     "Content-Length": str(size), "Authorization": f"Bearer {token}", "Apollo-Require-Preflight": "1"})
        resp = conn.getresponse(); data = json.loads(resp.read())
    upload_s = time.time() - start
    peak = sampler.stop()
    os.remove(body_path)
    if data.get("errors"):
        raise RuntimeError(data["errors"])
    sampler = RssSampler(server); sampler.start()
    c0 = time.time()
    v = wait_ready(server, token, vid)
    peak_processing = sampler.stop()
    # For multipart the upload request already stored the file and queued the job.
    return dict(path=label, status=resp.status, seconds=upload_s, mb_per_s=os.path.getsize(path) / (1 << 20) / upload_s,
                rss_before_mb=before, peak_rss_upload_mb=peak, peak_rss_processing_mb=peak_processing,
                accepted_to_ready_s=time.time() - c0, final=v["status"])


def jobs_per_minute(server, tiny, n):
    """n small videos uploaded at once (multipart); jobs per minute from the first upload
    to the last READY, and each video's time from upload accepted to READY."""
    token = login(server, "jobs" + uuid.uuid4().hex[:8])
    data = open(tiny, "rb").read()
    vids = [new_video(server, token, f"small {i}") for i in range(n)]
    accepted = {}
    start = time.time()
    for vid in vids:
        boundary = "rgjobs" + uuid.uuid4().hex
        ops = json.dumps({"query": "mutation($v: ID!, $f: Upload!) { uploadVideo(videoId: $v, file: $f) { status } }",
                          "variables": {"v": vid, "f": None}})
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{ops}\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"map\"\r\n\r\n{{\"0\": [\"variables.f\"]}}\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"s.mp4\"\r\nContent-Type: video/mp4\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
        status, resp = server.request("POST", "/graphql", body, {"Content-Type": f"multipart/form-data; boundary={boundary}",
                                      "Authorization": f"Bearer {token}", "Apollo-Require-Preflight": "1"})
        accepted[vid] = time.time()
    done = {}
    while len(done) < n:
        for vid in vids:
            if vid in done:
                continue
            v = server.gql("query($id: ID!) { video(id: $id) { status } }", {"id": vid}, token)["video"]
            if v["status"] in ("READY", "FAILED"):
                done[vid] = (time.time(), v["status"])
        time.sleep(0.05)
    total = max(t for t, _ in done.values()) - start
    latencies = sorted(done[v][0] - accepted[v] for v in vids)
    return dict(jobs=n, seconds=total, per_minute=n / total * 60,
                ready=sum(1 for _, s in done.values() if s == "READY"),
                p50_upload_to_ready_s=statistics.median(latencies),
                max_upload_to_ready_s=latencies[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--azurite")
    ap.add_argument("--mb", type=int, default=200)
    ap.add_argument("--jobs", type=int, default=60)
    ap.add_argument("--tiny", default="tests/fixtures/tiny.mp4")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="rg-bench-file-")
    big = os.path.join(work, "big.mp4")
    make_file(big, args.mb, args.tiny)
    rows = []
    # No ffprobe for the 200 MB file: it is padding after a real header, so the
    # processing measured is the job's own overhead (download/copy, sniff, finalize).
    plain = {"REELGRAPH_FFPROBE": "/nonexistent", "REELGRAPH_FFMPEG": "/nonexistent"}
    s = Server(args.bin, plain)
    try:
        idle = s.rss_mb()
        rows.append(dict(direct(s, big, "direct PUT, folder store"), idle_rss_mb=idle))
        rows.append(dict(multipart(s, big, "GraphQL multipart, folder store"), idle_rss_mb=idle))
    finally:
        s.stop()
    if args.azurite:
        env = dict(plain, REELGRAPH_MEDIA_STORE="azure", AZURE_STORAGE_ACCOUNT_URL=args.azurite,
                   AZURE_STORAGE_KEY=AZURITE_KEY, AZURE_STORAGE_CONTAINER="bench" + uuid.uuid4().hex[:12])
        s = Server(args.bin, env)
        try:
            idle = s.rss_mb()
            rows.append(dict(direct(s, big, "direct PUT, Azurite"), idle_rss_mb=idle))
            rows.append(dict(multipart(s, big, "GraphQL multipart, Azurite"), idle_rss_mb=idle))
        finally:
            s.stop()
    s = Server(args.bin, {})
    try:
        jobs = jobs_per_minute(s, args.tiny, args.jobs)
    finally:
        s.stop()
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({"uploads": rows, "jobs": jobs}, indent=2))


if __name__ == "__main__":
    main()
