#!/usr/bin/env bash
# Two reelgraph binaries side by side on the embedded default: each seeds its own data
# folder with the same deterministic rows, then video(id) and the signed-in 20-video feed
# are measured with wrk, alternating A and B for ROUNDS rounds. Prints every run and the
# medians. Usage: bash bench/ab.sh A_BIN B_BIN
# Needs wrk. Env: ROUNDS (3), CONNECTIONS (64), DURATION (10s), VIDEOS (20000), USERS (200).
set -euo pipefail
cd "$(dirname "$0")/.."
A=$1
B=$2
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-10s}
VIDEOS=${VIDEOS:-20000}
USERS=${USERS:-200}

pids=()
dirs=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "${dirs[@]}"; }
trap cleanup EXIT

start() { # bin; sets URL (no subshell, so the server is cleaned up on exit)
  local dir port
  dir=$(mktemp -d /tmp/rg-ab-XXXX)
  dirs+=("$dir")
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  REELGRAPH_DATA_DIR=$dir "$1" seed --users "$USERS" --videos "$VIDEOS" >/dev/null 2>&1
  REELGRAPH_DATA_DIR=$dir RUST_LOG=warn REELGRAPH_JWT_SECRET=ab-secret-ab-secret-ab-secret-ab-secret-1 \
    "$1" serve --listen "127.0.0.1:$port" >"$dir/server.log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health/live" >/dev/null && break; sleep 0.2; done
  URL="http://127.0.0.1:$port"
}

start "$A"
A_URL=$URL
start "$B"
B_URL=$URL
gql() { curl -sf "$1/graphql" -H 'content-type: application/json' -d "$2"; }
token() { gql "$1" '{"query":"mutation { login(input: {usernameOrEmail: \"demo00001\", password: \"demo-password\"}) { accessToken } }"}' | sed -E 's/.*"accessToken":"([^"]+)".*/\1/'; }
video() { gql "$1" '{"query":"{ videos(first: 1) { edges { node { id } } } }"}' | sed -E 's/.*"id":"([^"]+)".*/\1/'; }

run() { # url script token video -> "req/s p99"
  local out
  out=$(TOKEN=$3 VIDEO_ID=$4 wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$2" "$1/graphql")
  printf '%s %s' "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")"
}

declare -A results
for round in $(seq 1 "$ROUNDS"); do
  for side in A B; do
    url=${side}_URL
    url=${!url}
    tok=$(token "$url")
    vid=$(video "$url")
    for scenario in video feed; do
      r=$(run "$url" "bench/wrk/$scenario.lua" "$tok" "$vid")
      echo "round $round $side $scenario: $r"
      results[$side-$scenario]+="${r%% *} "
    done
  done
done
median() { tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo
echo "| scenario | A req/s (median) | B req/s (median) | B/A |"
echo "|---|---|---|---|"
for scenario in video feed; do
  a=$(median <<<"${results[A-$scenario]}")
  b=$(median <<<"${results[B-$scenario]}")
  echo "| $scenario | $a | $b | $(python3 -c "print(f'{$b / $a:.2f}')") |"
done
