#!/usr/bin/env bash
# Client benchmark (issue 4), release builds: starts `taskgate serve --workers 2` on a free port and runs
# taskgate-bench-client against it (Benchmarks/ClientBench/main.swift says what it measures).
# Usage: scripts/bench-client.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
swift build -c release --product taskgate 2>&1 | grep -E "error" || true
swift build -c release --product taskgate-bench-client 2>&1 | grep -E "error" || true
mkdir -p .build/bench
.build/release/taskgate serve --port 0 --workers 2 --queue-limit 1000000 >.build/bench/client-server.out 2>/dev/null &
server=$!
trap 'kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do grep -q "^listening on " .build/bench/client-server.out && break; sleep 0.1; done
url=$(head -1 .build/bench/client-server.out | sed 's/^listening on //')
echo "== $(nproc) cores; server $url with 2 in-process slots; $runs runs"
.build/release/taskgate-bench-client "$url" "$runs"
