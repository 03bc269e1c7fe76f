#!/usr/bin/env bash
# Runs the cargo-fuzz targets one after another on the stable toolchain (`-s none`: coverage
# without a sanitizer; reelgraph is safe Rust), each on its saved corpus plus the seeds.
#   fuzz/run.sh [SECONDS-PER-TARGET (600)] [TARGET ...]   (all targets when none is named)
# A failing input is written to fuzz/artifacts/<target>/; once fixed, copy it into
# fuzz/regressions/<target>/ so that `cargo test` replays it.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(search_query cursor graphql_request upload_filename ws_message)
fi
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
failed=()
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  cargo fuzz run -s none "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -timeout=10 -max_len=8192 -print_final_stats=1 \
    || failed+=("$target")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "failing inputs found by: ${failed[*]} (see fuzz/artifacts/)" >&2
  exit 1
fi
