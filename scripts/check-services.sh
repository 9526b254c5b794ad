#!/usr/bin/env bash
# Checks that the services a cluster needs answer, and says precisely what is missing
# when they do not. It never installs or starts them: on this project's machines and in
# CI they already run; elsewhere, starting them is the operator's choice.
#
#   bash scripts/check-services.sh [PG_URL] [NATS_URL]
#
# Defaults: postgres://postgres@127.0.0.1:5432/test and nats://127.0.0.1:4222 (or
# MEETBRIDGE_CLUSTER_PG / MEETBRIDGE_CLUSTER_NATS). PostgreSQL must accept a query (not
# only a TCP connection); NATS must announce JetStream in its INFO line. Exit 0 when both
# answer, 1 (after naming each one that does not) otherwise. Sourced by run-cluster.sh
# and test.d/50-cluster.sh.
set -uo pipefail

pg_url="${1:-${MEETBRIDGE_CLUSTER_PG:-postgres://postgres@127.0.0.1:5432/test}}"
nats_url="${2:-${MEETBRIDGE_CLUSTER_NATS:-nats://127.0.0.1:4222}}"

say() { printf '[services] %s\n' "$*"; }

# host and port of a URL like scheme://[user[:pw]@]host:port[/db]
hostport() {
  local rest="${1#*://}"
  rest="${rest#*@}"
  rest="${rest%%/*}"
  printf '%s %s\n' "${rest%:*}" "${rest##*:}"
}

# The URL with its password hidden, for messages.
redact() { sed -E 's#(://[^:/@]+):[^@]*@#\1:***@#' <<<"$1"; }

ok=true

read -r pg_host pg_port < <(hostport "$pg_url")
if ! (exec 3<>"/dev/tcp/$pg_host/$pg_port") 2>/dev/null; then
  say "PostgreSQL does not answer at $pg_host:$pg_port ($(redact "$pg_url"))."
  say "  The cluster needs a running PostgreSQL (trust or password auth, an existing database)."
  say "  Check: pg_lsclusters / systemctl status postgresql, or set MEETBRIDGE_CLUSTER_PG=postgres://USER@HOST:PORT/DB."
  ok=false
elif command -v psql >/dev/null; then
  if ! err=$(psql "$pg_url" -Atqc 'select 1' 2>&1 >/dev/null); then
    say "PostgreSQL at $pg_host:$pg_port answers but refuses $(redact "$pg_url"): ${err//$'\n'/ }"
    say "  Check the user, the database name and pg_hba.conf (the cluster connects as that user, over TCP)."
    ok=false
  fi
fi

read -r nats_host nats_port < <(hostport "$nats_url")
info=""
if { exec 3<>"/dev/tcp/$nats_host/$nats_port"; } 2>/dev/null; then
  read -r -t 3 info <&3 || true
  exec 3<&- 3>&-
fi
if [ -z "$info" ]; then
  say "NATS does not answer at $nats_host:$nats_port ($nats_url): no INFO line within 3 s."
  say "  The cluster needs nats-server 2.9+ with JetStream: nats-server -js (or jetstream {} in its config)."
  ok=false
elif [[ "$info" != INFO* ]]; then
  say "$nats_host:$nats_port answers, but not as a NATS server (first line: ${info:0:60})."
  ok=false
elif [[ "$info" != *'"jetstream":true'* ]]; then
  say "NATS at $nats_host:$nats_port runs without JetStream: start it with -js (or jetstream {} in its config)."
  ok=false
fi

if $ok; then
  say "PostgreSQL $(redact "$pg_url") and NATS JetStream $nats_url answer"
  exit 0
fi
exit 1
