#!/usr/bin/env bash
# Checks completion webhooks against the Standard Webhooks reference library: a live `taskgate serve` (fsync mode)
# with --callback-allow and a secret, 200 tasks submitted with callback_url, and a receiver that verifies every POST
# with PyPI's standardwebhooks (signature, webhook-id, timestamp). Every task must be delivered once and every POST
# verified. The control: a receiver holding another secret must refuse them all (so the check can fail).
# standardwebhooks lives in a virtual environment under .build/webhooks-venv.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.build/webhooks-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import standardwebhooks" 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q standardwebhooks 2>&1 | grep -v "new release of pip" || true
fi
swift build --product taskgate >/dev/null
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
secret=$(.build/debug/taskgate webhook-secret)
other=$(.build/debug/taskgate webhook-secret)

# start_receiver NAME SECRET: a verifying receiver; sets $port.
start_receiver() {
  "$venv/bin/python" Benchmarks/http/webhook-receiver.py --secret "$2" >"$work/$1.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do grep -q "^listening on " "$work/$1.out" && break; sleep 0.1; done
  port=$(sed -n 's/^listening on //p' "$work/$1.out")
  [ -n "$port" ] || { cat "$work/$1.out"; echo "check-webhooks: the receiver did not start"; exit 1; }
}
start_receiver good "$secret"
good=$port
start_receiver wrong "$other"
wrong=$port

.build/debug/taskgate serve --data-dir "$work/store" --port 0 --workers 2 --webhook-secret "$secret" \
  --callback-allow "127.0.0.1:$good" --callback-allow "127.0.0.1:$wrong" >"$work/server.out" 2>"$work/server.err" &
pids+=($!)
for _ in $(seq 1 100); do grep -q "^listening on " "$work/server.out" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/server.out")
[ -n "$url" ] || { cat "$work/server.err"; echo "check-webhooks: the server did not start"; exit 1; }

# 200 tasks to the right receiver, 20 to the one with another secret, in batches.
batch() {
  python3 -c 'import json, sys; print(json.dumps([{"function": "echo", "args": {"n": i}, "callback_url": sys.argv[1]} for i in range(int(sys.argv[2]))]))' "$1" "$2"
}
for _ in 1 2; do
  batch "http://127.0.0.1:$good/hooks/done" 100 | curl -sf -o /dev/null -H 'Content-Type: application/json' --data-binary @- "$url/tasks/batch"
done
batch "http://127.0.0.1:$wrong/hooks/done" 20 | curl -sf -o /dev/null -H 'Content-Type: application/json' --data-binary @- "$url/tasks/batch"

stat() { curl -sf "http://127.0.0.1:$1/stats" | python3 -c "import json, sys; print(json.load(sys.stdin)[sys.argv[1]])" "$2"; }
for _ in $(seq 1 600); do
  [ "$(stat "$good" received)" -ge 200 ] && [ "$(stat "$wrong" received)" -ge 20 ] && break
  sleep 0.1
done
sleep 0.5
result="good: $(curl -sf "http://127.0.0.1:$good/stats"); wrong secret: $(curl -sf "http://127.0.0.1:$wrong/stats")"
echo "check-webhooks: $result"
[ "$(stat "$good" received)" = 200 ] && [ "$(stat "$good" verified)" = 200 ] && [ "$(stat "$good" ids)" = 200 ] \
  || { echo "check-webhooks: FAILED: every delivery must arrive once and verify"; exit 1; }
[ "$(stat "$wrong" refused)" = 20 ] && [ "$(stat "$wrong" verified)" = 0 ] \
  || { echo "check-webhooks: FAILED: the control receiver must refuse every signature"; exit 1; }
delivered=$(curl -sf "$url/tasks?limit=1000" | python3 -c '
import json, sys
tasks = json.load(sys.stdin)["tasks"]
print(sum(1 for t in tasks if t.get("callback", {}).get("state") == "delivered"))')
[ "$delivered" = 220 ] || { echo "check-webhooks: FAILED: $delivered of 220 tasks show their callback delivered"; exit 1; }
echo "check-webhooks: ok: 200 deliveries verified by standardwebhooks $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("standardwebhooks"))'), 20 refused under another secret, 220 tasks show delivered"
