#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/fuzz_targets/) for FUZZ_SECS seconds each, starting
# from the seed examples (crates/protocol/vectors/) and the regression corpus
# (fuzz/regressions/<target>/). A crash or a hang stops the run and says where the input
# is: fix the bug, then copy the input into fuzz/regressions/<target>/ so `cargo test`
# replays it on stable from then on.
# Usage: FUZZ_SECS=60 FUZZ_TARGETS="pexip ovice" bash scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${FUZZ_SECS:-60}"
TARGETS="${FUZZ_TARGETS:-$(cd fuzz && cargo +nightly fuzz list)}"

seeds() { # the corpus a target starts from, besides what earlier runs found
  case "$1" in
    pexip | ovice) echo "crates/protocol/vectors/$1" ;;
  esac
  echo "fuzz/seeds/$1" "fuzz/regressions/$1"
}

for target in $TARGETS; do
  corpus="fuzz/corpus/$target"
  mkdir -p "$corpus"
  for dir in $(seeds "$target"); do
    find "$dir" -type f ! -name README.md -exec cp -n {} "$corpus/" \; 2>/dev/null || true
  done
  printf '\n=== fuzz %s for %ss ===\n' "$target" "$SECS"
  (cd fuzz && cargo +nightly fuzz run "$target" -- \
      -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -dict=json.dict -print_final_stats=1) || {
    echo "fuzz target $target failed: the input is in fuzz/artifacts/$target/"
    echo "after the fix, keep it: cp fuzz/artifacts/$target/<file> fuzz/regressions/$target/"
    exit 1
  }
done
echo "fuzzing passed: $TARGETS, ${SECS}s each"
