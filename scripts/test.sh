#!/usr/bin/env bash
# Runs every check and test. Each step is a file in scripts/test.d/, run in name order,
# so each part of the system owns its own step. Stops at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
for step in scripts/test.d/*.sh; do
  printf '\n=== %s ===\n' "$(basename "$step")"
  t0=$(date +%s)
  bash "$step"
  printf '=== %s done in %ss ===\n' "$(basename "$step")" "$(( $(date +%s) - t0 ))"
done
printf '\nall test steps passed in %ss\n' "$(( $(date +%s) - start ))"
