#!/usr/bin/env bash
# HTTP benchmark (issue 3), release builds, everything on this machine's cores (wrk included):
#   1. GET /tasks/{id} of a finished task, and POST /tasks (echo, 202), with wrk -t2 -c64, against taskgate and,
#      in the same run, interleaved, a minimal C libmicrohttpd server (Benchmarks/http/c-baseline.c) answering a
#      fixed small JSON. Ratio = taskgate / C.
#   2. One client, sequential POST /tasks with Prefer: wait=5 of echo (wrk -t1 -c1 --latency): p50 and p99.
#   3. 10,000 parked long-polls: server RSS and thread count (Benchmarks/http/parked.py).
# Usage: scripts/bench-http.sh [rounds] [seconds per wrk run]
#   HTTP_THREADS=N runs both servers with an N-thread libmicrohttpd pool (default 0: one event-loop thread each).
#   AUTH=1 runs taskgate with a client token (--token) and sends `Authorization: Bearer` in every request of part 1,
#   to both servers (the C baseline reads no header, so the ratio shows what checking the token costs).
#   METRICS=0 runs taskgate with --no-metrics (default: metrics on, as `taskgate serve` runs), to show what they cost.
#   TLS=1 serves HTTPS from both servers (libmicrohttpd's TLS) with the same self-signed certificate, made here with
#   openssl (EC P-256); wrk speaks TLS to both. Ratio = taskgate / C over TLS.
#   EARLIER=path/to/taskgate adds a third server, an earlier tree's build (e.g. from a `git worktree`), to the same
#   interleaved rounds of part 1, with EARLIER_FLAGS as its extra serve flags (default none: trees before issue 13
#   have no --durability; set it to "--durability memory" for later ones). Its ratio to C shows what the machine does
#   to the ratio, apart from the code.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
duration="${2:-5}"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk"; exit 1; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

swift build -c release --product taskgate 2>&1 | grep -E "error" || true
mkdir -p .build/bench
# shellcheck disable=SC2046 # pkg-config's flags are meant to split
cc -O2 -o .build/bench/c-baseline Benchmarks/http/c-baseline.c $(pkg-config --cflags --libs libmicrohttpd)

pids=()
cleanup() { for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

start() { # start OUTFILE CMD... -> sets $started_url and $started_pid
  local out="$1"; shift
  "$@" >"$out" 2>/dev/null &
  started_pid=$!
  pids+=("$started_pid")
  for _ in $(seq 1 100); do grep -q "^listening on " "$out" && break; sleep 0.1; done
  started_url=$(head -1 "$out" | sed 's/^listening on //')
}

rps() { awk '/^Requests\/sec:/ {print $2}'; }
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); print v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v); print v} else {sub(/s$/,"",v); print v*1000}}'; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

threads="${HTTP_THREADS:-0}"
auth=(); token_flags=()
if [ "${METRICS:-1}" = 0 ]; then token_flags+=(--no-metrics); fi
if [ "${AUTH:-0}" = 1 ]; then
  auth=(-H "Authorization: Bearer bench-token-0123456789abcdef"); token_flags+=(--token bench-token-0123456789abcdef)
fi
tls_c=(); tls_tg=(); curl_tls=()
if [ "${TLS:-0}" = 1 ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout .build/bench/key.pem -out .build/bench/cert.pem 2>/dev/null
  tls_c=(.build/bench/cert.pem .build/bench/key.pem)
  tls_tg=(--tls-cert .build/bench/cert.pem --tls-key .build/bench/key.pem)
  curl_tls=(--cacert .build/bench/cert.pem)
fi
start .build/bench/c.out .build/bench/c-baseline 18090 "$threads" ${tls_c[@]+"${tls_c[@]}"}
c_url=$started_url
start .build/bench/tg.out .build/release/taskgate serve --durability memory --port 0 --workers 2 --queue-limit 10000000 \
  --http-threads "$threads" ${token_flags[@]+"${token_flags[@]}"} ${tls_tg[@]+"${tls_tg[@]}"}
tg_url=$started_url
tg_pid=$started_pid
earlier_url=""
if [ -n "${EARLIER:-}" ]; then
  # shellcheck disable=SC2086 # the extra flags are meant to split
  start .build/bench/earlier.out "$EARLIER" serve --port 0 --workers 2 --queue-limit 10000000 ${EARLIER_FLAGS:-} \
    --http-threads "$threads" ${token_flags[@]+"${token_flags[@]}"} ${tls_tg[@]+"${tls_tg[@]}"}
  earlier_url=$started_url
fi
id=$(curl -s ${curl_tls[@]+"${curl_tls[@]}"} -X POST "$tg_url/tasks" ${auth[@]+"${auth[@]}"} -H 'Content-Type: application/json' -H 'Prefer: wait=5' \
  -d '{"function":"echo","args":{"i":1}}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')

echo "== $(nproc) cores; wrk -t2 -c64 -d${duration}s; $rounds interleaved rounds; http threads $threads (both); auth ${AUTH:-0}; metrics ${METRICS:-1}; tls ${TLS:-0}"
: >.build/bench/get-c; : >.build/bench/get-tg; : >.build/bench/post-c; : >.build/bench/post-tg
: >.build/bench/get-earlier; : >.build/bench/post-earlier
earlier_id=""
if [ -n "$earlier_url" ]; then
  earlier_id=$(curl -s ${curl_tls[@]+"${curl_tls[@]}"} -X POST "$earlier_url/tasks" ${auth[@]+"${auth[@]}"} \
    -H 'Content-Type: application/json' -H 'Prefer: wait=5' -d '{"function":"echo","args":{"i":1}}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
fi
for round in $(seq 1 "$rounds"); do
  wrk -t2 -c64 -d"${duration}s" ${auth[@]+"${auth[@]}"} "$c_url/tasks/$id" | rps >>.build/bench/get-c
  wrk -t2 -c64 -d"${duration}s" ${auth[@]+"${auth[@]}"} "$tg_url/tasks/$id" | rps >>.build/bench/get-tg
  if [ -n "$earlier_url" ]; then
    wrk -t2 -c64 -d"${duration}s" ${auth[@]+"${auth[@]}"} "$earlier_url/tasks/$earlier_id" | rps >>.build/bench/get-earlier
  fi
  wrk -t2 -c64 -d"${duration}s" ${auth[@]+"${auth[@]}"} -s Benchmarks/http/post-echo.lua "$c_url/tasks" | rps >>.build/bench/post-c
  wrk -t2 -c64 -d"${duration}s" ${auth[@]+"${auth[@]}"} -s Benchmarks/http/post-echo.lua "$tg_url/tasks" | rps >>.build/bench/post-tg
  if [ -n "$earlier_url" ]; then
    wrk -t2 -c64 -d"${duration}s" ${auth[@]+"${auth[@]}"} -s Benchmarks/http/post-echo.lua "$earlier_url/tasks" | rps \
      >>.build/bench/post-earlier
  fi
  echo "round $round: GET C $(tail -1 .build/bench/get-c) taskgate $(tail -1 .build/bench/get-tg)" \
    "${earlier_url:+earlier $(tail -1 .build/bench/get-earlier)}; POST C $(tail -1 .build/bench/post-c)" \
    "taskgate $(tail -1 .build/bench/post-tg) ${earlier_url:+earlier $(tail -1 .build/bench/post-earlier)} req/s"
done
for kind in get post; do
  c=$(median <.build/bench/$kind-c)
  tg=$(median <.build/bench/$kind-tg)
  echo "median $kind: C $c req/s, taskgate $tg req/s, ratio $(awk -v a="$tg" -v b="$c" 'BEGIN {printf "%.2f", a/b}')"
  if [ -n "$earlier_url" ]; then
    early=$(median <.build/bench/$kind-earlier)
    echo "median $kind: earlier tree $early req/s, ratio $(awk -v a="$early" -v b="$c" 'BEGIN {printf "%.2f", a/b}')"
  fi
done

if [ "${BENCH_ONLY_RPS:-0}" = 1 ]; then exit 0; fi  # skip parts 2 and 3
echo "== one client, sequential POST /tasks + Prefer: wait=5 (echo), wrk -t1 -c1 -d${duration}s --latency"
: >.build/bench/p50; : >.build/bench/p99
for round in $(seq 1 "$rounds"); do
  out=$(wrk -t1 -c1 -d"${duration}s" --latency -s Benchmarks/http/post-echo-wait.lua "$tg_url/tasks")
  echo "$out" | awk '$1=="50%" {print $2}' | to_ms >>.build/bench/p50
  echo "$out" | awk '$1=="99%" {print $2}' | to_ms >>.build/bench/p99
  echo "round $round: p50 $(tail -1 .build/bench/p50) ms, p99 $(tail -1 .build/bench/p99) ms, $(echo "$out" | rps) req/s"
done
echo "median p50 $(median <.build/bench/p50) ms, median p99 $(median <.build/bench/p99) ms"

echo "== 10,000 parked long-polls (a fresh server with one worker slot)"
kill -TERM "$tg_pid"; wait "$tg_pid" 2>/dev/null || true
start .build/bench/parked.out .build/release/taskgate serve --durability memory --port 0 --workers 1
python3 Benchmarks/http/parked.py "$started_url" "$started_pid" 10000
