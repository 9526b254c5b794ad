#!/usr/bin/env bash
# Server: the CLI and the bench run end to end (tiny sizes: a smoke test, not a measurement).
# The server's behaviour is covered by `cargo test` (crates/server/tests/integration).
set -euo pipefail
cargo build -q -p meetbridge-server -p meetbridge-bench
bin=target/debug/meetbridge
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

"$bin" space create --data-dir "$dir" --id smoke --name Smoke >/dev/null
"$bin" object create --data-dir "$dir" --space smoke --id smoke-notes --plugin-url /plugins/notes/ >/dev/null
objects=$("$bin" object list --data-dir "$dir" --space smoke)
grep -q '"id":"smoke-notes"' <<<"$objects"
if "$bin" object create --data-dir "$dir" --space nope --id x --plugin-url /plugins/notes/ 2>/dev/null; then
  echo "an object was created in a space that does not exist" >&2; exit 1
fi
token=$("$bin" token issue --data-dir "$dir" --id u1 --name Smoke --space smoke)
claims=$("$bin" token verify --data-dir "$dir" "$token")
grep -q '"name": "Smoke"' <<<"$claims"
if "$bin" token verify --data-dir "$dir" "${token}x" 2>/dev/null; then
  echo "a tampered token verified" >&2; exit 1
fi

out=$(target/debug/meetbridge-bench --members 20 --seconds 1 --idle 200 --savers 4 --ack-rate 200 \
  --storm-members 30 --storm-settle-secs 1 --idle-joined 60 --per-object 20 --idle-wait-secs 1)
echo "$out"
for row in 'memory per idle connection' 'deliveries/s at saturation' 'latency p50 / p99' 'save_and_emit acks/s' \
  'every member saw every join' 'idle connection, joined' 'relayed message durable and acknowledged'; do
  grep -q "$row" <<<"$out" || { echo "bench output lacks: $row" >&2; exit 1; }
done
echo "server smoke: 1 passed, 0 failed"
