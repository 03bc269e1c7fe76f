#!/usr/bin/env bash
# Load benchmark for the spine: video(id), a feed page, login, feed during a login storm,
# and idle RSS, on SQLite and on PostgreSQL, against a minimal poem + sea-orm baseline
# that reads the same row. Prints a markdown table for BENCHMARKS.md.
#
# Needs wrk (Debian: apt-get install wrk). Env: CONNECTIONS (64), DURATION (15s),
# VIDEOS (100000), USERS (1000), PG_URL (postgres://postgres@127.0.0.1:5432), BACKENDS.
set -euo pipefail
cd "$(dirname "$0")/.."

CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-15s}
VIDEOS=${VIDEOS:-100000}
USERS=${USERS:-1000}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
BACKENDS=${BACKENDS:-"sqlite postgres"}
export USERS
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/reelgraph-target}"
BIN="$CARGO_TARGET_DIR/release/reelgraph"
BASE="$CARGO_TARGET_DIR/release/reelgraph-bench-baseline"
RG=127.0.0.1:18090
BL=127.0.0.1:18091

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
cargo build --release -q -p reelgraph -p reelgraph-bench-baseline

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

wait_ready() { for _ in $(seq 1 100); do curl -sf "http://$1" >/dev/null && return 0; sleep 0.2; done; echo "not ready: $1" >&2; exit 1; }

# wrk_row NAME URL SCRIPT [extra args]: prints "| NAME | req/s | p50 | p99 | errors |",
# errors being non-2xx responses plus 200s that carry GraphQL errors.
wrk_row() {
  local name=$1 url=$2 script=$3; shift 3
  local out
  out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency ${script:+-s "$script"} "$@" "$url")
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx/ {n += $5} /GraphQL errors:/ {n += $3} END {print n + 0}' <<<"$out")
  echo "| $BACKEND | $name | $rps | $p50 | $p99 | $errors |"
}

gql() { curl -sf "http://$RG/graphql" -H 'content-type: application/json' ${TOKEN:+-H "authorization: Bearer $TOKEN"} -d "$1"; }

echo "| backend | scenario | req/s | p50 | p99 | errors |"
echo "|---|---|---|---|---|---|"
for BACKEND in $BACKENDS; do
  data=$(mktemp -d /tmp/rg-bench-XXXX)
  if [ "$BACKEND" = postgres ]; then
    psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS rg_bench WITH (FORCE)" -c "CREATE DATABASE rg_bench" >/dev/null
    export DATABASE_URL="$PG_URL/rg_bench"
  else
    export DATABASE_URL="sqlite://$data/reelgraph.db?mode=rwc"
  fi
  seed_start=$(date +%s.%N)
  REELGRAPH_DATA_DIR=$data "$BIN" seed --users "$USERS" --videos "$VIDEOS" >/dev/null 2>&1
  seed_secs=$(echo "$(date +%s.%N) - $seed_start" | bc)

  RUST_LOG=warn REELGRAPH_DATA_DIR=$data REELGRAPH_LISTEN=$RG "$BIN" serve >"$data/server.log" 2>&1 &
  rg_pid=$!; pids+=("$rg_pid")
  LISTEN=$BL "$BASE" >"$data/baseline.log" 2>&1 &
  pids+=("$!")
  wait_ready "$RG/health/ready"
  sleep 2
  idle_rss=$(ps -o rss= -p "$rg_pid" | tr -d ' ')

  TOKEN=
  TOKEN=$(gql '{"query":"mutation { login(input: {usernameOrEmail: \"demo00001\", password: \"demo-password\"}) { accessToken } }"}' | sed -E 's/.*"accessToken":"([^"]+)".*/\1/')
  export TOKEN
  export VIDEO_ID
  VIDEO_ID=$(gql '{"query":"{ videos(first: 1, sort: MOST_LIKED) { nodes { id } } }"}' | sed -E 's/.*"id":"([^"]+)".*/\1/')
  wait_ready "$BL/video/$VIDEO_ID"

  wrk_row "baseline: row as JSON" "http://$BL/video/$VIDEO_ID" ""
  wrk_row "video(id)" "http://$RG/graphql" bench/wrk/video.lua
  wrk_row "feed page (20, owner, likeCount, viewerHasFavorited)" "http://$RG/graphql" bench/wrk/feed.lua
  wrk_row "login" "http://$RG/graphql" bench/wrk/login.lua
  # The storm: logins on half the connections while the feed runs on the other half.
  (CONNECTIONS=$((CONNECTIONS / 2)); wrk -t1 -c"$CONNECTIONS" -d"$DURATION" -s bench/wrk/login.lua "http://$RG/graphql" >/dev/null) &
  storm=$!
  CONNECTIONS=$((CONNECTIONS / 2)) wrk_row "feed page during a login storm" "http://$RG/graphql" bench/wrk/feed.lua
  wait "$storm"
  busy_rss=$(ps -o rss= -p "$rg_pid" | tr -d ' ')
  echo "| $BACKEND | seed $USERS users + $VIDEOS videos | ${seed_secs}s | | | |"
  echo "| $BACKEND | RSS idle / after load | $((idle_rss / 1024)) MB / $((busy_rss / 1024)) MB | | | |"
  cleanup; pids=()
  sleep 1
done
