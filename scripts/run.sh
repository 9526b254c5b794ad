#!/usr/bin/env bash
# `make run`: build what is needed and start `meetbridge serve` with the demo space, on
# embedded SQLite under ./data (override any setting with MEETBRIDGE_* variables or flags
# passed after `--`: `bash scripts/run.sh --listen 0.0.0.0:8080`).
#
# DEMO MODE: the dev-only login (POST /api/dev/login) is on. Never expose this server.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[run] %s\n' "$*"; }

# ---- browser side (web/dist) -------------------------------------------------------
# The host runtime's wasm (crates/space-host → web/pkg/space-host), then web/dist: the
# space view (/), the multi-user dev view (/dev.html), the SDK and the demo plugins.
say "building the browser side (space-host wasm, web/dist)"
# The meeting page (/meeting/) needs ExternalChatHost's wasm (crates/meeting-host) in
# web/pkg/meeting-host before the build, and the external-chat plugin deployed into
# webapp3/branding/ (served at /webapp3/, where the Web App 3 stand-in loads it).
say "building the meeting page's parts (meeting-host wasm, make deploy)"
node external-chat/scripts/wasm.mjs meeting-host web/pkg/meeting-host >/dev/null
make --no-print-directory deploy >/dev/null
(cd web && npm run --silent wasm && npm run --silent build)
# ---- end of the browser side ---------------------------------------------------------

say "building the server (release)"
cargo build --release -q -p meetbridge

export MEETBRIDGE_DATA_DIR="${MEETBRIDGE_DATA_DIR:-./data}"
export MEETBRIDGE_LISTEN="${MEETBRIDGE_LISTEN:-127.0.0.1:8080}"
# A fixed, obviously-dev admin key so the README's curl examples work as written.
export MEETBRIDGE_ADMIN_KEY="${MEETBRIDGE_ADMIN_KEY:-dev-admin-key}"
export RUST_LOG="${RUST_LOG:-meetbridge=info,warn}"

say "serving http://$MEETBRIDGE_LISTEN (data in $MEETBRIDGE_DATA_DIR, admin key from MEETBRIDGE_ADMIN_KEY)"
say "meeting page: http://$MEETBRIDGE_LISTEN/meeting/"
[ -d web/dist ] || say "web/dist is not built yet: pages answer 404 until it is"
exec ./target/release/meetbridge serve --demo "$@"
