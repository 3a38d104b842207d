#!/usr/bin/env bash
# Durable store benchmark (issue 13), release build, everything on this machine's cores (wrk included), data
# directories under .build/bench (the repository's file system, not a tmpfs):
#   1. POST /tasks (echo, 202), wrk -t2 -c64: servers in the memory, os and fsync modes, interleaved rounds, medians,
#      each mode's ratio to memory's in the same run, and the machine's CPU time (all cores, wrk's included, from
#      /proc/stat) per POST with the share left idle: what each mode's requests cost the whole machine.
#   2. One client, sequential POST /tasks + Prefer: wait=5 (echo), wrk -t1 -c1 --latency: p50 per mode, next to the
#      machine's fsync p50 (4 KiB written + fdatasync, 200 times, in the same file system) measured in the same run.
#   3. Disk (fsync mode): bytes per retained finished task (measured after a clean stop, which checkpoints the WAL into
#      the database), then, restarted on it, the store's size once retention evicted everything.
#   4. Recovery: a store of 1,000,000 finished and 100,000 pending tasks; the time from exec to the first answered
#      GET of a task, and the server's own load figure.
# Usage: scripts/bench-store.sh [rounds] [seconds per wrk run]; PARTS="1 2 3 4" picks the parts (default all).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
duration="${2:-5}"
parts="${PARTS:-1 2 3 4}"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk"; exit 1; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

swift build -c release --product taskgate 2>&1 | grep -E "error" || true
bin=.build/release/taskgate
data=.build/bench/store
rm -rf "$data"
mkdir -p "$data"

pids=()
cleanup() { for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

start() { # start OUTFILE CMD... -> sets $started_url and $started_pid
  local out="$1"; shift
  "$@" >"$out" 2>"$out.err" &
  started_pid=$!
  pids+=("$started_pid")
  for _ in $(seq 1 600); do grep -q "^listening on " "$out" && break; sleep 0.05; done
  started_url=$(head -1 "$out" | sed 's/^listening on //')
}
stop() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
rps() { awk '/^Requests\/sec:/ {print $2}'; }
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); print v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v); print v} else {sub(/s$/,"",v); print v*1000}}'; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
size() { stat -c %s "$1" 2>/dev/null || echo 0; }
# The machine's CPU ticks: busy (user, nice, system, irq, softirq), idle (idle, iowait), stolen by the hypervisor.
cpu_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $5 + $6, $9}' /proc/stat; }
# "BUSY IDLE STEAL BUSY IDLE STEAL REQUESTS" -> machine CPU (all cores, wrk included) per request in us, idle %, steal %.
cpu_per_request() {
  awk -v hz="$(getconf CLK_TCK)" '{b = $4 - $1; i = $5 - $2; s = $6 - $3
    printf "%.1f %.0f %.0f\n", b / hz * 1e6 / $7, 100 * i / (b + i + s), 100 * s / (b + i + s)}'
}
fsync_p50() { # the machine's fsync: 4 KiB written and fdatasync'ed 200 times in $data; the median in ms
  python3 - "$data/fsync-probe" <<'EOF'
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
block = b"x" * 4096
times = []
for i in range(200):
    t = time.perf_counter()
    os.pwrite(fd, block, (i % 16) * 4096)
    os.fdatasync(fd)
    times.append((time.perf_counter() - t) * 1000)
os.close(fd)
os.unlink(sys.argv[1])
times.sort()
print(f"{times[100]:.3f}")
EOF
}

echo "== $(nproc) cores; wrk -t2 -c64 -d${duration}s; $rounds interleaved rounds; data in $data ($(df -T "$data" | awk 'NR==2 {print $2}'))"
modes=(memory os fsync)
declare -A url pid
for mode in "${modes[@]}"; do
  start "$data/$mode.out" "$bin" serve --durability "$mode" --data-dir "$data/$mode" --port 0 --workers 2 \
    --queue-limit 10000000
  url[$mode]=$started_url; pid[$mode]=$started_pid
done

if [[ " $parts " == *" 1 "* ]]; then
  echo "== 1. POST /tasks (echo, 202), wrk -t2 -c64"
  for mode in "${modes[@]}"; do : >"$data/post-$mode"; : >"$data/cpu-$mode"; done
  for round in $(seq 1 "$rounds"); do
    line="round $round:"
    for mode in "${modes[@]}"; do
      before=$(cpu_ticks)
      out=$(wrk -t2 -c64 -d"${duration}s" -s Benchmarks/http/post-echo.lua "${url[$mode]}/tasks")
      after=$(cpu_ticks)
      echo "$out" | rps >>"$data/post-$mode"
      echo "$before $after $(echo "$out" | awk '/requests in/ {print $1}')" | cpu_per_request >>"$data/cpu-$mode"
      line="$line $mode $(tail -1 "$data/post-$mode") ($(tail -1 "$data/cpu-$mode" | awk '{printf "%.1f us CPU, %d%% idle", $1, $2}'))"
    done
    echo "$line req/s"
  done
  memory=$(median <"$data/post-memory")
  for mode in "${modes[@]}"; do
    m=$(median <"$data/post-$mode")
    echo "median POST $mode: $m req/s, $(awk -v a="$m" -v b="$memory" 'BEGIN {printf "%.2f", a/b}')x memory;" \
      "machine CPU $(awk '{print $1}' "$data/cpu-$mode" | median) us per POST, $(awk '{print $2}' "$data/cpu-$mode" | median)% idle," \
      "$(awk '{print $3}' "$data/cpu-$mode" | median)% stolen by the hypervisor"
  done
  for mode in os fsync; do
    curl -s "${url[$mode]}/metrics" | awk -v mode="$mode" '
      /^taskgate_store_commits_total\{outcome="committed"\}/ {c=$2}
      /^taskgate_store_changes_total / {r=$2}
      END {if (c > 0) printf "%s: %d commits, %.1f changes per commit\n", mode, c, r/c}'
  done
fi

if [[ " $parts " == *" 2 "* ]]; then
  echo "== 2. one client, sequential POST /tasks + Prefer: wait=5 (echo), wrk -t1 -c1 --latency"
  for mode in "${modes[@]}"; do : >"$data/p50-$mode"; done
  : >"$data/fsync-p50"
  for round in $(seq 1 "$rounds"); do
    fsync_p50 >>"$data/fsync-p50"
    line="round $round: machine fsync p50 $(tail -1 "$data/fsync-p50") ms;"
    for mode in "${modes[@]}"; do
      out=$(wrk -t1 -c1 -d"${duration}s" --latency -s Benchmarks/http/post-echo-wait.lua "${url[$mode]}/tasks")
      echo "$out" | awk '$1=="50%" {print $2}' | to_ms >>"$data/p50-$mode"
      line="$line $mode p50 $(tail -1 "$data/p50-$mode") ms"
    done
    echo "$line"
  done
  machine=$(median <"$data/fsync-p50")
  echo "median machine fsync p50: $machine ms"
  for mode in "${modes[@]}"; do
    m=$(median <"$data/p50-$mode")
    echo "median p50 $mode: $m ms ($(awk -v a="$m" -v b="$machine" 'BEGIN {printf "%+.3f", a-b}') ms over the machine's fsync p50)"
  done
fi
for mode in "${modes[@]}"; do stop "${pid[$mode]}"; done

if [[ " $parts " == *" 3 "* ]]; then
  echo "== 3. disk, fsync mode: 20,000 finished tasks of 100-byte args and results retained, then evicted"
  start "$data/disk.out" "$bin" serve --data-dir "$data/disk" --port 0 --workers 2 --result-ttl 5 \
    --tombstone-ttl 5
  disk_url=$started_url; disk_pid=$started_pid
  args=$(python3 -c 'print("\"" + "a" * 98 + "\"")')
  python3 - "$disk_url" "$args" <<'EOF'
import json, sys, urllib.request
url, args = sys.argv[1], sys.argv[2]
batch = json.dumps([{"function": "echo", "args": json.loads(args)}] * 1000).encode()
for _ in range(20):
    request = urllib.request.Request(url + "/tasks/batch", data=batch, headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request).read()
EOF
  for _ in $(seq 1 100); do
    done_count=$(curl -s "$disk_url/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tasks"]["succeeded"])')
    [ "$done_count" -ge 20000 ] && break; sleep 0.1
  done
  sleep 1
  db=$(size "$data/disk/taskgate.sqlite"); wal=$(size "$data/disk/taskgate.sqlite-wal")
  echo "retained $done_count finished tasks: database $db bytes + WAL $wal bytes (not yet checkpointed: up to 1,000 pages)"
  # A clean stop checkpoints the WAL into the database and removes it: the database alone then holds every task.
  stop "$disk_pid"
  db=$(size "$data/disk/taskgate.sqlite")
  echo "after a clean stop: database $db bytes, WAL $(size "$data/disk/taskgate.sqlite-wal") bytes; $(( db / done_count )) bytes per task"
  start "$data/disk.out" "$bin" serve --data-dir "$data/disk" --port 0 --workers 2 --result-ttl 5 \
    --tombstone-ttl 5
  disk_url=$started_url; disk_pid=$started_pid
  for _ in $(seq 1 300); do
    tombstones=$(curl -s "$disk_url/stats" | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["tombstones"] + s["tasks"]["succeeded"])')
    [ "$tombstones" -eq 0 ] && [ "$(size "$data/disk/taskgate.sqlite")" -lt $(( db / 4 )) ] && break; sleep 0.1
  done
  echo "after retention evicted everything (and the tombstones expired): database $(size "$data/disk/taskgate.sqlite") bytes + WAL $(size "$data/disk/taskgate.sqlite-wal") bytes"
  stop "$disk_pid"
  echo "after a clean stop: database $(size "$data/disk/taskgate.sqlite") bytes, WAL $(size "$data/disk/taskgate.sqlite-wal") bytes"
fi

if [[ " $parts " == *" 4 "* ]]; then
  echo "== 4. recovery: a store of 1,000,000 finished and 100,000 pending tasks"
  start "$data/make.out" "$bin" serve --data-dir "$data/big" --port 0 --workers 0
  stop "$started_pid"
  python3 - "$data/big/taskgate.sqlite" <<'EOF'
import sqlite3, struct, sys, time
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA journal_mode = WAL")
db.execute("PRAGMA synchronous = OFF")
now = time.time_ns()
base = 7 << 32
columns = ("id, function, args, priority, timeout_ns, max_retries, tags, idempotency_key, fingerprint, traceparent, "
           "created_at, state, version, result, error_code, error_detail, attempt, updated_at, started_at, finished_at, "
           "expires_at, cancel_requested_at, cancel_confirm, cancel_worker_finished, tombstone_until, attempts")
def attempt(queued, started, ended):
    # One attempt as the store writes it (ProfileBlobs): attempt, worker id, queued, started, ended as little-endian
    # 64-bit integers, then the worker's name and the outcome, each after its 32-bit length.
    name, outcome = b"worker-1", b"succeeded"
    return (struct.pack("<qqqqq", 1, 1, queued, started, ended) + struct.pack("<I", len(name)) + name
            + struct.pack("<I", len(outcome)) + outcome)
def finished(i):
    created = now - 600_000_000_000 + i * 1_000
    return (base + i, "echo", b'{"i":%d}' % i, 0, None, 3, None, None, 0, None, created, "succeeded", 3,
            b'{"i":%d}' % i, None, None, 1, created + 2_000, created + 1_000, created + 2_000,
            now + 3_000_000_000_000, None, None, None, None, attempt(created, created + 1_000, created + 2_000))
def pending(i):
    created = now - 1_000_000 + i
    return (base + 1_000_000 + i, "echo", b'{"p":%d}' % i, i % 3, None, 3, None, None, 0, None, created, "pending",
            1, None, None, None, 1, created, None, None, None, None, None, None, None, None)
sql = "INSERT INTO tasks (" + columns + ") VALUES (" + ",".join("?" * 26) + ")"
with db:
    db.executemany(sql, (finished(i) for i in range(1_000_000)))
    db.executemany(sql, (pending(i) for i in range(100_000)))
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
db.close()
EOF
  echo "store: $(size "$data/big/taskgate.sqlite") bytes"
  : >"$data/recovery"
  for round in $(seq 1 "$rounds"); do
    started=$(date +%s%N)
    start "$data/big.out" "$bin" serve --data-dir "$data/big" --port 0 --workers 0 --max-retained 2000000 \
      --max-retained-bytes 4000000000
    until curl -sf "$started_url/tasks/$(printf '%016x' $(( (7 << 32) + 12345 )))" >/dev/null; do sleep 0.01; done
    ms=$(( ($(date +%s%N) - started) / 1000000 ))
    echo "$ms" >>"$data/recovery"
    loaded=$(grep -o 'store.load_ms=[0-9]*' "$data/big.out.err" | head -1)
    rss=$(awk '/VmRSS/ {print $2 / 1024 " MiB"}' "/proc/$started_pid/status")
    echo "round $round: serving after $ms ms ($loaded; RSS $rss)"
    stop "$started_pid"
  done
  echo "median time to serve: $(median <"$data/recovery") ms"
fi
