//! Media through the real server: direct uploads to the folder store and to Azure Blob
//! Storage (Azurite), GraphQL multipart uploads, processing jobs with retries, signed
//! URLs, permissions and bad input. Each runs on SQLite and on PostgreSQL.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{require_services, service_url, spawn_app_with, Options, TestApp, User};

pub const TINY_MP4: &[u8] = include_bytes!("../fixtures/tiny.mp4");
pub const THUMB_PNG: &[u8] = include_bytes!("../fixtures/thumb.png");
const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

const VIDEO_FIELDS: &str =
    "id status sizeBytes durationSeconds width height format mediaUrl thumbnailUrl \
     processing { stage progress error note } versions { version sizeBytes changes } \
     processingJob { id status attempts maxAttempts stage progress error }";

/// Whether ffprobe and ffmpeg run here; required in CI.
pub fn have_ffmpeg() -> bool {
    let runs = |p: &str| {
        std::process::Command::new(p)
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let found = runs("ffprobe") && runs("ffmpeg");
    assert!(
        found || !require_services(),
        "ffprobe/ffmpeg are not installed but REELGRAPH_REQUIRE_SERVICES=1"
    );
    found
}

fn azurite(options: &mut Options, container: &str) -> bool {
    let Some(url) = service_url("TEST_AZURITE_URL") else {
        return false;
    };
    let container = container.to_owned();
    options.configure = Some(Box::new(move |c| {
        c.media.media_store = reelgraph::config::MediaStoreKind::Azure;
        c.media.azure_account_url = Some(url);
        c.media.azure_account_key = Some(secrecy::SecretString::from(AZURITE_KEY.to_owned()));
        c.media.azure_container = container;
    }));
    true
}

fn unique_container() -> String {
    format!("rg-test-{}", uuid::Uuid::new_v4().simple())
}

pub async fn video(app: &TestApp, user: Option<&User>, id: &str) -> Value {
    let r = app
        .gql_as(
            user.map(|u| u.access.as_str()),
            &format!("query($id: ID!) {{ video(id: $id) {{ {VIDEO_FIELDS} }} }}"),
            json!({ "id": id }),
        )
        .await;
    r.data()["video"].clone()
}

/// Polls until the video leaves UPLOADING/PROCESSING.
pub async fn wait_processed(app: &TestApp, user: &User, id: &str, within: Duration) -> Value {
    let started = Instant::now();
    loop {
        let v = video(app, Some(user), id).await;
        let status = v["status"].as_str().unwrap_or_default().to_owned();
        if status == "READY" || status == "FAILED" {
            return v;
        }
        assert!(
            started.elapsed() < within,
            "still {status} after {within:?}: {v}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn request_ticket(
    app: &TestApp,
    user: &User,
    video: &str,
    input: Value,
) -> crate::helpers::Gql {
    app.gql_as(
        Some(&user.access),
        "mutation($v: ID!, $i: UploadRequestInput!) { requestVideoUpload(videoId: $v, input: $i) { uploadId uploadUrl method headers { name value } expiresAt maxBytes } }",
        json!({ "v": video, "i": input }),
    )
    .await
}

async fn ticket(app: &TestApp, user: &User, video: &str, bytes: &[u8]) -> Value {
    let r = request_ticket(
        app,
        user,
        video,
        json!({ "filename": "clip.mp4", "contentType": "video/mp4", "sizeBytes": bytes.len() }),
    )
    .await;
    r.data()["requestVideoUpload"].clone()
}

/// Sends `bytes` as the ticket says; returns the HTTP status.
async fn send(app: &TestApp, ticket: &Value, bytes: &[u8]) -> u16 {
    send_with(app, ticket, bytes, |_| true).await
}

/// Sends `bytes` to the ticket's URL with those of its headers `keep` keeps.
async fn send_with(
    app: &TestApp,
    ticket: &Value,
    bytes: &[u8],
    keep: impl Fn(&str) -> bool,
) -> u16 {
    assert_eq!(ticket["method"], "PUT");
    let mut req = app
        .client
        .put(ticket["uploadUrl"].as_str().unwrap())
        .body(bytes.to_vec());
    for h in ticket["headers"].as_array().unwrap() {
        let name = h["name"].as_str().unwrap();
        if keep(name) {
            req = req.header(name, h["value"].as_str().unwrap());
        }
    }
    req.send().await.unwrap().status().as_u16()
}

async fn complete(app: &TestApp, user: &User, upload: &str) -> crate::helpers::Gql {
    app.gql_as(
        Some(&user.access),
        &format!("mutation($u: ID!) {{ completeVideoUpload(uploadId: $u) {{ {VIDEO_FIELDS} }} }}"),
        json!({ "u": upload }),
    )
    .await
}

async fn fetch(app: &TestApp, url: &str) -> (u16, Vec<u8>) {
    let resp = app.client.get(url).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.bytes().await.unwrap().to_vec())
}

/// The whole direct path on one store: ticket, PUT, complete, processing to READY,
/// signed reads, and the ticket refusing a second use or another user.
async fn direct_upload_flow(app: &TestApp) {
    let ffmpeg = have_ffmpeg();
    let owner = app.register("media_owner").await;
    let other = app.register("media_other").await;
    let id = app.create_video(&owner, "Clip", json!({})).await;

    // Only the owner (or an admin) gets a ticket.
    let r = request_ticket(
        app,
        &other,
        &id,
        json!({ "filename": "a.mp4", "contentType": "video/mp4", "sizeBytes": 10 }),
    )
    .await;
    assert!(["FORBIDDEN", "NOT_FOUND"].contains(&r.code()), "{}", r.body);

    let t = ticket(app, &owner, &id, TINY_MP4).await;
    let expires = chrono::DateTime::parse_from_rfc3339(t["expiresAt"].as_str().unwrap()).unwrap();
    let ttl = expires.signed_duration_since(chrono::Utc::now());
    assert!(
        ttl <= chrono::Duration::minutes(15) && ttl > chrono::Duration::minutes(10),
        "{ttl}"
    );
    assert!(t["maxBytes"].as_i64().unwrap() >= TINY_MP4.len() as i64);
    assert!(
        matches!(send(app, &t, TINY_MP4).await, 200 | 201),
        "upload refused"
    );

    // Another user cannot complete it; the owner can, once.
    let upload = t["uploadId"].as_str().unwrap();
    assert_eq!(complete(app, &other, upload).await.code(), "FORBIDDEN");
    let done = complete(app, &owner, upload).await;
    let v = &done.data()["completeVideoUpload"];
    assert_eq!(v["status"], "PROCESSING", "{v}");
    assert_eq!(v["sizeBytes"], TINY_MP4.len());
    assert_eq!(complete(app, &owner, upload).await.code(), "CONFLICT");
    // The ticket cannot replace what was stored.
    assert!(
        matches!(send(app, &t, THUMB_PNG).await, 409 | 412 | 403),
        "ticket reused to overwrite"
    );
    // Not even without the ticket's If-None-Match header.
    let bare = send_with(app, &t, THUMB_PNG, |h| {
        !h.eq_ignore_ascii_case("if-none-match")
    })
    .await;
    assert!(
        matches!(bare, 409 | 412 | 403),
        "ticket reused to overwrite: {bare}"
    );

    let v = wait_processed(app, &owner, &id, Duration::from_secs(60)).await;
    assert_eq!(v["status"], "READY", "{v}");
    assert_eq!(v["processing"]["progress"], 100);
    assert_eq!(v["processingJob"]["status"], "SUCCEEDED");
    assert_eq!(v["processingJob"]["attempts"], 1);
    let versions = v["versions"].as_array().unwrap();
    let media_version = versions.last().unwrap();
    assert_eq!(media_version["sizeBytes"], TINY_MP4.len());
    assert!(media_version["changes"]
        .as_str()
        .unwrap()
        .contains("clip.mp4"));
    if ffmpeg {
        assert!(
            (v["durationSeconds"].as_f64().unwrap() - 2.0).abs() < 0.2,
            "{v}"
        );
        assert_eq!(v["width"], 160);
        assert_eq!(v["height"], 120);
        assert_eq!(v["format"], "mp4/h264");
        assert!(v["processing"]["note"].is_null());
        let (status, thumb) = fetch(app, v["thumbnailUrl"].as_str().expect("thumbnail")).await;
        assert_eq!(status, 200);
        assert_eq!(&thumb[..3], b"\xFF\xD8\xFF", "thumbnail is not a JPEG");
    }

    // The owner reads the media back byte for byte; a range works; a forged URL does not.
    let media_url = v["mediaUrl"].as_str().expect("media url").to_owned();
    let (status, bytes) = fetch(app, &media_url).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, TINY_MP4);
    let ranged = app
        .client
        .get(&media_url)
        .header("Range", "bytes=4-11")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status().as_u16(), 206);
    assert_eq!(ranged.bytes().await.unwrap().as_ref(), &TINY_MP4[4..12]);
    let forged = media_url.replace("sig=", "sig=0");
    assert!(
        matches!(fetch(app, &forged).await.0, 403 | 400),
        "forged URL accepted"
    );

    // Others see no URL until the video is published, then they do.
    assert!(video(app, Some(&other), &id).await.is_null());
    app.publish(&owner, &id).await;
    let seen = video(app, None, &id).await;
    assert!(seen["mediaUrl"].is_string(), "{seen}");
    assert!(seen["processingJob"].is_null(), "job shown to a stranger");
    let job_id = v["processingJob"]["id"].as_str().unwrap();
    let job_query = "query($id: ID!) { job(id: $id) { id status } }";
    let mine = app
        .gql_as(Some(&owner.access), job_query, json!({ "id": job_id }))
        .await;
    assert_eq!(mine.data()["job"]["status"], "SUCCEEDED");
    let theirs = app
        .gql_as(Some(&other.access), job_query, json!({ "id": job_id }))
        .await;
    assert!(theirs.data()["job"].is_null());
    let metrics =
        "{ queueMetrics { pendingJobs runningJobs failedJobs deadJobs estimatedWaitSeconds } }";
    assert_eq!(app.gql(metrics, json!({})).await.code(), "UNAUTHENTICATED");
    let m = app.gql_as(Some(&owner.access), metrics, json!({})).await;
    assert_eq!(m.data()["queueMetrics"]["pendingJobs"], 0);
}

#[tokio::test]
async fn direct_upload_to_the_folder_store() {
    let app = spawn_app_with(Options::default()).await;
    direct_upload_flow(&app).await;
    // Stored under generated names only.
    let stored: Vec<PathBuf> = walk(&app.data_dir.join("media"));
    assert!(
        stored.iter().all(|p| !p.to_string_lossy().contains("clip")),
        "{stored:?}"
    );
}

#[tokio::test]
async fn direct_upload_to_azure_blob_storage() {
    let mut options = Options::default();
    if !azurite(&mut options, &unique_container()) {
        return;
    }
    let app = spawn_app_with(options).await;
    direct_upload_flow(&app).await;

    // Large files go in blocks: Put Block twice, then Put Block List, on the same URL.
    let owner = app.register("block_owner").await;
    let id = app.create_video(&owner, "Blocks", json!({})).await;
    let t = ticket(&app, &owner, &id, TINY_MP4).await;
    let url = t["uploadUrl"].as_str().unwrap();
    let (a, b) = TINY_MP4.split_at(3000);
    let ids = ["YmxvY2stMDAw", "YmxvY2stMDAx"];
    for (block, part) in ids.iter().zip([a, b]) {
        let resp = app
            .client
            .put(format!("{url}&comp=block&blockid={block}"))
            .header("x-ms-version", "2022-11-02")
            .body(part.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status().as_u16(),
            201,
            "{}",
            resp.text().await.unwrap()
        );
    }
    let list = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList><Latest>{}</Latest><Latest>{}</Latest></BlockList>",
        ids[0], ids[1]
    );
    let resp = app
        .client
        .put(format!("{url}&comp=blocklist"))
        .header("x-ms-version", "2022-11-02")
        .header("x-ms-blob-content-type", "video/mp4")
        .body(list)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        201,
        "{}",
        resp.text().await.unwrap()
    );
    let done = complete(&app, &owner, t["uploadId"].as_str().unwrap()).await;
    assert_eq!(done.data()["completeVideoUpload"]["status"], "PROCESSING");
    let v = wait_processed(&app, &owner, &id, Duration::from_secs(60)).await;
    assert_eq!(v["status"], "READY", "{v}");
    let (_, bytes) = fetch(&app, v["mediaUrl"].as_str().unwrap()).await;
    assert_eq!(bytes, TINY_MP4);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// A GraphQL multipart request (one operation, files by variable).
pub fn multipart_body(
    query: &str,
    variables: Value,
    files: &[(&str, &str, &str, &[u8])],
) -> (String, Vec<u8>) {
    let boundary = format!("rgboundary{}", uuid::Uuid::new_v4().simple());
    let mut body = Vec::new();
    let mut part = |headers: String, content: &[u8]| {
        body.extend_from_slice(format!("--{boundary}\r\n{headers}\r\n\r\n").as_bytes());
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    };
    let ops = json!({ "query": query, "variables": variables }).to_string();
    part(
        "Content-Disposition: form-data; name=\"operations\"".into(),
        ops.as_bytes(),
    );
    let map: serde_json::Map<String, Value> = files
        .iter()
        .enumerate()
        .map(|(i, (var, ..))| (i.to_string(), json!([format!("variables.{var}")])))
        .collect();
    part(
        "Content-Disposition: form-data; name=\"map\"".into(),
        Value::Object(map).to_string().as_bytes(),
    );
    for (i, (_, filename, content_type, content)) in files.iter().enumerate() {
        part(
            format!("Content-Disposition: form-data; name=\"{i}\"; filename=\"{filename}\"\r\nContent-Type: {content_type}"),
            content,
        );
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub async fn post_multipart(
    app: &TestApp,
    user: &User,
    content_type: &str,
    body: Vec<u8>,
    preflight: bool,
) -> (u16, Value) {
    let mut req = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&user.access)
        .header("Content-Type", content_type)
        .body(body);
    if preflight {
        req = req.header("Apollo-Require-Preflight", "true");
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

const UPLOAD_VIDEO: &str =
    "mutation($v: ID!, $f: Upload!) { uploadVideo(videoId: $v, file: $f) { id status sizeBytes } }";
const UPLOAD_THUMB: &str =
    "mutation($v: ID!, $f: Upload!) { uploadThumbnail(videoId: $v, file: $f) { id thumbnailUrl } }";

#[tokio::test]
async fn multipart_uploads_and_their_limits() {
    let app = spawn_app_with(Options {
        configure: Some(Box::new(|c| {
            c.media.max_multipart_file_bytes = 64 << 10;
            c.media.max_multipart_files = 2;
        })),
        ..Options::default()
    })
    .await;
    let owner = app.register("mp_owner").await;
    let id = app.create_video(&owner, "Multipart", json!({})).await;
    let vars = json!({ "v": id, "f": null });

    // Bad requests first: nothing may be stored by any of them.
    let (ct, body) = multipart_body(
        UPLOAD_VIDEO,
        vars.clone(),
        &[("f", "clip.mp4", "video/mp4", TINY_MP4)],
    );
    let (status, resp) = post_multipart(&app, &owner, &ct, body.clone(), false).await;
    assert_eq!(status, 400, "no preflight header: {resp}");
    assert!(resp.to_string().contains("Preflight"), "{resp}");
    let anonymous = app
        .client
        .post(app.url("/graphql"))
        .header("Content-Type", &ct)
        .header("Apollo-Require-Preflight", "true")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(
        anonymous.status().as_u16(),
        401,
        "anonymous multipart upload"
    );

    let chunked = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&owner.access)
        .header("Content-Type", &ct)
        .header("Apollo-Require-Preflight", "true")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            vec![Ok::<_, std::io::Error>(body.clone())],
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(
        chunked.status().as_u16(),
        411,
        "chunked body without Content-Length"
    );

    let big = vec![0u8; 100 << 10];
    let (ct2, body2) = multipart_body(
        UPLOAD_VIDEO,
        vars.clone(),
        &[("f", "big.mp4", "video/mp4", &big)],
    );
    let (status, resp) = post_multipart(&app, &owner, &ct2, body2, true).await;
    assert_eq!(status, 413, "{resp}");

    // 1,000 files in the map are refused before any is read.
    let map: serde_json::Map<String, Value> = (0..1000)
        .map(|i| (i.to_string(), json!(["variables.f"])))
        .collect();
    let mut many = Vec::new();
    let boundary = "manyfiles";
    many.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{}\r\n",
            json!({"query": UPLOAD_VIDEO, "variables": vars})
        )
        .as_bytes(),
    );
    many.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"map\"\r\n\r\n{}\r\n",
            Value::Object(map)
        )
        .as_bytes(),
    );
    for i in 0..1000 {
        many.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{i}\"; filename=\"a.mp4\"\r\nContent-Type: video/mp4\r\n\r\nx\r\n").as_bytes());
    }
    many.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let (status, resp) = post_multipart(
        &app,
        &owner,
        &format!("multipart/form-data; boundary={boundary}"),
        many,
        true,
    )
    .await;
    assert_eq!(status, 413, "{resp}");

    // Declared as a video, but the bytes are a PNG, an HTML page; an SVG thumbnail.
    let html = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>";
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"><script>alert(1)</script></svg>";
    for (query, name, ct, bytes) in [
        (UPLOAD_VIDEO, "clip.mp4", "video/mp4", THUMB_PNG),
        (UPLOAD_VIDEO, "clip.mp4", "video/mp4", &html[..]),
        (UPLOAD_THUMB, "thumb.svg", "image/svg+xml", &svg[..]),
        (UPLOAD_THUMB, "thumb.png", "image/png", &svg[..]),
        (UPLOAD_VIDEO, "../../etc/passwd", "video/mp4", TINY_MP4),
        (UPLOAD_VIDEO, "x.mp4.php", "video/mp4", TINY_MP4),
    ] {
        let (ct_header, body) = multipart_body(query, vars.clone(), &[("f", name, ct, bytes)]);
        let (status, resp) = post_multipart(&app, &owner, &ct_header, body, true).await;
        assert_eq!(status, 200);
        assert_eq!(
            resp["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{name} {ct}: {resp}"
        );
    }
    assert_eq!(app.count_rows("uploads").await, 0);
    assert_eq!(app.count_rows("media_jobs").await, 0);
    assert!(walk(&app.data_dir.join("media"))
        .iter()
        .all(|p| p.starts_with(app.data_dir.join("media/.partial"))));
    assert_eq!(video(&app, Some(&owner), &id).await["status"], "DRAFT");

    // Then the real thing: a video and a thumbnail.
    let (status, resp) = post_multipart(&app, &owner, &ct, body, true).await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(
        resp["data"]["uploadVideo"]["status"], "PROCESSING",
        "{resp}"
    );
    let (ct3, body3) = multipart_body(
        UPLOAD_THUMB,
        vars.clone(),
        &[("f", "thumb.png", "image/png", THUMB_PNG)],
    );
    let (_, resp) = post_multipart(&app, &owner, &ct3, body3, true).await;
    let thumb_url = resp["data"]["uploadThumbnail"]["thumbnailUrl"]
        .as_str()
        .expect("thumbnail url")
        .to_owned();
    assert_eq!(fetch(&app, &thumb_url).await.1, THUMB_PNG);
    let v = wait_processed(&app, &owner, &id, Duration::from_secs(60)).await;
    assert_eq!(v["status"], "READY", "{v}");
    // The uploaded thumbnail wins over the generated one, and both uploads are versions.
    assert_eq!(
        fetch(&app, v["thumbnailUrl"].as_str().unwrap()).await.1,
        THUMB_PNG
    );
    assert_eq!(v["versions"].as_array().unwrap().len(), 3, "{v}");
}

#[tokio::test]
async fn direct_upload_bad_input() {
    let app = spawn_app_with(Options {
        configure: Some(Box::new(|c| {
            c.media.max_video_bytes = 1 << 20;
        })),
        ..Options::default()
    })
    .await;
    let owner = app.register("bad_owner").await;
    let id = app.create_video(&owner, "Bad", json!({})).await;
    let long = format!("{}.mp4", "a".repeat(296));
    for (filename, content_type, size, field) in [
        ("../../etc/passwd", "video/mp4", 10, "input.filename"),
        ("x.mp4.php", "video/mp4", 10, "input.filename"),
        ("a\u{0}b.mp4", "video/mp4", 10, "input.filename"),
        ("evil\u{202E}4pm.mp4", "video/mp4", 10, "input.filename"),
        (long.as_str(), "video/mp4", 10, "input.filename"),
        ("x.mp4", "text/html", 10, "input.contentType"),
        ("x.mp4", "image/svg+xml", 10, "input.contentType"),
        ("x.mp4", "video/mp4", 0, "input.sizeBytes"),
    ] {
        let r = request_ticket(
            &app,
            &owner,
            &id,
            json!({ "filename": filename, "contentType": content_type, "sizeBytes": size }),
        )
        .await;
        assert_eq!(r.code(), "BAD_USER_INPUT", "{filename:?}: {}", r.body);
        assert_eq!(
            r.body["errors"][0]["extensions"]["field"], field,
            "{filename:?}: {}",
            r.body
        );
    }
    let r = request_ticket(
        &app,
        &owner,
        &id,
        json!({ "filename": "x.mp4", "contentType": "video/mp4", "sizeBytes": 2 << 20 }),
    )
    .await;
    assert_eq!(r.code(), "PAYLOAD_TOO_LARGE", "{}", r.body);
    // PREMIUM users get larger tickets.
    let premium = app
        .promote(&app.register("premium_owner").await, "PREMIUM")
        .await;
    let their = app.create_video(&premium, "Long", json!({})).await;
    let r = request_ticket(
        &app,
        &premium,
        &their,
        json!({ "filename": "x.mp4", "contentType": "video/mp4", "sizeBytes": 2 << 20 }),
    )
    .await;
    // A ticket accepts what it declared, not the whole allowance.
    assert_eq!(
        r.data()["requestVideoUpload"]["maxBytes"].as_i64().unwrap(),
        2 << 20
    );

    // Completing without uploading; a PNG or HTML on a video ticket; a short upload.
    let t = ticket(&app, &owner, &id, TINY_MP4).await;
    let r = complete(&app, &owner, t["uploadId"].as_str().unwrap()).await;
    assert_eq!(r.code(), "BAD_USER_INPUT", "{}", r.body);
    for fake in [
        THUMB_PNG.to_vec(),
        b"<html><script>alert(1)</script></html>".to_vec(),
    ] {
        let t = ticket(&app, &owner, &id, &fake).await;
        assert!(matches!(send(&app, &t, &fake).await, 200 | 201));
        let r = complete(&app, &owner, t["uploadId"].as_str().unwrap()).await;
        assert_eq!(r.code(), "BAD_USER_INPUT", "{}", r.body);
    }
    let t = ticket(&app, &owner, &id, TINY_MP4).await;
    assert!(matches!(send(&app, &t, &TINY_MP4[..1000]).await, 200 | 201));
    let r = complete(&app, &owner, t["uploadId"].as_str().unwrap()).await;
    assert_eq!(r.code(), "BAD_USER_INPUT", "{}", r.body);

    // The folder store's own checks: no Content-Length, too long, a tampered limit.
    let t = ticket(&app, &owner, &id, TINY_MP4).await;
    let url = t["uploadUrl"].as_str().unwrap();
    let chunked = app
        .client
        .put(url)
        .header("Content-Type", "video/mp4")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            vec![Ok::<_, std::io::Error>(TINY_MP4.to_vec())],
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(chunked.status().as_u16(), 411);
    let huge = vec![0u8; (1 << 20) + 1];
    let resp = app
        .client
        .put(url)
        .header("Content-Type", "video/mp4")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);
    let tampered = url.replace("max=", "max=9");
    let resp = app
        .client
        .put(&tampered)
        .header("Content-Type", "video/mp4")
        .body(TINY_MP4.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);

    // Nothing was accepted: the video is still a DRAFT with its first version only.
    let v = video(&app, Some(&owner), &id).await;
    assert_eq!(v["status"], "DRAFT");
    assert_eq!(v["versions"].as_array().unwrap().len(), 1);
    assert_eq!(app.count_rows("media_jobs").await, 0);

    // An expired ticket is refused by storage and by completeVideoUpload.
    let app = spawn_app_with(Options {
        configure: Some(Box::new(|c| c.media.upload_ticket_seconds = 1)),
        ..Options::default()
    })
    .await;
    let owner = app.register("late_owner").await;
    let id = app.create_video(&owner, "Late", json!({})).await;
    let t = ticket(&app, &owner, &id, TINY_MP4).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(send(&app, &t, TINY_MP4).await, 403);
    let r = complete(&app, &owner, t["uploadId"].as_str().unwrap()).await;
    assert_eq!(r.code(), "BAD_USER_INPUT");
    assert!(r.body.to_string().contains("expired"), "{}", r.body);
}

/// A shell script standing in for ffprobe: fails while `flag` exists, else runs the
/// real ffprobe.
fn flaky_ffprobe(dir: &Path, flag: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("ffprobe-flaky");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n[ \"$1\" = -version ] && exec ffprobe -version\nif [ -e '{}' ]; then echo 'simulated probe failure' >&2; exit 1; fi\nexec ffprobe \"$@\"\n",
            flag.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

async fn upload_multipart(app: &TestApp, user: &User, id: &str, bytes: &[u8]) {
    let (ct, body) = multipart_body(
        UPLOAD_VIDEO,
        json!({ "v": id, "f": null }),
        &[("f", "clip.mp4", "video/mp4", bytes)],
    );
    let (status, resp) = post_multipart(app, user, &ct, body, true).await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(
        resp["data"]["uploadVideo"]["status"], "PROCESSING",
        "{resp}"
    );
}

#[tokio::test]
async fn failing_jobs_retry_with_backoff_then_die_and_can_be_retried() {
    if !have_ffmpeg() {
        return;
    }
    let tools = tempfile::tempdir().unwrap();
    let flag = tools.path().join("fail");
    std::fs::write(&flag, b"").unwrap();
    let script = flaky_ffprobe(tools.path(), &flag);
    let app = spawn_app_with(Options {
        configure: Some(Box::new(move |c| {
            c.media.ffprobe = script.display().to_string();
            c.jobs.max_attempts = 3;
            c.jobs.backoff_ms = 1000;
        })),
        ..Options::default()
    })
    .await;
    let owner = app.register("retry_owner").await;
    let id = app.create_video(&owner, "Flaky", json!({})).await;
    let started = Instant::now();
    upload_multipart(&app, &owner, &id, TINY_MP4).await;
    let v = wait_processed(&app, &owner, &id, Duration::from_secs(60)).await;
    // Three attempts with 1 s and 2 s between them.
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(v["status"], "FAILED", "{v}");
    assert!(
        v["processing"]["error"]
            .as_str()
            .unwrap()
            .contains("simulated probe failure"),
        "{v}"
    );
    let job = &v["processingJob"];
    assert_eq!(job["status"], "DEAD");
    assert_eq!(job["attempts"], 3);
    let m = app
        .gql_as(
            Some(&owner.access),
            "{ queueMetrics { deadJobs pendingJobs } }",
            json!({}),
        )
        .await;
    assert_eq!(m.data()["queueMetrics"]["deadJobs"], 1);

    // The tool works again: retryProcessing re-runs the same job to READY.
    std::fs::remove_file(&flag).unwrap();
    let retry = "mutation($v: ID!) { retryProcessing(videoId: $v) { id status attempts } }";
    let other = app.register("retry_other").await;
    assert!(["FORBIDDEN", "NOT_FOUND"].contains(
        &app.gql_as(Some(&other.access), retry, json!({ "v": id }))
            .await
            .code()
    ));
    let r = app
        .gql_as(Some(&owner.access), retry, json!({ "v": id }))
        .await;
    assert_eq!(r.data()["retryProcessing"]["id"], job["id"]);
    assert_eq!(r.data()["retryProcessing"]["status"], "QUEUED");
    let v = wait_processed(&app, &owner, &id, Duration::from_secs(60)).await;
    assert_eq!(v["status"], "READY", "{v}");
    assert_eq!(v["processingJob"]["attempts"], 1);
    assert_eq!(v["width"], 160);
    assert_eq!(
        app.gql_as(Some(&owner.access), retry, json!({ "v": id }))
            .await
            .code(),
        "CONFLICT"
    );

    // New media while the old media's job waits for its next attempt: the old job is
    // superseded and its retry changes nothing.
    std::fs::write(&flag, b"").unwrap();
    let replaced = app.create_video(&owner, "Replaced", json!({})).await;
    upload_multipart(&app, &owner, &replaced, TINY_MP4).await;
    let started = Instant::now();
    let old_job = loop {
        let v = video(&app, Some(&owner), &replaced).await;
        if v["processingJob"]["status"] == "FAILED" {
            break v["processingJob"]["id"].clone();
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    std::fs::remove_file(&flag).unwrap();
    upload_multipart(&app, &owner, &replaced, TINY_MP4).await;
    let v = wait_processed(&app, &owner, &replaced, Duration::from_secs(60)).await;
    assert_eq!(v["status"], "READY", "{v}");
    tokio::time::sleep(Duration::from_millis(2500)).await; // the old retry's due time
    let v = video(&app, Some(&owner), &replaced).await;
    assert_eq!(
        v["status"], "READY",
        "the superseded job's retry touched the video: {v}"
    );
    let old = app
        .gql_as(
            Some(&owner.access),
            "query($id: ID!) { job(id: $id) { status error } }",
            json!({ "id": old_job }),
        )
        .await;
    assert_eq!(old.data()["job"]["status"], "DEAD");
    assert!(old.data()["job"]["error"]
        .as_str()
        .unwrap()
        .contains("replaced"));

    // A truncated video: every attempt fails with a reason, then it is FAILED.
    let broken = app.create_video(&owner, "Broken", json!({})).await;
    upload_multipart(&app, &owner, &broken, &TINY_MP4[..1200]).await;
    let v = wait_processed(&app, &owner, &broken, Duration::from_secs(60)).await;
    assert_eq!(v["status"], "FAILED", "{v}");
    assert!(
        v["processing"]["error"]
            .as_str()
            .unwrap()
            .contains("could not read"),
        "{v}"
    );
    assert_eq!(v["processingJob"]["status"], "DEAD");
}

#[tokio::test]
async fn without_ffmpeg_videos_become_ready_with_size_and_type() {
    let app = spawn_app_with(Options {
        configure: Some(Box::new(|c| {
            c.media.ffprobe = "/nonexistent/ffprobe".into();
            c.media.ffmpeg = "/nonexistent/ffmpeg".into();
        })),
        ..Options::default()
    })
    .await;
    let owner = app.register("plain_owner").await;
    let id = app.create_video(&owner, "Plain", json!({})).await;
    upload_multipart(&app, &owner, &id, TINY_MP4).await;
    let v = wait_processed(&app, &owner, &id, Duration::from_secs(60)).await;
    assert_eq!(v["status"], "READY", "{v}");
    assert_eq!(v["format"], "video/mp4");
    assert_eq!(v["sizeBytes"], TINY_MP4.len());
    assert!(
        v["durationSeconds"].is_null() && v["thumbnailUrl"].is_null(),
        "{v}"
    );
    assert!(
        v["processing"]["note"]
            .as_str()
            .unwrap()
            .contains("ffprobe"),
        "{v}"
    );
}
