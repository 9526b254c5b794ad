#!/usr/bin/env bash
# The meeting page, the chat room plugin and the pages people use: ExternalChatHost's wasm and the
# deployed external-chat plugin (built by 30-pexip.sh; rebuilt here only when missing), the
# web build (which includes the meeting page and the Web App 3 stand-in), typecheck, lint,
# then the end-to-end tests in headless Chromium: two users in one meeting through the real
# `meetbridge` server and the stand-in (web/e2e/meeting/*.test.mjs), the pages as a user
# meets them (web/e2e/pages/: the chat room's features, keyboard and axe-core accessibility,
# every width, errors and first run), and a dry run of the screenshot command into a
# scratch directory.
set -euo pipefail
cd "$(dirname "$0")/../.."
step() { printf -- '--- %s\n' "$*"; }

step "wasm: space-host, meeting-host (ExternalChatHost); the deployed external-chat plugin"
(cd web && npm run --silent wasm)
bash scripts/build-wasm.sh meetbridge-meeting-host web/pkg/meeting-host
[ -f webapp3/branding/plugins/external-chat/index.html ] || make --no-print-directory deploy

step "web: npm run build (meeting page, stand-in, chat room plugin)"
(cd web && npm run --silent build)
for f in meeting/index.html app/meeting.js host/meeting_host_bg.wasm webapp3-standin/standin.js plugins/chatroom/main.js; do
  [ -s "web/dist/$f" ] || { echo "web/dist/$f was not built"; exit 1; }
done

step "web: typecheck, lint"
(cd web && npm run --silent typecheck && npm run --silent lint)

step "meetbridge server binary"
cargo build -q --locked -p meetbridge-server

step "e2e in headless Chromium (web/e2e/meeting)"
(cd web && node --test --test-concurrency=1 --test-reporter=spec e2e/meeting/)

step "e2e in headless Chromium (web/e2e/pages: chat room, accessibility, widths, errors)"
(cd web && node --test --test-concurrency=1 --test-reporter=spec e2e/pages/)

step "screenshot command (into a scratch directory)"
scratch=$(mktemp -d); trap 'rm -rf "$scratch"' EXIT
node scripts/screenshots.mjs --out "$scratch"
for page in meeting space dev; do
  for width in 390 1440; do
    f="$page-$width.png"
    [ -s "$scratch/$f" ] || { echo "screenshots: $f missing"; exit 1; }
  done
done
