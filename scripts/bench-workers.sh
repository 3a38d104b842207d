#!/usr/bin/env bash
# Remote-worker benchmark (issue 5), release builds: `taskgate serve --workers 0` (no in-process slots) on a free
# port, two `taskgate worker` processes over HTTP on loopback (the built-in functions plus an --exec command that
# blocks), then taskgate-bench-client against the server:
#   (a) 10,000 echo tasks through the 2 remote Swift workers, tasks/s end to end (map + gather)
#   (b) sequential submit-then-result round trips through a remote worker
#   (c) cancel of a running --exec command (`hang`): cancel() until the worker's confirm, 20 times
# Usage: scripts/bench-workers.sh [RUNS] [CAPACITY_PER_WORKER]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
capacity="${2:-128}"
swift build -c release --product taskgate 2>&1 | grep -E "error" || true
swift build -c release --product taskgate-bench-client 2>&1 | grep -E "error" || true
mkdir -p .build/bench
.build/release/taskgate serve --durability memory --port 0 --workers 0 --queue-limit 1000000 >.build/bench/workers-server.out 2>/dev/null &
server=$!
pids=("$server")
trap 'for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do grep -q "^listening on " .build/bench/workers-server.out && break; sleep 0.1; done
url=$(head -1 .build/bench/workers-server.out | sed 's/^listening on //')
for n in 1 2; do
  .build/release/taskgate worker --connect "$url" --builtins --capacity "$capacity" --name "bench-$n" \
    --exec 'hang=cat >/dev/null; exec sleep 60' --kill-grace 2 2>.build/bench/worker-$n.err &
  pids+=("$!")
done
for _ in $(seq 1 100); do
  [ "$(curl -s "$url/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["remote_workers"])')" = 2 ] && break
  sleep 0.1
done
echo "== $(nproc) cores; server $url (no in-process slots); 2 remote worker processes of capacity $capacity; $runs runs"
.build/release/taskgate-bench-client "$url" "$runs" abc hang
