#!/usr/bin/env bash
# Builds one wasm crate for the browser: cargo (wasm-release profile: opt-level z, LTO),
# wasm-bindgen --target web, then binaryen's wasm-opt -Oz (from tools/, installed by make tools).
# Usage: scripts/build-wasm.sh <cargo package> <output dir> [extra wasm-bindgen flags]
# Prints the raw and gzipped size of the final .wasm.
set -euo pipefail
cd "$(dirname "$0")/.."
# The features rustc enables for wasm32-unknown-unknown today; wasm-opt must not add others
# (with --all-features it rewrites strings to stringref, which browsers do not run).
WASM_FEATURES="--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue"
pkg="$1"; out="$2"; shift 2
cargo build -q --locked --profile wasm-release --target wasm32-unknown-unknown -p "$pkg"
lib="${pkg//-/_}"
wasm-bindgen --target web --out-dir "$out" "$@" "target/wasm32-unknown-unknown/wasm-release/$lib.wasm"
wasm="$out/${lib}_bg.wasm"
# binaryen from npm (tools/): Debian's wasm-opt is too old to read what Rust emits.
wasm_opt=tools/node_modules/.bin/wasm-opt
if [ -x "$wasm_opt" ]; then
  "$wasm_opt" -Oz $WASM_FEATURES --strip-debug --strip-producers "$wasm" -o "$wasm.opt"
  mv "$wasm.opt" "$wasm"
else
  echo "warning: $wasm_opt missing (run make tools); the wasm is not size-optimised" >&2
fi
raw=$(stat -c %s "$wasm"); gz=$(gzip -9 -c "$wasm" | wc -c)
printf 'wasm %s: %d bytes raw, %d bytes gzipped (%s)\n' "$pkg" "$raw" "$gz" "$wasm"
