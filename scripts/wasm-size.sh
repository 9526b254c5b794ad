#!/usr/bin/env bash
# Prints the size of every wasm crate built on the protocol crate, raw and gzipped (-9),
# built exactly as they ship, by scripts/build-wasm.sh.
# Usage: make wasm-size   (or bash scripts/wasm-size.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# size <label> <package> [cargo flags]
size() {
  local label="$1" pkg="$2" line
  rm -rf "$tmp/out"
  line=$(CARGO_FLAGS="${3:-}" bash scripts/build-wasm.sh "$pkg" "$tmp/out" | tail -1)
  # "wasm <pkg>: <raw> bytes raw, <gz> bytes gzipped (<path>)"
  read -r raw gz < <(sed -E 's/.*: ([0-9]+) bytes raw, ([0-9]+) bytes gzipped.*/\1 \2/' <<<"$line")
  printf '%-36s %10d %10d\n' "$label" "$raw" "$gz"
}
printf '%-36s %10s %10s\n' "build" "raw" "gzipped"
for pkg in meetbridge-space-host meetbridge-meeting-host meetbridge-external-chat-wasm; do
  size "$pkg" "$pkg"
done
