"""Parks N long-polls (GET /tasks/ID?wait=60) on a server and reports its RSS and thread count.

Usage: python3 parked.py BASE_URL PID N
The task must not finish until the script says so: it submits `sleep` (holding the only worker slot) and an
`echo` queued behind it, parks N polls on the echo, samples /proc/PID, then cancels the sleep so the echo runs and
every poll is answered, and reports how long that took and whether all N got 200 succeeded.
"""
import asyncio
import json
import sys
import time
import urllib.request


def call(base, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) // 1024, int(fields["Threads"])


async def poll(host, port, path, results):
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    await writer.drain()
    status_line = await reader.readline()
    headers = {}
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        key, _, value = line.decode().partition(":")
        headers[key.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    results.append((int(status_line.split()[1]), json.loads(body)["state"]))
    writer.close()


async def main():
    base, pid, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    host, port = base.split("//")[1].split(":")
    _, blocker = call(base, "POST", "/tasks", {"function": "sleep", "args": {"seconds": 600}})
    _, queued = call(base, "POST", "/tasks", {"function": "echo", "args": "parked"})
    rss_before, threads_before = proc_status(pid)
    results = []
    tasks = []
    for index in range(count):
        tasks.append(asyncio.create_task(poll(host, int(port), f"/tasks/{queued['id']}?wait=60", results)))
        if index % 500 == 0:
            await asyncio.sleep(0)
    deadline = time.time() + 60
    while time.time() < deadline:
        _, stats = call(base, "GET", "/stats")
        if stats["parked_requests"] >= count:
            break
        await asyncio.sleep(0.2)
    rss_parked, threads_parked = proc_status(pid)
    started = time.perf_counter()
    call(base, "DELETE", f"/tasks/{blocker['id']}")
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    ok = sum(1 for status, state in results if status == 200 and state == "succeeded")
    print(f"parked {stats['parked_requests']} long-polls")
    print(f"server RSS: {rss_before} MiB before, {rss_parked} MiB with {count} parked")
    print(f"server threads: {threads_before} before, {threads_parked} with {count} parked")
    print(f"all answered in {elapsed * 1000:.0f} ms after the task finished: {ok}/{count} got 200 succeeded")


asyncio.run(main())
