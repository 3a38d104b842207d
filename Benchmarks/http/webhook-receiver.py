"""A webhook receiver for scripts/check-webhooks.sh and scripts/bench-webhooks.sh: HTTP/1.1 with keep-alive on
asyncio, 127.0.0.1 and a free port (printed as "listening on PORT" first).

  webhook-receiver.py [--secret whsec_...] [--status N]

Every POST is answered N (default 204). With --secret, each one is checked with the Standard Webhooks reference
library (PyPI standardwebhooks: signature, id and timestamp tolerance) and counted verified or refused. GET /stats
answers {"connections", "received", "verified", "refused", "first", "last", "ids"}: counts, the arrival times (time.time()) of the
first and last POST, and how many distinct webhook-ids arrived.
"""
import argparse
import asyncio
import json
import time

stats = {"connections": 0, "received": 0, "verified": 0, "refused": 0, "first": None, "last": None}
ids = set()


def check(webhook, body, headers):
    if webhook is None:
        return
    try:
        webhook.verify(body, headers)
        stats["verified"] += 1
    except Exception:  # noqa: BLE001 - any failure is a refusal
        stats["refused"] += 1


async def serve(reader, writer, webhook, status):
    stats["connections"] += 1
    try:
        while True:
            line = await reader.readline()
            if not line:
                return
            method = line.split(b" ", 1)[0]
            headers = {}
            while True:
                header = await reader.readline()
                if header in (b"\r\n", b""):
                    break
                name, _, value = header.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            if method == b"GET":
                answer = json.dumps(dict(stats, ids=len(ids))).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(answer), answer))
            else:
                now = time.time()
                stats["received"] += 1
                stats["first"] = stats["first"] or now
                stats["last"] = now
                ids.add(headers.get("webhook-id"))
                check(webhook, body, headers)
                writer.write(b"HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n" % status)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--secret")
    parser.add_argument("--status", type=int, default=204)
    options = parser.parse_args()
    webhook = None
    if options.secret:
        from standardwebhooks.webhooks import Webhook
        webhook = Webhook(options.secret)
    server = await asyncio.start_server(
        lambda r, w: serve(r, w, webhook, options.status), "127.0.0.1", 0, backlog=1024)
    print(f"listening on {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
