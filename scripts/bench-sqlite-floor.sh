#!/usr/bin/env bash
# SQLite's own CPU per task for the durable store's writes, with no taskgate code (Benchmarks/store/sqlite-floor.c):
# the 35-column rows taskgate writes against one BLOB per task, interleaved rounds, medians. Databases under
# .build/bench (the repository's file system, as the store's would be). Then what the system calls a parked answer
# adds cost here (Benchmarks/store/parked-syscalls.c). Together: the os mode's floor (docs/benchmarks.md).
# Usage: scripts/bench-sqlite-floor.sh [rounds] [tasks measured per run]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
tasks="${2:-300000}"
mkdir -p .build/bench
# shellcheck disable=SC2046 # pkg-config prints several flags, split on purpose
cc -O2 -o .build/bench/sqlite-floor Benchmarks/store/sqlite-floor.c $(pkg-config --cflags --libs sqlite3)
cc -O2 -o .build/bench/parked-syscalls Benchmarks/store/parked-syscalls.c
db=.build/bench/sqlite-floor.db
trap 'rm -f "$db" "$db-wal" "$db-shm"' EXIT
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
echo "== $(nproc) cores; $tasks tasks per run after 100,000 (the retention limit), 14 per commit; $rounds rounds"
declare -A runs
for round in $(seq 1 "$rounds"); do
  for layout in columns blob; do
    rm -f "$db" "$db-wal" "$db-shm"
    line=$(.build/bench/sqlite-floor "$db" "$layout" 14 "$tasks")
    echo "round $round: $line"
    runs[$layout]+="$(echo "$line" | awk '{print $(NF-4)}') "
  done
done
.build/bench/parked-syscalls
for layout in columns blob; do
  echo "median $layout: $(echo "${runs[$layout]}" | tr ' ' '\n' | grep . | median) us CPU per task"
done
