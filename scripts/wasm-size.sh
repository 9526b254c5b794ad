#!/usr/bin/env bash
# Prints the size of every browser build of the protocol: the full protocol-wasm and each
# contract alone, raw and gzipped (-9), after wasm-bindgen and wasm-opt -Oz.
# Usage: make wasm-size   (or bash scripts/wasm-size.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
# The features rustc enables for wasm32-unknown-unknown today; wasm-opt must not add others
# (with --all-features it rewrites strings to stringref, which browsers do not run).
WASM_FEATURES="--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf '%-32s %10s %10s\n' "build" "raw" "gzipped"
for features in "pexip ovice bridge" "pexip" "ovice" "ovice bridge"; do
  cargo build -q --locked --profile wasm-release --target wasm32-unknown-unknown \
    -p meetbridge-protocol-wasm --no-default-features --features "$features"
  wasm-bindgen --target web --out-dir "$tmp" target/wasm32-unknown-unknown/wasm-release/meetbridge_protocol_wasm.wasm
  tools/node_modules/.bin/wasm-opt -Oz $WASM_FEATURES --strip-debug --strip-producers \
    "$tmp/meetbridge_protocol_wasm_bg.wasm" -o "$tmp/out.wasm"
  printf '%-32s %10d %10d\n' "protocol-wasm [$features]" "$(stat -c %s "$tmp/out.wasm")" "$(gzip -9 -c "$tmp/out.wasm" | wc -c)"
done
