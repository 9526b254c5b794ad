#!/usr/bin/env bash
# Builds what the screenshots need (the server, the web build with the meeting page, the
# deployed external-chat plugin), then takes them with headless Chromium into
# docs/screenshots/ (or the directory given with --out). See scripts/screenshots.mjs.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f web/pkg/space-host/meetbridge_space_host_bg.wasm ] || (cd web && npm run --silent wasm)
[ -f web/pkg/meeting-host/meeting_host_bg.wasm ] || bash scripts/build-wasm.sh meetbridge-meeting-host web/pkg/meeting-host
[ -f webapp3/branding/plugins/external-chat/index.html ] || make --no-print-directory deploy
(cd web && npm run --silent build)
cargo build -q --locked -p meetbridge-server
node scripts/screenshots.mjs "$@"
