#!/usr/bin/env bash
# The protocol for the browser: build the wasm, print its size, exercise it from JS.
set -euo pipefail
bash scripts/build-wasm.sh meetbridge-protocol-wasm web/pkg/protocol
node --test crates/protocol-wasm/js-tests/
