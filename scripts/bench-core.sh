#!/usr/bin/env bash
# In-process scheduler benchmark (issue 2): no HTTP, 2 in-process worker slots, release build.
#   throughput: 100,000 echo tasks submitted one call each, then gathered; median of 5 runs in one process
#               each run on a fresh scheduler), plus the same with 1,000 tasks per submitBatch call.
#   memory:     RSS growth while 1,000,000 finished echo tasks are held, per task, beyond the payload.
# Usage: scripts/bench-core.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
swift build -c release --product taskgate-bench-core >/dev/null
bin=.build/release/taskgate-bench-core
echo "== machine: $(nproc) cores, $(uname -r), $(swift --version 2>&1 | head -1)"
echo "== throughput, one submit call per task"
"$bin" throughput 100000 2 "$runs" 1
echo "== throughput, submitBatch of 1,000"
"$bin" throughput 100000 2 "$runs" 1000
echo "== memory per retained finished task"
"$bin" memory 1000000
