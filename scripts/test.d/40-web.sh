#!/usr/bin/env bash
# The oVice side in the browser: the host runtime's wasm (crates/space-host, its
# Rust tests run in 10-rust.sh), the web build (space view, dev view, SDK, demo plugins),
# typecheck, lint, the SDK's own package build, then the end-to-end tests in headless
# Chromium against the real `meetbridge` server (web/e2e/space/*.test.mjs, node --test).
set -euo pipefail
cd "$(dirname "$0")/../.."
step() { printf -- '--- %s\n' "$*"; }

step "space-host wasm (size below: raw and gzipped)"
(cd web && npm run --silent wasm)

step "web: npm run build"
(cd web && npm run --silent build)

step "web: typecheck (tsc --noEmit), lint (eslint)"
(cd web && npm run --silent typecheck && npm run --silent lint)

step "SDK package: esbuild bundle + declarations"
(cd web/sdk && npm run --silent build >/dev/null && test -s dist/index.js && test -s dist/types/web/sdk/src/index.d.ts)

step "meetbridge server binary for the e2e tests"
cargo build -q --locked -p meetbridge-server

step "e2e in headless Chromium (web/e2e/space)"
(cd web && node --test --test-concurrency=1 --test-reporter=spec e2e/space/)
