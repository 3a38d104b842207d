#!/usr/bin/env bash
# Event-stream benchmark (issue 15), release build, everything on this machine's cores (wrk and Python included):
#   1. POST /tasks (echo, 202) with wrk -t2 -c64, with no event stream open and with 1,001 open (1,000 that each
#      follow one task of their own, ids=..., as services follow their tasks, and one that follows every task and
#      reads everything), interleaved; the server's RSS in each. Ratio = with streams / without (target >= 0.8).
#   2. With the 1,001 streams open: the time from a task's change (its finished_at) to its event's arrival on a
#      stream of finished tasks, for 1,000 tasks submitted one after another: p50 and p99.
# Usage: scripts/bench-events.sh [rounds] [seconds per wrk run]
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
: >.build/bench/events-server.out
.build/release/taskgate serve --durability memory --port 0 --workers 2 --queue-limit 10000000 --max-streams 2000 \
  >.build/bench/events-server.out 2>/dev/null &
server=$!
pids+=("$server")
for _ in $(seq 1 100); do grep -q "^listening on " .build/bench/events-server.out && break; sleep 0.1; done
url=$(head -1 .build/bench/events-server.out | sed 's/^listening on //')
[ -n "$url" ] || { echo "the server did not start"; exit 1; }
rss() { awk '/^VmRSS:/ {printf "%d", $2 / 1024}' "/proc/$server/status"; }
rps() { awk '/^Requests\/sec:/ {print $2}'; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
post() { wrk -t2 -c64 -d"${duration}s" -s Benchmarks/http/post-echo.lua "$url/tasks" | rps; }

# hold_streams: starts streams.py hold, waits until its streams are open; sets $holder and the fifo that keeps it.
hold_streams() {
  rm -f .build/bench/streams.fifo .build/bench/streams.out
  mkfifo .build/bench/streams.fifo
  python3 Benchmarks/http/streams.py hold "$url" 1000 <.build/bench/streams.fifo >.build/bench/streams.out 2>&1 &
  holder=$!
  pids+=("$holder")
  exec {keep}>.build/bench/streams.fifo
  for _ in $(seq 1 600); do grep -q "^open " .build/bench/streams.out && return; sleep 0.1; done
  cat .build/bench/streams.out
  echo "the streams did not open; the server says: $(curl -s "$url/stats")"
  exit 1
}
# release_streams: closes the fifo (streams.py then closes its streams and exits) and waits for it. Not in a
# subshell: the fifo must close in this shell.
release_streams() {
  exec {keep}>&-
  wait "$holder" || true
}

echo "== $(nproc) cores; wrk -t2 -c64 -d${duration}s POST /tasks; $rounds interleaved rounds; server $url"
: >.build/bench/events-none; : >.build/bench/events-open
for round in $(seq 1 "$rounds"); do
  none=$(post)
  rss_none=$(rss)
  echo "$none" >>.build/bench/events-none
  hold_streams
  rss_idle=$(rss)
  open=$(post)
  rss_open=$(rss)
  echo "$open" >>.build/bench/events-open
  release_streams
  echo "round $round: no stream $none req/s (RSS $rss_none MiB); 1,001 streams $open req/s (RSS $rss_idle MiB open, $rss_open MiB after the run); $(tail -1 .build/bench/streams.out)"
done
none=$(median <.build/bench/events-none)
open=$(median <.build/bench/events-open)
echo "median POST /tasks: no stream $none req/s, 1,001 streams $open req/s, ratio $(awk -v a="$open" -v b="$none" 'BEGIN {printf "%.2f", a / b}') (target >= 0.8)"

hold_streams
python3 Benchmarks/http/streams.py latency "$url" 1000
release_streams
