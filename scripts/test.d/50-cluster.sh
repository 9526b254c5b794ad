#!/usr/bin/env bash
# The cluster in the browser: three `meetbridge serve` nodes on the machine's PostgreSQL
# and NATS JetStream (never installed or started here: scripts/check-services.sh says what
# is missing), three users in headless Chromium each on a node of their own, every event of
# the plugin contract across nodes; then HAProxy in front of the three and a node killed
# behind a user (web/e2e/cluster). The Rust cluster tests (kill -9 during traffic, the
# whole cluster restarted, HAProxy failover: crates/server/tests/integration, names ending
# _postgres_nats) run in 10-rust.sh with the rest of the workspace. Needs the web build of
# 40-web.sh (rebuilt here when missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
step() { printf -- '--- %s\n' "$*"; }

step "PostgreSQL and NATS JetStream on loopback"
if ! bash scripts/check-services.sh; then
  echo "the cluster tests need both services (see docs/CLUSTER.md); nothing was run" >&2
  exit 1
fi
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || { echo "haproxy is missing: make tools installs it" >&2; exit 1; }

if [ ! -s web/dist/dev.html ] || [ ! -s web/dist/plugins/inspector/index.html ]; then
  step "web build (dev view, inspector plugin)"
  (cd web && npm run --silent wasm && npm run --silent build)
fi

step "meetbridge server binary"
cargo build -q --locked -p meetbridge-server

step "e2e in headless Chromium (web/e2e/cluster)"
(cd web && node --test --test-concurrency=1 --test-reporter=spec e2e/cluster/)
