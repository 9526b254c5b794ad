#!/usr/bin/env bash
# `make run-cluster`: three `meetbridge serve` nodes on 127.0.0.1:8081, :8082 and :8083
# with the demo, sharing the machine's PostgreSQL (the store) and NATS JetStream (what
# crosses nodes). Open http://localhost:8081/ as one user and http://localhost:8082/ as
# another: they meet in the same space. Ctrl-C stops all three.
#
# It checks first that the ports are free and that PostgreSQL and NATS answer
# (scripts/check-services.sh; it never installs or starts them, and names what is
# missing), then builds what is needed exactly as `make run` does (scripts/run.sh
# --build-only), then starts node 1 (which runs the store's migrations and seeds the
# demo), waits until it answers /healthz, then nodes 2 and 3. `--check`: only the port
# and service checks, then exit (make runs it before installing the tools).
#
# Settings (environment):
#   MEETBRIDGE_CLUSTER_PG      postgres://postgres@127.0.0.1:5432/test
#   MEETBRIDGE_CLUSTER_SCHEMA  meetbridge_cluster   (the PostgreSQL schema, created if missing)
#   MEETBRIDGE_CLUSTER_NATS    nats://127.0.0.1:4222
#   MEETBRIDGE_CLUSTER_PREFIX  mbcluster            (NATS stream, subject and bucket prefix)
#   MEETBRIDGE_CLUSTER_PORTS   "8081 8082 8083"
# Each node's log lines start with [node1] ... [node3]. Node data dirs (unused by the
# PostgreSQL store but kept apart) are under ./data/cluster/.
#
# DEMO MODE: the dev-only login (POST /api/dev/login) is on. Never expose these servers.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[cluster] %s\n' "$*"; }

pg="${MEETBRIDGE_CLUSTER_PG:-postgres://postgres@127.0.0.1:5432/test}"
schema="${MEETBRIDGE_CLUSTER_SCHEMA:-meetbridge_cluster}"
nats="${MEETBRIDGE_CLUSTER_NATS:-nats://127.0.0.1:4222}"
prefix="${MEETBRIDGE_CLUSTER_PREFIX:-mbcluster}"
read -r -a ports <<<"${MEETBRIDGE_CLUSTER_PORTS:-8081 8082 8083}"

# ---- before building anything: the ports, then the services ---------------------------
taken=()
for port in "${ports[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then taken+=("$port"); fi
done
if [ ${#taken[@]} -gt 0 ]; then
  say "port(s) ${taken[*]} already in use (an earlier make run-cluster, or another program)."
  say "Stop it, or choose others: MEETBRIDGE_CLUSTER_PORTS=\"9081 9082 9083\" make run-cluster"
  exit 1
fi
if ! bash scripts/check-services.sh "$pg" "$nats"; then
  say "make run-cluster needs both services running; nothing was started. (make run needs neither.)"
  exit 1
fi
[ "${1:-}" = --check ] && exit 0

# ---- build (the same steps and stamps as make run) ------------------------------------
bash scripts/run.sh --build-only
bin=./target/release/meetbridge

# ---- the nodes ------------------------------------------------------------------------
mkdir -p data/cluster
# One token secret for all nodes: a user signed in on one is accepted by the others
# (what a load balancer in front needs). Made once, kept beside the node dirs.
secret_file=data/cluster/token-secret
[ -s "$secret_file" ] || head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$secret_file"
export MEETBRIDGE_JWT_HS256_SECRET="${MEETBRIDGE_JWT_HS256_SECRET:-$(cat "$secret_file")}"
export MEETBRIDGE_ADMIN_KEY="${MEETBRIDGE_ADMIN_KEY:-dev-admin-key}"
export RUST_LOG="${RUST_LOG:-meetbridge=info,warn}"

pids=()
stop_all() {
  trap - INT TERM EXIT
  [ ${#pids[@]} -eq 0 ] && return
  say "stopping ${#pids[@]} node(s)"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for _ in $(seq 50); do
    alive=false
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=true; done
    $alive || break
    sleep 0.1
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap 'stop_all; exit 130' INT TERM
trap stop_all EXIT

start_node() {
  local n="$1" port="$2"
  mkdir -p "data/cluster/node$n"
  "$bin" serve --demo --listen "127.0.0.1:$port" --data-dir "data/cluster/node$n" \
    --store "$pg" --pg-schema "$schema" --broker "$nats" --broker-prefix "$prefix" \
    --node-id "node$n" \
    > >(sed -u "s/^/[node$n] /") 2>&1 &
  pids+=($!)
}

wait_healthy() {
  local n="$1" port="$2" pid="$3"
  for _ in $(seq 300); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { say "node$n exited during start (its log is above)"; return 1; }
    sleep 0.1
  done
  say "node$n did not answer /healthz on :$port within 30 s"
  return 1
}

say "PostgreSQL schema $schema, NATS prefix $prefix"
start_node 1 "${ports[0]}"
wait_healthy 1 "${ports[0]}" "${pids[0]}"
for i in 1 2; do start_node $((i + 1)) "${ports[$i]}"; done
for i in 1 2; do wait_healthy $((i + 1)) "${ports[$i]}" "${pids[$i]}"; done

for i in 0 1 2; do
  say "node$((i + 1)): http://localhost:${ports[$i]}/   dev view: http://localhost:${ports[$i]}/dev.html"
done
say "three nodes up (admin key from MEETBRIDGE_ADMIN_KEY); Ctrl-C stops all three"

# Until Ctrl-C, or until one node stops by itself (then the others are stopped too).
set +e
wait -n "${pids[@]}"
code=$?
sleep 0.3
left=0
for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && left=$((left + 1)); done
if [ "$left" -eq 0 ]; then
  say "all three nodes stopped"
  pids=()
else
  say "a node exited (code $code); stopping the other $left"
fi
exit "$code"
