#!/usr/bin/env bash
# Fan-out benchmark: a release server on the embedded default, then the fan-out tool at
# N = 1,000, 5,000 and 10,000 subscribers (10 events/s for 20 s each), one server per N.
# Usage: bash bench/fanout.sh [N ...]
# The per-client live limits (64 sockets, 512 subscriptions per address) and the
# connection cap (10,000) are raised for the run, since every subscriber connects from
# 127.0.0.1 and holds a connection.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/reelgraph-target}"
cargo build --release -q -p reelgraph -p reelgraph-bench-fanout
ulimit -n "$(ulimit -Hn)"
for n in "${@:-1000 5000 10000}"; do
  for count in $n; do
    dir=$(mktemp -d /tmp/rg-fanout-XXXX)
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    # Every subscriber comes from one address here: lift the per-client live limits.
    REELGRAPH_LIVE_SOCKETS_PER_CLIENT=$((count + 10)) REELGRAPH_LIVE_SUBSCRIPTIONS_PER_CLIENT=$((count + 10)) \
    REELGRAPH_MAX_CONNECTIONS=$((count + 100)) \
    REELGRAPH_DATA_DIR=$dir RUST_LOG=warn REELGRAPH_JWT_SECRET=bench-secret-bench-secret-bench-secret-01 \
      "$CARGO_TARGET_DIR/release/reelgraph" serve --listen "127.0.0.1:$port" >"$dir/server.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/health/live" && break; sleep 0.1; done
    "$CARGO_TARGET_DIR/release/reelgraph-bench-fanout" "http://127.0.0.1:$port" "$count" 10 20 "$pid"
    kill "$pid"; wait "$pid" 2>/dev/null || true
    rm -rf "$dir"
  done
done
