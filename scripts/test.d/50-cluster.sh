#!/usr/bin/env bash
# The cluster in the browser: three `meetbridge serve` nodes on the machine's PostgreSQL
# and NATS JetStream (never installed or started here: scripts/check-services.sh says what
# is missing), three users in headless Chromium each on a node of their own, every event of
# the plugin contract across nodes; then HAProxy in front of the three and a node killed
# behind a user (web/e2e/cluster). The Rust cluster tests (kill -9 during traffic, the
# whole cluster restarted, HAProxy failover: crates/server/tests/integration, names ending
# _postgres_nats) run in 10-rust.sh with the rest of the workspace. Last, the bench's
# cluster mode at tiny sizes (a smoke test of the command, not a measurement). Needs the
# web build of 40-web.sh (rebuilt here when missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
step() { printf -- '--- %s\n' "$*"; }
# The same services the Rust tests and web/e2e/lib/cluster.mjs use.
pg="${MEETBRIDGE_TEST_PG:-postgres://postgres@127.0.0.1:5432/test}"
nats="${MEETBRIDGE_TEST_NATS:-nats://127.0.0.1:4222}"

step "PostgreSQL and NATS JetStream on loopback"
if ! bash scripts/check-services.sh "$pg" "$nats"; then
  echo "the cluster tests need both services (see docs/CLUSTER.md); nothing was run" >&2
  exit 1
fi
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || { echo "haproxy is missing: make tools installs it" >&2; exit 1; }

if [ ! -s web/dist/dev.html ] || [ ! -s web/dist/plugins/inspector/index.html ]; then
  step "web build (dev view, inspector plugin)"
  (cd web && npm run --silent wasm && npm run --silent build)
fi

step "meetbridge server binary and the bench"
cargo build -q --locked -p meetbridge-server -p meetbridge-bench

step "e2e in headless Chromium (web/e2e/cluster)"
(cd web && node --test --test-concurrency=1 --test-reporter=spec e2e/cluster/)

step "bench smoke: three nodes on PostgreSQL and NATS"
out=$(target/debug/meetbridge-bench --nodes 3 --store "$pg" --broker "$nats" --only fanout,ack --members 30 --seconds 1 --latency-rate 3000 --ack-rate 200)
echo "$out"
for row in 'a cluster of 3 child processes' 'deliveries/s at saturation' 'latency p50 / p99' \
  'durable and acknowledged, ack p50 / p99 at 200 msg/s into one object (10 members, 3 nodes)' 'every member got every one'; do
  grep -q "$row" <<<"$out" || { echo "bench output lacks: $row" >&2; exit 1; }
done
