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
[ -d web/dist ] || say "web/dist is not built yet: pages answer 404 until it is"
exec ./target/release/meetbridge serve --demo "$@"
