#!/usr/bin/env bash
# Completion webhook benchmark (issue 15), release build, memory mode, everything on this machine's cores (wrk and
# the Python receiver included):
#   1. Deliveries per second: 20,000 echo tasks with a callback_url submitted in batches of 1,000; the time from the
#      first submission to the receiver's last POST.
#   2. POST /tasks (echo, 202) with wrk -t2 -c64, each task without and with a callback_url, interleaved rounds on one
#      server; the deliveries those tasks cause run at the same time. Ratio = with / without (target >= 0.7).
# Usage: scripts/bench-webhooks.sh [rounds] [seconds per wrk run]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
duration="${2:-5}"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk"; exit 1; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
swift build -c release --product taskgate 2>&1 | grep -E "error" || true
mkdir -p .build/bench
pids=()
cleanup() { for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

rm -f .build/bench/receiver.out
python3 Benchmarks/http/webhook-receiver.py >.build/bench/receiver.out 2>&1 &
receiver=$!
pids+=("$receiver")
for _ in $(seq 1 100); do grep -q "^listening on " .build/bench/receiver.out && break; sleep 0.1; done
rport=$(sed -n 's/^listening on //p' .build/bench/receiver.out)
stat() { curl -sf "http://127.0.0.1:$rport/stats" | python3 -c "import json, sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }
: >.build/bench/webhooks-server.out
.build/release/taskgate serve --durability memory --port 0 --workers 2 --queue-limit 10000000 \
  --webhook-secret "$(.build/release/taskgate webhook-secret)" --callback-allow "127.0.0.1:$rport" \
  >.build/bench/webhooks-server.out 2>/dev/null &
server=$!
pids+=("$server")
for _ in $(seq 1 100); do grep -q "^listening on " .build/bench/webhooks-server.out && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' .build/bench/webhooks-server.out)
[ -n "$url" ] || { echo "the server did not start"; exit 1; }
export CALLBACK_URL="http://127.0.0.1:$rport/hooks/done"
rps() { awk '/^Requests\/sec:/ {print $2}'; }
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

echo "== $(nproc) cores; server $url; receiver port $rport"
python3 -c 'import json, os; print(json.dumps([{"function": "echo", "args": {"n": i}, "callback_url": os.environ["CALLBACK_URL"]} for i in range(1000)]))' >.build/bench/batch.json
: >.build/bench/deliveries
for round in $(seq 1 "$rounds"); do
  before=$(stat received)
  cpu_server=$(cpu "$server"); cpu_receiver=$(cpu "$receiver")
  start=$(date +%s.%N)
  for _ in $(seq 1 20); do
    code=$(curl -s -o .build/bench/batch.answer -w "%{http_code}" -H "Content-Type: application/json" --data-binary @.build/bench/batch.json "$url/tasks/batch")
    [ "$code" = 202 ] || { echo "batch answered $code: $(head -c 300 .build/bench/batch.answer)"; exit 1; }
  done
  for _ in $(seq 1 1200); do [ "$(stat received)" -ge $((before + 20000)) ] && break; sleep 0.05; done
  last=$(stat last)
  rate=$(awk -v s="$start" -v e="$last" 'BEGIN {printf "%.0f", 20000 / (e - s)}')
  echo "$rate" >>.build/bench/deliveries
  ticks=$(getconf CLK_TCK)
  per_server=$(awk -v a="$(cpu "$server")" -v b="$cpu_server" -v t="$ticks" 'BEGIN {printf "%.0f", (a - b) / t / 20000 * 1e6}')
  per_receiver=$(awk -v a="$(cpu "$receiver")" -v b="$cpu_receiver" -v t="$ticks" 'BEGIN {printf "%.0f", (a - b) / t / 20000 * 1e6}')
  echo "round $round: 20,000 deliveries in $(awk -v s="$start" -v e="$last" 'BEGIN {printf "%.2f", e - s}') s = $rate/s; CPU per task (submit, run, deliver): server $per_server µs, receiver $per_receiver µs"
done
echo "median deliveries: $(median <.build/bench/deliveries)/s (connections the receiver accepted so far: $(stat connections))"

: >.build/bench/webhooks-none; : >.build/bench/webhooks-with
for round in $(seq 1 "$rounds"); do
  none=$(wrk -t2 -c64 -d"${duration}s" -s Benchmarks/http/post-echo.lua "$url/tasks" | rps)
  echo "$none" >>.build/bench/webhooks-none
  before=$(stat received)
  with=$(wrk -t2 -c64 -d"${duration}s" -s Benchmarks/http/post-echo-callback.lua "$url/tasks" | rps)
  echo "$with" >>.build/bench/webhooks-with
  # Let the deliveries of that run finish before the next one.
  for _ in $(seq 1 1200); do
    backlog=$(curl -sf "$url/stats" | python3 -c "import json, sys; print(json.load(sys.stdin)[\"callbacks_pending\"])")
    [ "${backlog:-0}" = 0 ] && break
    sleep 0.1
  done
  echo "round $round: without callback $none req/s; with $with req/s; deliveries during and after: $(( $(stat received) - before ))"
done
none=$(median <.build/bench/webhooks-none)
with=$(median <.build/bench/webhooks-with)
echo "median POST /tasks: without callback $none req/s, with $with req/s, ratio $(awk -v a="$with" -v b="$none" 'BEGIN {printf "%.2f", a / b}') (target >= 0.7)"
