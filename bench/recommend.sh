#!/usr/bin/env bash
# Trending and "for you" pages against the feed page, in one run, on the embedded default
# (SQLite) seeded with USERS users and VIDEOS videos: the same selection (20 videos with
# owner, likeCount, viewerHasFavorited), signed in as demo00001, CONNECTIONS connections.
# Prints a markdown table for BENCHMARKS.md.
#
# Needs wrk (Debian: apt-get install wrk). Env: CONNECTIONS (64), DURATION (10s),
# VIDEOS (100000), USERS (1000).
set -euo pipefail
cd "$(dirname "$0")/.."

CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-10s}
VIDEOS=${VIDEOS:-100000}
USERS=${USERS:-1000}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/reelgraph-target}"
BIN="$CARGO_TARGET_DIR/release/reelgraph"
RG=127.0.0.1:18092

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
cargo build --release -q -p reelgraph

data=$(mktemp -d /tmp/rg-recommend-XXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; }
trap cleanup EXIT
export DATABASE_URL="sqlite://$data/reelgraph.db?mode=rwc"
REELGRAPH_DATA_DIR=$data "$BIN" seed --users "$USERS" --videos "$VIDEOS" >/dev/null 2>&1
RUST_LOG=warn REELGRAPH_DATA_DIR=$data REELGRAPH_LISTEN=$RG "$BIN" serve >"$data/server.log" 2>&1 &
pid=$!

gql() { curl -sf "http://$RG/graphql" -H 'content-type: application/json' ${TOKEN:+-H "authorization: Bearer $TOKEN"} -d "$1"; }
for _ in $(seq 1 300); do curl -sf "http://$RG/health/ready" >/dev/null && break; sleep 0.2; done
# The first ranking scores every seeded row (they are bulk-inserted unscored); wait for it.
ranked=0
for _ in $(seq 1 600); do
  if gql '{"query":"{ trendingVideos(first: 1) { nodes { id } } }"}' | grep -q '"id"'; then ranked=1; break; fi
  sleep 0.5
done
[ "$ranked" = 1 ] || { echo "no trending ranking after 5 minutes" >&2; exit 1; }
TOKEN=
TOKEN=$(gql '{"query":"mutation { login(input: {usernameOrEmail: \"demo00001\", password: \"demo-password\"}) { accessToken } }"}' | sed -E 's/.*"accessToken":"([^"]+)".*/\1/')
export TOKEN
gql '{"query":"{ recommendedVideos(first: 3) { edges { reason node { title } } } }"}' >"$data/sample.json"

row() {
  local name=$1 script=$2 out rps p50 p99 errors
  out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$script" "http://$RG/graphql")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx/ {n += $5} /GraphQL errors:/ {n += $3} END {print n + 0}' <<<"$out")
  echo "| $name | $rps | $p50 | $p99 | $errors |"
}
echo "| page (20 videos, owner, likeCount, viewerHasFavorited) | req/s | p50 | p99 | errors |"
echo "|---|---|---|---|---|"
for round in 1 2; do
  row "videos (NEWEST), round $round" bench/wrk/feed.lua
  row "trendingVideos, round $round" bench/wrk/trending.lua
  row "recommendedVideos, round $round" bench/wrk/recommended.lua
done
echo
echo "demo00001's first three: $(cat "$data/sample.json")"
