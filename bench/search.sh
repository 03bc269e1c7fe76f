#!/usr/bin/env bash
# Search benchmark on a corpus seeded by `reelgraph seed` (mixed English, Chinese and
# Japanese titles): `reelgraph reindex` throughput, then the embedded index against
# SQLite FTS5 and PostgreSQL full-text search on the same rows and 200 queries
# (reelgraph-bench-search), then `search` end to end over HTTP with wrk.
#
# Env: VIDEOS (100000), USERS (1000), CONNECTIONS (64), DURATION (20s),
# PG_URL (postgres://postgres@127.0.0.1:5432). Needs wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."

VIDEOS=${VIDEOS:-100000}
USERS=${USERS:-1000}
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-20s}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/reelgraph-target}"
BIN="$CARGO_TARGET_DIR/release/reelgraph"
BENCH="$CARGO_TARGET_DIR/release/reelgraph-bench-search"
ADDR=127.0.0.1:18092

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
cargo build --release -q -p reelgraph -p reelgraph-bench-search

data=$(mktemp -d /tmp/rg-search-bench-XXXX)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$data"; }
trap cleanup EXIT
export REELGRAPH_DATA_DIR=$data RUST_LOG=warn

echo "## $VIDEOS videos"
/usr/bin/time -f "seed: %e s, max RSS %M KB" "$BIN" seed --users "$USERS" --videos "$VIDEOS" >/dev/null
/usr/bin/time -f "reindex: %e s wall, max RSS %M KB" "$BIN" reindex | tail -1
"$BENCH" "sqlite://$data/reelgraph.db?mode=ro" "$PG_URL" "$data/bench" --wrk-script "$data/search.lua"
cat bench/wrk/common.lua >>"$data/search.lua"

"$BIN" serve --listen "$ADDR" >/dev/null 2>&1 &
server=$!
for _ in $(seq 1 300); do curl -sf "http://$ADDR/health/ready" >/dev/null && break; sleep 0.2; done
out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$data/search.lua" "http://$ADDR/graphql")
rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
p50=$(awk '$1=="50%" {print $2}' <<<"$out")
p99=$(awk '$1=="99%" {print $2}' <<<"$out")
errors=$(awk '/Non-2xx/ {n += $5} /GraphQL errors:/ {n += $3} END {print n + 0}' <<<"$out")
echo "HTTP search, $CONNECTIONS connections, $DURATION: $rps req/s, p50 $p50, p99 $p99, errors $errors"
