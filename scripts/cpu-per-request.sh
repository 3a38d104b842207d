#!/usr/bin/env bash
# CPU per request, by thread, of a server under wrk load (a diagnostic behind docs/benchmarks.md).
# Usage: scripts/cpu-per-request.sh PID URL [WRK_LUA_SCRIPT]
#   Runs `wrk -t2 -c64 -d5s` against URL and prints the requests/s, wrk's own CPU time, and for every thread of
#   PID that used CPU meanwhile: its CPU seconds and microseconds per request (from /proc/PID/task/*/stat).
#   TOKEN=... sends `Authorization: Bearer TOKEN` with every request (a server with --token answers 401 without it).
set -euo pipefail
pid="$1"; url="$2"; lua="${3:-}"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk"; exit 1; }
declare -A before
for task in /proc/"$pid"/task/*; do
  read -r -a fields <"$task/stat"
  before[${task##*/}]=$((fields[13] + fields[14]))
done
out=$(mktemp); times=$(mktemp)
trap 'rm -f "$out" "$times"' EXIT
args=(-t2 -c64 -d5s)
[ -n "$lua" ] && args+=(-s "$lua")
[ -n "${TOKEN:-}" ] && args+=(-H "Authorization: Bearer $TOKEN")
/usr/bin/time -f "%U %S" -o "$times" wrk "${args[@]}" "$url" >"$out"
requests=$(awk '/requests in/ {print $1}' "$out")
echo "$(awk '/^Requests\/sec/ {print $2}' "$out") req/s, $requests requests; wrk CPU $(awk '{print $1 + $2}' "$times") s"
hz=$(getconf CLK_TCK)
for task in /proc/"$pid"/task/*; do
  read -r -a fields <"$task/stat"
  used=$((fields[13] + fields[14] - ${before[${task##*/}]:-0}))
  [ "$used" -gt 0 ] || continue
  awk -v name="$(cat "$task/comm")" -v t="$used" -v hz="$hz" -v n="$requests" \
    'BEGIN {printf "  %-16s %.2f s CPU, %.2f us/request\n", name, t / hz, t / hz * 1e6 / n}'
done
