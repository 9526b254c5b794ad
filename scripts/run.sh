#!/usr/bin/env bash
# `make run`: build what is needed and start `meetbridge serve` with the demo space, on
# embedded SQLite under ./data (override any setting with MEETBRIDGE_* variables or flags
# passed after `--`: `bash scripts/run.sh --listen 0.0.0.0:8080`).
#
# First it checks that the address is free (and stops at once, saying how to pick another,
# when it is not); then each build step runs only when one of its inputs is newer than the
# stamp it left last time (target/run-stamps/), so on a built tree it serves in seconds.
# `--check-port`: only that check, then exit. `--build-only`: only the build steps (no
# port check, no server), for scripts/run-cluster.sh.
#
# DEMO MODE: the dev-only login (POST /api/dev/login) is on. Never expose this server.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[run] %s\n' "$*"; }

# ---- the address, before anything else ------------------------------------------------
listen="${MEETBRIDGE_LISTEN:-127.0.0.1:8080}"
check_only=false
build_only=false
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --check-port) check_only=true ;;
    --build-only) build_only=true ;;
    --listen) listen="$2"; args+=("$1" "$2"); shift ;;
    --listen=*) listen="${1#--listen=}"; args+=("$1") ;;
    *) args+=("$1") ;;
  esac
  shift
done
host="${listen%:*}"
port="${listen##*:}"
case "$host" in 0.0.0.0 | "" | "[::]") probe=127.0.0.1 ;; *) probe="${host#[}"; probe="${probe%]}" ;; esac
# Something answers on the port: another server (often an earlier `make run`) has it.
if ! $build_only && [ "$port" != 0 ] && (exec 3<>"/dev/tcp/$probe/$port") 2>/dev/null; then
  say "$listen is already in use (another meetbridge, or another program, is listening there)."
  say "Stop it, or choose another address: MEETBRIDGE_LISTEN=127.0.0.1:8081 make run, or bash scripts/run.sh --listen 127.0.0.1:8081"
  exit 1
fi
$check_only && { say "$listen is free"; exit 0; }

# ---- build steps, each skipped when its inputs did not change ---------------------------
stamps=target/run-stamps
mkdir -p "$stamps"
# stale <step> <output> <inputs…>: true when the output is missing, the step never ran, or
# an input file is newer than the step's stamp.
stale() {
  local stamp="$stamps/$1" out="$2"
  shift 2
  [ -e "$out" ] && [ -e "$stamp" ] || return 0
  # Build outputs inside input folders are not inputs (external-chat/src/wasm is generated).
  [ -n "$(find "$@" \( -name node_modules -o -name dist -o -name target -o -path external-chat/src/wasm \) -prune \
    -o -type f -newer "$stamp" -print -quit 2>/dev/null)" ]
}
# step <name> <output> <inputs…> -- <command…>: runs the command when stale, then stamps it
# with the time it started (an input saved during the build makes the next run build again).
step() {
  local name="$1" out="$2"
  shift 2
  local inputs=()
  while [ "$1" != "--" ]; do inputs+=("$1"); shift; done
  shift
  if stale "$name" "$out" "${inputs[@]}"; then
    say "building $name"
    touch "$stamps/$name.new"
    "$@"
    mv "$stamps/$name.new" "$stamps/$name"
  else
    say "$name is up to date"
  fi
}
rust_common=(Cargo.toml Cargo.lock crates/protocol)

# The meeting page (/meeting/) needs ExternalChatHost's wasm (crates/meeting-host) in
# web/pkg/meeting-host before the web build, and the external-chat plugin deployed into
# webapp3/branding/ (served at /webapp3/, where the Web App 3 stand-in loads it).
step meeting-host-wasm web/pkg/meeting-host/meeting_host_bg.wasm "${rust_common[@]}" crates/meeting-host scripts/build-wasm.sh -- \
  sh -c 'bash scripts/build-wasm.sh meetbridge-meeting-host web/pkg/meeting-host >/dev/null'
step external-chat-plugin webapp3/branding/plugins/external-chat/index.html "${rust_common[@]}" crates/external-chat-wasm external-chat -- \
  sh -c 'make --no-print-directory deploy >/dev/null'
# The host runtime's wasm (crates/space-host → web/pkg/space-host), then web/dist: the
# space view (/), the multi-user dev view (/dev.html), the SDK and the demo plugins.
step space-host-wasm web/pkg/space-host/meetbridge_space_host_bg.wasm "${rust_common[@]}" crates/space-host scripts/build-wasm.sh -- \
  sh -c 'cd web && npm run --silent wasm'
step web-dist web/dist/index.html web crates/protocol/bindings -- \
  sh -c 'cd web && npm run --silent build'

# cargo knows itself what changed (a no-op build takes a second or two).
say "building the server (release)"
cargo build --release -q -p meetbridge-server
$build_only && exit 0

export MEETBRIDGE_DATA_DIR="${MEETBRIDGE_DATA_DIR:-./data}"
export MEETBRIDGE_LISTEN="$listen"
# A fixed, obviously-dev admin key so the README's curl examples work as written.
export MEETBRIDGE_ADMIN_KEY="${MEETBRIDGE_ADMIN_KEY:-dev-admin-key}"
export RUST_LOG="${RUST_LOG:-meetbridge=info,warn}"

say "serving http://$listen (data in $MEETBRIDGE_DATA_DIR, admin key from MEETBRIDGE_ADMIN_KEY)"
say "space: http://$listen/   meeting page: http://$listen/meeting/   dev view: http://$listen/dev.html"
exec ./target/release/meetbridge serve --demo "${args[@]}"
