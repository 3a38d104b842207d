#!/usr/bin/env python3
"""The baseline the Swift client is compared with (issue 11): what a Python user gets from the standard library alone.

    python3 Benchmarks/python-client/baseline.py URL [RUNS]

  (a) 10,000 echo tasks in bulk: 8 threads, each with one http.client connection, take batches of 500 from a
      shared list; per batch: POST /tasks/batch, then POST /tasks/wait (mode all) until every task of the batch is
      done. tasks/s end to end, per run and median.
  (b) 500 sequential round trips: POST /tasks with `Prefer: wait=5` (one request per task); p50 and p99 per run,
      and their medians.

`scripts/bench-client.sh` runs it against the same server right before and after the Swift client.
"""

import http.client
import json
import statistics
import sys
import threading
import time
import urllib.parse

BULK_TASKS = 10_000
BATCH = 500
CONNECTIONS = 8
ROUND_TRIPS = 500


def connect(url):
    parts = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)


def request(connection, method, path, body, headers=None):
    all_headers = {"Content-Type": "application/json"}
    all_headers.update(headers or {})
    connection.request(method, path, body=json.dumps(body), headers=all_headers)
    response = connection.getresponse()
    data = response.read()
    if response.status >= 300:
        raise RuntimeError(f"{method} {path}: {response.status} {data[:200]!r}")
    return response.status, json.loads(data)


def bulk(url):
    args = [{"i": i} for i in range(BULK_TASKS)]
    batches = [args[start : start + BATCH] for start in range(0, BULK_TASKS, BATCH)]
    results = [None] * len(batches)
    lock = threading.Lock()
    next_batch = [0]
    failures = []

    def work():
        connection = connect(url)
        try:
            while True:
                with lock:
                    index = next_batch[0]
                    next_batch[0] += 1
                if index >= len(batches):
                    return
                body = [{"function": "echo", "args": a} for a in batches[index]]
                _, answer = request(connection, "POST", "/tasks/batch", body)
                ids = [task["id"] for task in answer["tasks"]]
                done = {}
                while len(done) < len(ids):
                    left = [i for i in ids if i not in done]
                    _, waited = request(
                        connection, "POST", "/tasks/wait", {"ids": left, "mode": "all", "timeout_s": 30}
                    )
                    for task in waited["tasks"]:
                        done[task["id"]] = task
                results[index] = [done[i]["result"] for i in ids]
        except Exception as error:  # reported by the caller
            failures.append(error)
        finally:
            connection.close()

    start = time.perf_counter()
    threads = [threading.Thread(target=work) for _ in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if failures:
        raise failures[0]
    flat = [value for batch in results for value in batch]
    assert flat == args, "echo returned something else"
    return BULK_TASKS / elapsed, elapsed


def round_trips(url):
    connection = connect(url)
    trips = []
    try:
        for index in range(ROUND_TRIPS):
            start = time.perf_counter()
            status, task = request(
                connection, "POST", "/tasks", {"function": "echo", "args": index}, {"Prefer": "wait=5"}
            )
            trips.append((time.perf_counter() - start) * 1e3)
            assert status == 200 and task["result"] == index, f"unexpected answer {status} {task}"
    finally:
        connection.close()
    trips.sort()
    return trips[len(trips) // 2 - 1 + len(trips) % 2], trips[min(len(trips) - 1, int(len(trips) * 0.99 + 0.999) - 1)]


def main():
    if len(sys.argv) < 2:
        print("usage: baseline.py URL [RUNS]")
        sys.exit(2)
    url = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    bulk(url)  # warm-up
    print(f"(a) {BULK_TASKS:,} echo tasks, POST /tasks/batch of {BATCH} + POST /tasks/wait, {CONNECTIONS} connections")
    rates = []
    for run in range(1, runs + 1):
        rate, elapsed = bulk(url)
        rates.append(rate)
        print(f"  run {run}: {int(rate)} tasks/s ({elapsed * 1e3:.1f} ms)")
    print(f"  median {int(statistics.median(rates))} tasks/s")
    print(f"(b) {ROUND_TRIPS} sequential POST /tasks with Prefer: wait=5")
    p50s, p99s = [], []
    for run in range(1, runs + 1):
        p50, p99 = round_trips(url)
        p50s.append(p50)
        p99s.append(p99)
        print(f"  run {run}: p50 {p50:.3f} ms, p99 {p99:.3f} ms")
    print(f"  median p50 {statistics.median(p50s):.3f} ms, median p99 {statistics.median(p99s):.3f} ms")


if __name__ == "__main__":
    main()
