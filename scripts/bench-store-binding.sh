#!/usr/bin/env bash
# Issue 13's choice of SQLite binding, measured (Benchmarks/StoreBench, a package of its own so the product does not
# depend on GRDB): the SQLite C API against GRDB.swift writing task rows in WAL mode, inserted and then finished,
# BATCH rows per transaction, with synchronous=FULL (taskgate's `fsync` mode) and NORMAL (`os` mode), and the
# machine's own fsync p50 first. Runs three shapes: single-row commits (latency), 64-row and 256-row group commits.
# Usage: scripts/bench-store-binding.sh [RUNS] [DIR]   (DIR: where the databases go; a fresh temporary one by default)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
dir="${2:-$(mktemp -d)}"
pkg-config --exists sqlite3 || { echo "libsqlite3-dev is missing: apt-get install -y libsqlite3-dev"; exit 1; }
(cd Benchmarks/StoreBench && swift build -c release 2>&1 | grep -E "error" || true)
bench=Benchmarks/StoreBench/.build/release/store-bench
"$bench" "$dir" 2000 1 "$runs"
"$bench" "$dir" 20000 64 "$runs"
"$bench" "$dir" 50000 256 "$runs"
rm -f "$dir"/*.sqlite "$dir"/*.sqlite-wal "$dir"/*.sqlite-shm
