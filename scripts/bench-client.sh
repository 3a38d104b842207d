#!/usr/bin/env bash
# Client benchmark (issues 4 and 11), release builds, one server (`taskgate serve --workers 2`) for the whole run:
#   1. the Python standard-library baseline (Benchmarks/python-client/baseline.py): bulk and sequential round trips;
#   2. taskgate-bench-client (Benchmarks/ClientBench/main.swift says what it measures): (a) map + gather, (b) submit
#      then result, (d) 64 concurrent submit calls, (c) cancel of a running task;
#   3. the Python baseline again (its figures are the mean of both medians);
#   4. wrk -t2 -c64 POST /tasks (echo, 202) for 5 s, the yardstick for (d).
# The server keeps its defaults (finished tasks retained an hour), so its task table grows through the run (some
# 300,000 tasks by the end); running Python both first and after Swift keeps that from favouring either.
# Each takes RUNS runs and prints their median; the side by side summary at the end uses the medians.
# Usage: scripts/bench-client.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk"; exit 1; }
swift build -c release --product taskgate 2>&1 | grep -E "error" || true
swift build -c release --product taskgate-bench-client 2>&1 | grep -E "error" || true
mkdir -p .build/bench
out=.build/bench/client
# DURABILITY=fsync|os runs the server durable, on a data directory made here (default memory, as before issue 13).
durability=${DURABILITY:-memory}
data=$(mktemp -d)
.build/release/taskgate serve --durability "$durability" --data-dir "$data/store" --port 0 --workers 2 \
  --queue-limit 1000000 >$out-server.out 2>/dev/null &
server=$!
trap 'kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do grep -q "^listening on " $out-server.out && break; sleep 0.1; done
url=$(head -1 $out-server.out | sed 's/^listening on //')
echo "== $(nproc) cores; server $url with 2 in-process slots, durability $durability; $runs runs each"
echo "-- Python standard library, before"
python3 Benchmarks/python-client/baseline.py "$url" "$runs" | tee $out-python1.txt
echo "-- TaskGateClient"
.build/release/taskgate-bench-client "$url" "$runs" | tee $out-swift.txt
echo "-- Python standard library, after"
python3 Benchmarks/python-client/baseline.py "$url" "$runs" | tee $out-python2.txt
echo "-- wrk -t2 -c64 -d5s POST /tasks"
wrk -t2 -c64 -d5s -s Benchmarks/http/post-echo.lua "$url/tasks" | tee $out-wrk.txt | grep -E "Requests/sec"

rate() { grep -A"$((runs + 1))" "^($1)" "$2" | awk '/median/ {print $2}'; }
p50() { grep -A"$((runs + 1))" "^($1)" "$2" | awk '/median p50/ {print $3}'; }
python_bulk=$( (rate a $out-python1.txt; rate a $out-python2.txt) | sort -g | awk '{v[NR]=$1} END {print (v[1]+v[2])/2}')
python_p50=$( (p50 b $out-python1.txt; p50 b $out-python2.txt) | sort -g | awk '{v[NR]=$1} END {print (v[1]+v[2])/2}')
swift_bulk=$(rate a $out-swift.txt)
swift_p50=$(p50 b $out-swift.txt)
swift_concurrent=$(rate d $out-swift.txt)
wrk_post=$(awk '/^Requests\/sec:/ {print $2}' $out-wrk.txt)
echo "== summary (medians; Python = mean of its two medians)"
awk -v pb="$python_bulk" -v sb="$swift_bulk" -v pp="$python_p50" -v sp="$swift_p50" -v sc="$swift_concurrent" \
  -v w="$wrk_post" 'BEGIN {
    printf "bulk 10,000 echo: Swift %d tasks/s, Python %d tasks/s: %.2fx (target >= 1.5x)\n", sb, pb, sb / pb
    printf "round trip p50: Swift %.3f ms, Python Prefer: wait %.3f ms (target: Swift <= Python)\n", sp, pp
    printf "64 concurrent submits: Swift %d tasks/s, wrk POST /tasks %d req/s: %.2fx (target >= 0.5x)\n", sc, w, sc / w
  }'
grep -A1 "^(c)" $out-swift.txt | tail -1 | sed 's/^ */cancel confirmed: /'
