#!/usr/bin/env bash
# The one build of a wasm crate for the browser, used by every caller (web's `npm run wasm`,
# the plugin's external-chat/scripts/wasm.mjs, scripts/wasm-size.sh, the test steps):
#   cargo build --profile wasm-release (opt-level z, LTO) --target wasm32-unknown-unknown
#   wasm-bindgen --target web
#   wasm-opt -Oz (binaryen from tools/, installed by `make tools`) with exactly the wasm
#     features rustc emits for wasm32-unknown-unknown: with --all-features binaryen uses
#     encodings browsers do not run (stringref; Chromium rejects its compact imports).
# Usage: scripts/build-wasm.sh <cargo package> <output dir> [extra wasm-bindgen flags]
#   CARGO_FLAGS="--no-default-features --features x"  extra cargo build flags
# Prints the raw and gzipped (-9) size of the final .wasm; its path is <out>/<lib>_bg.wasm,
# <lib> being the crate's library name.
set -euo pipefail
cd "$(dirname "$0")/.."
WASM_FEATURES=(--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
  --enable-mutable-globals --enable-reference-types --enable-multivalue)
[ $# -ge 2 ] || { echo "usage: $0 <cargo package> <output dir> [wasm-bindgen flags]" >&2; exit 2; }
pkg="$1"; out="$2"; shift 2
# shellcheck disable=SC2086 # CARGO_FLAGS is a list of flags
cargo build -q --locked --profile wasm-release --target wasm32-unknown-unknown -p "$pkg" --lib ${CARGO_FLAGS:-}
# The library name (a package may rename it, e.g. meetbridge-meeting-host -> meeting_host).
lib=$(cargo metadata -q --no-deps --offline --format-version 1 | node -e '
  const pkg = JSON.parse(require("fs").readFileSync(0, "utf8")).packages.find((p) => p.name === process.argv[1]);
  const lib = pkg && pkg.targets.find((t) => t.kind.includes("cdylib"));
  if (!lib) { console.error(`no cdylib in package ${process.argv[1]}`); process.exit(1); }
  console.log(lib.name.replaceAll("-", "_"));' "$pkg")
target="${CARGO_TARGET_DIR:-target}"
mkdir -p "$out"
wasm-bindgen --target web --out-dir "$out" "$@" "$target/wasm32-unknown-unknown/wasm-release/$lib.wasm"
wasm="$out/${lib}_bg.wasm"
# binaryen from npm (tools/): Debian's wasm-opt is too old to read what Rust emits.
wasm_opt=tools/node_modules/.bin/wasm-opt
if [ -x "$wasm_opt" ]; then
  "$wasm_opt" -Oz "${WASM_FEATURES[@]}" --strip-debug --strip-producers "$wasm" -o "$wasm.opt"
  mv "$wasm.opt" "$wasm"
else
  echo "warning: $wasm_opt missing (run make tools); the wasm is not size-optimised" >&2
fi
raw=$(stat -c %s "$wasm"); gz=$(gzip -9 -c "$wasm" | wc -c)
printf 'wasm %s: %d bytes raw, %d bytes gzipped (%s)\n' "$pkg" "$raw" "$gz" "$wasm"
