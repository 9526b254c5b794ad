#!/usr/bin/env bash
# Installs what the build and the tests need, from the project's own files, and only
# what is missing, so a second run costs a few seconds.
# Usage: install-tools.sh <wasm-bindgen version>   everything the build and `make test` need
#        install-tools.sh --fuzz                   only cargo-fuzz (for `make fuzz`; needs nightly)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[tools] %s\n' "$*"; }

if [ "${1:-}" = "--fuzz" ]; then
  # cargo-fuzz drives libFuzzer through sanitizer flags that only a nightly rustc accepts.
  if ! rustup toolchain list | grep -q '^nightly'; then
    say "make fuzz needs a nightly toolchain: rustup toolchain install nightly --profile minimal"
    say "(without it, cargo test still replays the regression corpus in fuzz/regressions/)"
    exit 1
  fi
  if ! cargo fuzz --version >/dev/null 2>&1; then
    say "installing cargo-fuzz (a few minutes, once)"
    cargo install cargo-fuzz --locked || cargo install cargo-fuzz
  fi
  exit 0
fi
WB_VERSION="${1:?wasm-bindgen version}"
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Rust: the wasm target and the wasm-bindgen CLI matching the crate's pinned version.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
if ! command -v rustfmt >/dev/null || ! cargo clippy --version >/dev/null 2>&1; then
  rustup component add rustfmt clippy
fi
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WB_VERSION" ]; then
  say "installing wasm-bindgen-cli $WB_VERSION (a few minutes, once)"
  cargo install wasm-bindgen-cli --version "$WB_VERSION" --locked \
    || cargo install wasm-bindgen-cli --version "$WB_VERSION"
fi

# Debian packages: Chromium for the browser tests, zip/unzip for `make package`, an
# emoji font so the screenshots show the chat's emoji rather than boxes, and HAProxy, the
# load balancer the cluster tests start on loopback in front of three nodes (the package
# only installs it: the tests run their own instance with their own config, never the
# system service).
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v zip >/dev/null || missing+=(zip)
command -v unzip >/dev/null || missing+=(unzip)
[ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || missing+=(fonts-noto-color-emoji)
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
if [ ${#missing[@]} -gt 0 ]; then
  say "apt-get install ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# PyYAML for the workflow check (30-pexip.sh), for whichever python3 is first on PATH
# (on these machines a pyenv one, which Debian's python3-yaml would not reach).
if ! python3 -c "import yaml" 2>/dev/null; then
  say "pip install pyyaml"
  python3 -m pip install --quiet pyyaml
fi

# npm: each package folder is installed from its lock file when the lock changed.
for dir in tools external-chat web; do
  [ -f "$dir/package-lock.json" ] || continue
  stamp="$dir/node_modules/.lock-stamp"
  sum=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ]; then
    say "npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$sum" > "$stamp"
  fi
done
say "ready"
