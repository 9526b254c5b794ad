#!/usr/bin/env bash
# Prints the size of every browser build of the protocol (the full protocol-wasm and each
# contract alone), then of the other wasm crates that use the protocol, raw and gzipped
# (-9), after wasm-bindgen and wasm-opt -Oz, as scripts/build-wasm.sh builds them.
# Usage: make wasm-size   (or bash scripts/wasm-size.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
# The features rustc enables for wasm32-unknown-unknown today; wasm-opt must not add others
# (with --all-features it rewrites strings to stringref, which browsers do not run).
WASM_FEATURES="--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue"
target="${CARGO_TARGET_DIR:-target}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# size <label> <package> [cargo flags...]
size() {
  local label="$1" pkg="$2"; shift 2
  local lib="${pkg//-/_}"
  cargo build -q --locked --profile wasm-release --target wasm32-unknown-unknown -p "$pkg" --lib "$@"
  rm -rf "$tmp/out"
  wasm-bindgen --target web --out-dir "$tmp/out" "$target/wasm32-unknown-unknown/wasm-release/$lib.wasm"
  tools/node_modules/.bin/wasm-opt -Oz $WASM_FEATURES --strip-debug --strip-producers \
    "$tmp/out/${lib}_bg.wasm" -o "$tmp/out.wasm"
  printf '%-36s %10d %10d\n' "$label" "$(stat -c %s "$tmp/out.wasm")" "$(gzip -9 -c "$tmp/out.wasm" | wc -c)"
}
printf '%-36s %10s %10s\n' "build" "raw" "gzipped"
for features in "pexip ovice bridge" "pexip" "ovice" "ovice bridge"; do
  size "protocol-wasm [$features]" meetbridge-protocol-wasm --no-default-features --features "$features"
done
for pkg in meetbridge-space-host meeting-host external-chat-wasm; do
  size "$pkg" "$pkg"
done
