#!/usr/bin/env bash
# Identity and administration in the browser: the admin console and OpenID Connect sign-in
# in headless Chromium, against the real `meetbridge` server and a real OpenID provider
# (`oidc-provider`, from web/package.json) run on loopback by the tests (web/e2e/admin);
# signing in to the space and meeting pages, embedding (a parent page on another origin),
# fresh tokens on 4401, plugin URLs refused by the host runtime, and a list of server URLs
# with one node killed (web/e2e/identity).
# Needs the web build of 40-web.sh (rebuilt here when the console is missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
step() { printf -- '--- %s\n' "$*"; }

if [ ! -s web/dist/admin/index.html ] || [ ! -s web/dist/app/admin.js ] || [ ! -s web/dist/app/meeting.js ]; then
  # The sign-in tests use the meeting page too, whose wasm 60-meeting.sh would build later.
  step "web build (admin console, meeting page)"
  (cd web && npm run --silent wasm)
  bash scripts/build-wasm.sh meetbridge-meeting-host web/pkg/meeting-host
  (cd web && npm run --silent build)
fi

step "meetbridge server binary"
cargo build -q --locked -p meetbridge-server

step "e2e in headless Chromium (web/e2e/admin)"
(cd web && node --test --test-concurrency=1 --test-reporter=spec e2e/admin/)

step "e2e in headless Chromium (web/e2e/identity)"
(cd web && node --test --test-concurrency=1 --test-reporter=spec e2e/identity/)
