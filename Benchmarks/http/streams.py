"""Event streams (GET /events) against a running taskgate, for scripts/bench-events.sh.

  streams.py hold URL N      opens N streams, each following one task id of its own (ids=...: the way a service
                             follows its own tasks), plus one that follows every task; reads and discards what
                             they send; prints "open N" once all answered 200, then holds them until stdin closes,
                             and prints the bytes the all-tasks stream read.
  streams.py latency URL M   one stream of finished tasks (state=succeeded); M tasks submitted one after another
                             (Prefer: wait=5); for each, the time from the task's finished_at to the event's arrival.
                             Prints p50 and p99 in ms.
"""
import asyncio
import datetime
import json
import os
import sys
import time
import urllib.request


async def open_stream(host, port, path):
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode())
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        stats = urllib.request.urlopen(f"http://{host}:{port}/stats").read()
        raise RuntimeError(f"{path}: {status!r} {(await reader.read(2000))!r}; stats {stats[:400]!r}")
    while (await reader.readline()) not in (b"\r\n", b""):
        pass
    return reader, writer


async def drain(reader, counter):
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            return
        counter[0] += len(chunk)


async def hold(url, count):
    host, port = url.split("//")[1].split(":")
    port = int(port)
    streams = []
    for index in range(count):
        task_id = "%016x" % (0xF000000000000000 + index)
        streams.append(await open_stream(host, port, f"/events?ids={task_id}"))
    broad = await open_stream(host, port, "/events?kinds=task")
    print(f"open {count + 1}", flush=True)
    read = [0]
    tasks = [asyncio.ensure_future(drain(reader, [0])) for reader, _ in streams]
    tasks.append(asyncio.ensure_future(drain(broad[0], read)))
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    for task in tasks:
        task.cancel()
    for _, writer in streams + [broad]:
        writer.close()
    print(f"all-tasks stream read {read[0]} bytes", flush=True)


def submit(url):
    request = urllib.request.Request(
        url + "/tasks", data=b'{"function":"echo","args":1}', method="POST",
        headers={"Content-Type": "application/json", "Prefer": "wait=5"})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())["id"]


def parse_time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


async def latency(url, count):
    host, port = url.split("//")[1].split(":")
    reader, writer = await open_stream(host, int(port), "/events?state=succeeded")
    arrivals = {}

    async def read_events():
        while True:
            line = await reader.readline()
            if not line:
                return
            if line.startswith(b"data: "):
                now = time.time()
                event = json.loads(line[6:])
                arrivals[event["id"]] = now - parse_time(event["finished_at"])

    reading = asyncio.ensure_future(read_events())
    loop = asyncio.get_running_loop()
    ids = []
    for _ in range(count):
        ids.append(await loop.run_in_executor(None, submit, url))
    deadline = time.time() + 10
    while len([i for i in ids if i in arrivals]) < count and time.time() < deadline:
        await asyncio.sleep(0.01)
    reading.cancel()
    writer.close()
    values = sorted(arrivals[i] * 1000 for i in ids if i in arrivals)
    if len(values) < count:
        print(f"only {len(values)} of {count} events arrived", flush=True)
    p50 = values[len(values) // 2]
    p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
    print(f"state change to event: p50 {p50:.3f} ms, p99 {p99:.3f} ms ({len(values)} events)", flush=True)


if __name__ == "__main__":
    mode, url, number = sys.argv[1], sys.argv[2], int(sys.argv[3])
    asyncio.run(hold(url, number) if mode == "hold" else latency(url, number))
