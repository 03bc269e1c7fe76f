#!/usr/bin/env bash
# Soak: one release server on the embedded default (SQLite; set DATABASE_URL and REDIS_URL
# for the scaled-out shape), seeded, under mixed load for MINUTES minutes:
#   - feed pages (signed in), video(id) and search reads, and favorite toggles (writes),
#     each from its own wrk in one-minute windows;
#   - SUBSCRIBERS WebSocket subscribers (bench/fanout) hearing EVENTS stats updates a second.
# After every minute it prints a row: req/s and p99 per scenario, the server's RSS and
# open descriptors. Flat RSS and descriptors after warm-up and a stable p99 are the pass.
# RSS is split into anonymous memory (the heap: what a leak grows) and file-backed pages
# (memory-mapped index segments and the binary, which the kernel may drop at any time),
# and the search index's size on disk is printed beside them.
#
# Needs wrk (Debian: apt-get install wrk). Env: MINUTES (30), SUBSCRIBERS (1000),
# EVENTS (5), VIDEOS (10000), USERS (200); FEATURES (cargo features of the server build,
# e.g. reelgraph/system-allocator) and WRAP (a command the server runs under, e.g.
# "heaptrack -o /tmp/rg-heap") for heap profiles.
set -euo pipefail
cd "$(dirname "$0")/.."

MINUTES=${MINUTES:-30}
SUBSCRIBERS=${SUBSCRIBERS:-1000}
EVENTS=${EVENTS:-5}
VIDEOS=${VIDEOS:-10000}
USERS=${USERS:-200}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/reelgraph-target}"
BIN="$CARGO_TARGET_DIR/release/reelgraph"
FANOUT="$CARGO_TARGET_DIR/release/reelgraph-bench-fanout"

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
cargo build --release -q -p reelgraph -p reelgraph-bench-fanout ${FEATURES:+--features "$FEATURES"}
ulimit -n "$(ulimit -Hn)"

data=$(mktemp -d /tmp/rg-soak-XXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$port"
pids=()
# The server first, given time to drain (a wrapper such as heaptrack writes its profile
# once the server is gone), then everything else.
cleanup() {
  kill "${pids[0]}" 2>/dev/null || true
  for _ in $(seq 1 150); do [ -d "/proc/${pids[0]}" ] || break; sleep 0.2; done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$data"
}
trap cleanup EXIT

REELGRAPH_DATA_DIR=$data "$BIN" seed --users "$USERS" --videos "$VIDEOS" >/dev/null 2>&1
# All load comes from 127.0.0.1: lift the per-client live limits for the subscribers. The
# access tokens the load signs in with must outlive the run (they are fetched once).
REELGRAPH_LIVE_SOCKETS_PER_CLIENT=$((SUBSCRIBERS + 100)) \
REELGRAPH_LIVE_SUBSCRIPTIONS_PER_CLIENT=$((SUBSCRIBERS + 100)) \
REELGRAPH_ACCESS_TOKEN_SECONDS=$((MINUTES * 60 + 600)) \
REELGRAPH_DATA_DIR=$data RUST_LOG=warn REELGRAPH_JWT_SECRET=soak-secret-soak-secret-soak-secret-0001 \
  ${WRAP:-} "$BIN" serve --listen "127.0.0.1:$port" >"$data/server.log" 2>&1 &
server=$!
pids+=("$server")
for _ in $(seq 1 300); do curl -sf "$URL/health/live" >/dev/null && break; sleep 0.2; done
# Under a wrapper the server is the wrapper's child: measure that one.
if [ -n "${WRAP:-}" ]; then
  server=$(pgrep -n -f "$BIN serve --listen 127.0.0.1:$port") \
    || { echo "server process not found under $WRAP" >&2; exit 1; }
  pids=("$server" "${pids[@]}")
fi

gql() { curl -sf "$URL/graphql" -H 'content-type: application/json' ${TOKEN:+-H "authorization: Bearer $TOKEN"} -d "$1"; }
TOKEN=$(gql '{"query":"mutation { login(input: {usernameOrEmail: \"demo00001\", password: \"demo-password\"}) { accessToken } }"}' | sed -E 's/.*"accessToken":"([^"]+)".*/\1/')
export TOKEN
VIDEO_ID=$(gql '{"query":"{ videos(first: 1) { edges { node { id } } } }"}' | sed -E 's/.*"id":"([^"]+)".*/\1/')
export VIDEO_ID
# Ids the writers toggle favorites on.
IDS=$(gql '{"query":"{ videos(first: 50) { edges { node { id } } } }"}' | grep -o '"id":"[^"]*"' | cut -d'"' -f4 | paste -sd, -)
export IDS

"$FANOUT" "$URL" "$SUBSCRIBERS" "$EVENTS" $((MINUTES * 60 + 30)) "$server" >"$data/fanout.json" 2>"$data/fanout.log" &
fanout=$!
pids+=("$fanout")
sleep 10

window() { # name script connections -> "req/s p99 errors"
  local out
  out=$(wrk -t1 -c"$3" -d58s --latency -s "$2" "$URL/graphql" 2>/dev/null)
  printf '%s %s %s\n' "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")" \
    "$(awk '/Non-2xx/ {n += $5} /GraphQL errors:/ {n += $3} END {print n + 0}' <<<"$out")"
}

echo "| minute | feed req/s | feed p99 | video req/s | video p99 | search req/s | search p99 | writes req/s | writes p99 | errors | RSS MB | anon MB | file MB | index MB | fds |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for minute in $(seq 1 "$MINUTES"); do
  window feed bench/wrk/feed.lua 8 >"$data/feed" &
  a=$!
  window video bench/wrk/video.lua 8 >"$data/video" &
  b=$!
  window search bench/wrk/soak_search.lua 4 >"$data/search" &
  c=$!
  window writes bench/wrk/soak_write.lua 2 >"$data/writes" &
  d=$!
  wait "$a" "$b" "$c" "$d"
  read -r rss anon file < <(awk '/VmRSS/ {r = $2} /RssAnon/ {a = $2} /RssFile/ {f = $2}
    END {printf "%.0f %.0f %.0f\n", r / 1024, a / 1024, f / 1024}' "/proc/$server/status")
  index=$(du -sm "$data/search-index" 2>/dev/null | cut -f1 || true)
  fds=$(ls "/proc/$server/fd" | wc -l)
  read -r fr fp fe <"$data/feed"; read -r vr vp ve <"$data/video"
  read -r sr sp se <"$data/search"; read -r wr wp we <"$data/writes"
  echo "| $minute | $fr | $fp | $vr | $vp | $sr | $sp | $wr | $wp | $((fe + ve + se + we)) | $rss | $anon | $file | ${index:-?} | $fds |"
done
wait "$fanout" 2>/dev/null || true
echo
echo "fan-out over the whole run: $(cat "$data/fanout.json")"
