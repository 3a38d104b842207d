#!/usr/bin/env bash
# Two taskgate builds side by side in one run (an earlier tree as the baseline): GET of a finished task and POST
# /tasks (echo, 202), wrk -t2 -c64, rounds interleaved, medians. Both run with the same flags and, with AUTH=1, a
# client token sent in every request.
# Usage: scripts/bench-ab.sh BASELINE_BINARY CANDIDATE_BINARY [rounds] [seconds per wrk run]
#   BASELINE_FLAGS / CANDIDATE_FLAGS add serve flags to one side (e.g. BASELINE_FLAGS=--no-metrics with the same binary
#   on both sides shows what the metrics cost).
#   e.g. git worktree add /tmp/old <commit> && (cd /tmp/old && swift build -c release --product taskgate)
#        scripts/bench-ab.sh /tmp/old/.build/release/taskgate .build/release/taskgate 5 3
set -euo pipefail
cd "$(dirname "$0")/.."
old="$1"; new="$2"; rounds="${3:-5}"; duration="${4:-3}"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk"; exit 1; }
mkdir -p .build/bench
pids=()
cleanup() { for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
flags=(--port 0 --workers 2 --queue-limit 10000000); auth=()
if [ "${AUTH:-0}" = 1 ]; then
  flags+=(--token bench-token-0123456789abcdef); auth=(-H "Authorization: Bearer bench-token-0123456789abcdef")
fi
start() { # start NAME BINARY EXTRA_FLAGS -> url in $url
  # Emptied first: a line left by an earlier run must not be read as this server's.
  : >".build/bench/$1.out"
  # shellcheck disable=SC2086 # the extra flags are meant to split
  "$2" serve "${flags[@]}" $3 >".build/bench/$1.out" 2>/dev/null &
  pids+=("$!")
  for _ in $(seq 1 100); do grep -q "^listening on " ".build/bench/$1.out" && break; sleep 0.1; done
  url=$(head -1 ".build/bench/$1.out" | sed 's/^listening on //')
}
rps() { awk '/^Requests\/sec:/ {print $2}'; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
start old "$old" "${BASELINE_FLAGS:-}"; old_url=$url
start new "$new" "${CANDIDATE_FLAGS:-}"; new_url=$url
task() {
  curl -s -X POST "$1/tasks" ${auth[@]+"${auth[@]}"} -H 'Content-Type: application/json' -H 'Prefer: wait=5' \
    -d '{"function":"echo","args":{"i":1}}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}
old_id=$(task "$old_url"); new_id=$(task "$new_url")
echo "== $(nproc) cores; wrk -t2 -c64 -d${duration}s; $rounds interleaved rounds; auth ${AUTH:-0}"
for kind in get-old get-new post-old post-new; do : >".build/bench/ab-$kind"; done
for round in $(seq 1 "$rounds"); do
  wrk -t2 -c64 -d"${duration}s" ${auth[@]+"${auth[@]}"} "$old_url/tasks/$old_id" | rps >>.build/bench/ab-get-old
  wrk -t2 -c64 -d"${duration}s" ${auth[@]+"${auth[@]}"} "$new_url/tasks/$new_id" | rps >>.build/bench/ab-get-new
  wrk -t2 -c64 -d"${duration}s" ${auth[@]+"${auth[@]}"} -s Benchmarks/http/post-echo.lua "$old_url/tasks" | rps \
    >>.build/bench/ab-post-old
  wrk -t2 -c64 -d"${duration}s" ${auth[@]+"${auth[@]}"} -s Benchmarks/http/post-echo.lua "$new_url/tasks" | rps \
    >>.build/bench/ab-post-new
  echo "round $round: GET old $(tail -1 .build/bench/ab-get-old) new $(tail -1 .build/bench/ab-get-new);" \
    "POST old $(tail -1 .build/bench/ab-post-old) new $(tail -1 .build/bench/ab-post-new) req/s"
done
for kind in get post; do
  o=$(median <".build/bench/ab-$kind-old"); n=$(median <".build/bench/ab-$kind-new")
  echo "median $kind: baseline $o req/s, candidate $n req/s, ratio $(awk -v a="$n" -v b="$o" 'BEGIN {printf "%.2f", a/b}')"
done
