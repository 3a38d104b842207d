#!/usr/bin/env python3
"""A complete taskgate worker in Python's standard library only.

It speaks the worker protocol of docs/worker-protocol.md over plain HTTP/JSON:

  POST /workers               register {name, functions, capacity, lease_s} -> {id, max_wait_s, ...}
  POST /workers/{id}/poll     send {results, confirms, wait_s, running}; get {tasks, cancel, refused}
  DELETE /workers/{id}        leave

Functions offered (each gets the task's args, returns a JSON value or raises):
  py.upper   {"text": "..."} -> "TEXT"
  py.sum     [1, 2, 3] -> 6
  py.sleep   {"seconds": x} -> {"slept_s": x}; stops early when the task is cancelled
  py.fail    anything -> fails with a message

Usage: worker.py --url http://127.0.0.1:8080 [--capacity 4] [--lease 10] [--name py-worker]
SIGTERM or SIGINT drains: no new tasks, running ones finish, then the worker leaves.
"""

import argparse
import json
import os
import signal
import sys
import threading
import traceback
import time
import urllib.error
import urllib.request


TASK_LOG = threading.local()


def task_log(line):
    """Adds a line to the running task's log: sent with its result, shown by GET /tasks/{id}/logs."""
    lines = getattr(TASK_LOG, "lines", None)
    if lines is not None and len(lines) < 1000:
        lines.append(str(line)[:4096])


class Cancelled(Exception):
    """Raised by a function that noticed its task was cancelled."""


def py_upper(args, cancelled):
    return str(args["text"]).upper()


def py_sum(args, cancelled):
    task_log("summing %d numbers" % len(args))
    return sum(args)


def py_sleep(args, cancelled):
    seconds = float(args["seconds"])
    # Cooperative cancellation: the event is set when the server asks to stop the task.
    if cancelled.wait(seconds):
        raise Cancelled()
    return {"slept_s": seconds}


def py_fail(args, cancelled):
    raise RuntimeError("py.fail was asked to fail with %s" % json.dumps(args))


FUNCTIONS = {"py.upper": py_upper, "py.sum": py_sum, "py.sleep": py_sleep, "py.fail": py_fail}


class Gone(Exception):
    """The server no longer knows this worker (409 worker_gone or 404 unknown_worker)."""


class Worker:
    def __init__(self, url, name, capacity, lease, token=None):
        self.url = url.rstrip("/")
        self.token = token
        self.secret = None  # the registration's secret, sent with every poll and the leave
        self.name = name
        self.capacity = capacity
        self.lease = lease
        self.lock = threading.Condition()
        self.running = {}  # task id -> threading.Event set on cancel
        self.reports = {"results": [], "confirms": []}
        self.in_flight = {}  # poll token -> ids reported by that poll, until it is answered
        self.next_token = 0
        self.draining = False
        self.worker_id = None
        self.max_wait = 1.0

    # --- HTTP -------------------------------------------------------------------------------------------------
    def request(self, method, path, body=None, timeout=15):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", "Bearer " + self.token)
        if self.secret and path.startswith("/workers/"):
            request.add_header("TaskGate-Worker-Secret", self.secret)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw = response.read()
                return response.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as error:
            raw = error.read()
            problem = json.loads(raw) if raw else {}
            if error.code in (404, 409) and problem.get("code") in ("worker_gone", "unknown_worker"):
                raise Gone(problem.get("detail"))
            raise

    def register(self):
        body = {"name": self.name, "functions": sorted(FUNCTIONS), "capacity": self.capacity, "lease_s": self.lease}
        _, worker = self.request("POST", "/workers", body)
        self.secret = worker.get("secret")
        self.worker_id = worker["id"]
        self.max_wait = worker["max_wait_s"]
        log("registered as %s (lease %ss, polls wait up to %ss)" % (self.worker_id, self.lease, self.max_wait))

    # --- the protocol -----------------------------------------------------------------------------------------
    def take_reports(self):
        """The queued reports, and every task the server may count as held here besides them: the running ones
        and those reported by another poll that has not been answered yet."""
        with self.lock:
            reports = self.reports
            self.reports = {"results": [], "confirms": []}
            held = set(self.running)
            for ids in self.in_flight.values():
                held.update(ids)
            self.next_token += 1
            token = self.next_token
            self.in_flight[token] = [r["id"] for r in reports["results"] + reports["confirms"]]
            return token, reports, sorted(held)

    def poll(self, wait):
        """One round trip: deliver reports, receive tasks to run and tasks to stop."""
        token, reports, running = self.take_reports()
        # `running` lets the server take back a task whose answer never reached this worker.
        body = dict(reports, wait_s=wait, running=running)
        if self.draining:
            body.update(drain=True, max_tasks=0)
        try:
            _, answer = self.request("POST", "/workers/%s/poll" % self.worker_id, body, timeout=wait + 10)
        except Gone:
            with self.lock:
                self.in_flight.pop(token, None)
            raise
        except Exception:
            # Not delivered: keep the reports for the next poll.
            with self.lock:
                del self.in_flight[token]
                self.reports["results"][:0] = reports["results"]
                self.reports["confirms"][:0] = reports["confirms"]
            raise
        with self.lock:
            del self.in_flight[token]
        for refused in answer["refused"]:
            log("server refused a %s for %s (%s)" % (refused["report"], refused["id"], refused["code"]))
        for task in answer["tasks"]:
            self.start(task)
        for task_id in answer["cancel"]:
            with self.lock:
                event = self.running.get(task_id)
                if event is None:
                    # Not running here (its result may be on its way): nothing to stop.
                    if not any(r["id"] == task_id for r in self.reports["results"]):
                        self.reports["confirms"].append({"id": task_id, "confirm": "cancel_not_found"})
                        self.lock.notify_all()
                else:
                    event.set()

    def start(self, task):
        cancelled = threading.Event()
        with self.lock:
            self.running[task["id"]] = cancelled
        threading.Thread(target=self.execute, args=(task, cancelled), daemon=True).start()

    def execute(self, task, cancelled):
        function = FUNCTIONS.get(task["function"])
        report = None
        TASK_LOG.lines = []
        try:
            if function is None:
                raise RuntimeError("no function %s here" % task["function"])
            report = ("results", {"id": task["id"], "result": function(task.get("args"), cancelled)})
        except Cancelled:
            report = ("confirms", {"id": task["id"], "confirm": "canceled"})
        except Exception as error:  # the function failed: the task fails with this message
            report = ("results", {"id": task["id"], "error": {"message": "%s: %s" % (type(error).__name__, error)}})
            task_log(traceback.format_exc().rstrip())
        if report[0] == "results" and TASK_LOG.lines:
            report[1]["logs"] = TASK_LOG.lines
        TASK_LOG.lines = None
        with self.lock:
            del self.running[task["id"]]
            self.reports[report[0]].append(report[1])
            self.lock.notify_all()

    def has_reports(self):
        return bool(self.reports["results"] or self.reports["confirms"])

    def flusher(self):
        """Sends reports as soon as they exist, while the main loop's poll is parked (the newer poll answers the
        parked one at once, so no task is lost to it)."""
        while True:
            with self.lock:
                while not self.has_reports():
                    self.lock.wait()
            try:
                self.poll(0)
            except Gone:
                return
            except Exception as error:
                log("flush failed: %s" % error)
                time.sleep(0.2)

    def run(self):
        self.register()
        threading.Thread(target=self.flusher, daemon=True).start()
        delay = 0.1
        while True:
            with self.lock:
                idle = not self.running and not self.has_reports()
            if self.draining and idle:
                break
            try:
                # While draining with tasks left, keep polling: cancel requests still come.
                self.poll(0 if self.draining and idle else self.max_wait)
                delay = 0.1
            except Gone as gone:
                log("server forgot this worker (%s); registering again" % gone)
                with self.lock:
                    for event in self.running.values():
                        event.set()
                self.register()
            except Exception as error:
                log("poll failed: %s; retrying in %.1fs" % (error, delay))
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
        self.poll(0)  # the last reports, and the drain announcement
        try:
            self.request("DELETE", "/workers/%s" % self.worker_id)
        except Gone:
            pass
        log("left")


def log(message):
    print("worker.py: %s" % message, file=sys.stderr, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("TASKGATE_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--name", default="py-worker-%d" % os.getpid())
    parser.add_argument("--capacity", type=int, default=4)
    parser.add_argument("--lease", type=float, default=10.0)
    parser.add_argument(
        "--token", default=os.environ.get("TASKGATE_WORKER_TOKEN"), help="worker token (env TASKGATE_WORKER_TOKEN)"
    )
    options = parser.parse_args()
    worker = Worker(options.url, options.name, options.capacity, options.lease, options.token or None)

    def drain(signum, frame):
        log("draining")
        worker.draining = True

    signal.signal(signal.SIGTERM, drain)
    signal.signal(signal.SIGINT, drain)
    # A parent may have started us with these blocked (the mask survives exec): take them back.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    worker.run()


if __name__ == "__main__":
    main()
