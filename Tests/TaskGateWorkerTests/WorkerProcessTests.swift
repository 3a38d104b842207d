import Foundation
import TaskGateTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `taskgate worker` processes against a live server: death by SIGKILL, `--exec` commands and their cancel, drain.
@Suite(.timeLimit(.minutes(2))) struct WorkerProcessTests {
    /// Attempt 1 reports its pid and blocks; later attempts answer at once. The killed worker's lease is 3 s: on
    /// a loaded machine a 1 s lease can run out while the worker lives, which re-runs the task one more time.
    static func stepCommand(_ channel: PIDChannel) -> String {
        #"cat >/dev/null; if [ "$TASKGATE_ATTEMPT" = 1 ]; then echo $$ > "# + channel.path
            + #"; exec sleep 60; fi; echo "\"attempt $TASKGATE_ATTEMPT\"""#
    }

    @Test func aWorkerKilledMidTaskIsDeclaredDeadAndTheTaskSucceedsElsewhereWithAttempt2() async throws {
        try await withLiveServer { server, client in
            let channel = try PIDChannel()
            defer { channel.remove() }
            let first = try await WorkerProcess.taskgate(
                server.baseURL, ["--exec", "step=\(Self.stepCommand(channel))", "--lease", "3", "--name", "first"])
            let id = try await client.submit("step")
            let child = try #require(await channel.read())
            defer { kill(child, SIGKILL) }
            first.signal(SIGKILL)
            _ = await first.waitForExit()
            let second = try await WorkerProcess.taskgate(
                server.baseURL, ["--exec", "step=\(Self.stepCommand(channel))", "--name", "second"])
            let task = try await client.finished(id)
            #expect(task["state"] as? String == "succeeded")
            // Attempt 2 ran on the second worker. On a machine loaded enough that the first worker's 3 s lease ran
            // out while it lived, it registered again and took attempt 2 before the kill: then attempt 3 did.
            let attempt = try #require(task["attempt"] as? Int)
            #expect(attempt == 2 || attempt == 3)
            #expect(task["result"] as? String == "attempt \(attempt)")
            await second.stop()
        }
    }

    @Test func withMaxRetriesZeroAKilledWorkersTaskFailsWithWorkerDied() async throws {
        try await withLiveServer { server, client in
            let channel = try PIDChannel()
            defer { channel.remove() }
            let worker = try await WorkerProcess.taskgate(
                server.baseURL, ["--exec", "step=\(Self.stepCommand(channel))", "--lease", "3"])
            let id = try await client.submit("step", extra: ",\"max_retries\":0")
            let child = try #require(await channel.read())
            defer { kill(child, SIGKILL) }
            worker.signal(SIGKILL)
            let task = try await client.finished(id)
            #expect(task["state"] as? String == "failed")
            #expect((task["error"] as? [String: Any])?["code"] as? String == "worker_died")
            await worker.stop()
        }
    }

    @Test func cancelOfARunningCommandAnswers200AndTheProcessGroupIsGone() async throws {
        try await withLiveServer { server, client in
            let channel = try PIDChannel()
            defer { channel.remove() }
            // The shell starts a child of its own: the whole group must go, not just the shell.
            let command = "cat >/dev/null; sleep 60 & echo $! > \(channel.path); wait"
            let worker = try await WorkerProcess.taskgate(server.baseURL, ["--exec", "hang=\(command)"])
            let id = try await client.submit("hang")
            let grandchild = try #require(await channel.read())
            #expect(processExists(grandchild))
            let answer = try await client.request("DELETE", "/tasks/\(id)?wait=10")
            #expect(answer.status == 200)
            #expect(answer.json["state"] as? String == "canceled")
            #expect((answer.json["cancel"] as? [String: Any])?["confirm"] as? String == "canceled")
            #expect(!processExists(grandchild), "the command's child outlived the cancel")
            await worker.stop()
        }
    }

    @Test func aCommandGetsAMinimalEnvironmentWithTheTraceContext() async throws {
        try await withLiveServer { server, client in
            // The names of the command's environment, as one JSON string.
            let command = #"cat >/dev/null; printf '"%s"' "$(env | cut -d= -f1 | sort | tr '\n' ' ')""#
            let worker = try await WorkerProcess.taskgate(
                server.baseURL, ["--exec", "env=\(command)", "--env", "KEEP_ME"],
                environment: [
                    "TASKGATE_WORKER_TOKEN": "", "DATABASE_PASSWORD": "hunter2", "KEEP_ME": "yes",
                    "TASKGATE_URL": server.baseURL,
                ])
            let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            let submitted = try await client.post(
                "/tasks", json: #"{"function":"env","args":null}"#, headers: ["traceparent": traceparent])
            let id = try #require(submitted.json["id"] as? String)
            let task = try await client.finished(id)
            let names = Set(((task["result"] as? String) ?? "").split(separator: " ").map(String.init))
            for expected in ["PATH", "HOME", "TASKGATE_TASK_ID", "TASKGATE_FUNCTION", "TASKGATE_ATTEMPT", "KEEP_ME"] {
                #expect(names.contains(expected), "\(expected) missing from \(names)")
            }
            #expect(names.contains("TRACEPARENT"), "the task's trace context reaches the command: \(names)")
            for secret in ["DATABASE_PASSWORD", "TASKGATE_WORKER_TOKEN", "TASKGATE_URL"] {
                #expect(!names.contains(secret), "\(secret) leaked into the command")
            }
            await worker.stop()
        }
    }

    @Test func aCommandAndItsChildrenDieWithTheirWorker() async throws {
        try await withLiveServer { server, client in
            let channel = try PIDChannel()
            defer { channel.remove() }
            // The shell starts a child, reports it, and waits: both must go when the worker is SIGKILLed.
            let command = "cat >/dev/null; sleep 60 & echo $! > \(channel.path); wait"
            let worker = try await WorkerProcess.taskgate(server.baseURL, ["--exec", "hang=\(command)"])
            _ = try await client.submit("hang")
            let grandchild = try #require(await channel.read())
            defer { kill(grandchild, SIGKILL) }
            #expect(processExists(grandchild))
            worker.signal(SIGKILL)
            _ = await worker.waitForExit()
            let deadline = ContinuousClock.now + .seconds(20)
            while processExists(grandchild) && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(!processExists(grandchild), "the command outlived its worker")
        }
    }

    @Test func aCommandThatIgnoresSigtermIsKilledAfterTheGrace() async throws {
        try await withLiveServer { server, client in
            let channel = try PIDChannel()
            defer { channel.remove() }
            // The shell and its child ignore SIGTERM (an ignored signal is inherited): only SIGKILL stops them.
            let command = "cat >/dev/null; trap '' TERM; sleep 60 & echo $! > \(channel.path); wait"
            let worker = try await WorkerProcess.taskgate(
                server.baseURL, ["--exec", "deaf=\(command)", "--kill-grace", "0.3"])
            let id = try await client.submit("deaf")
            let grandchild = try #require(await channel.read())
            let answer = try await client.request("DELETE", "/tasks/\(id)?wait=10")
            #expect(answer.status == 200)
            #expect(answer.json["state"] as? String == "canceled")
            #expect(!processExists(grandchild), "SIGKILL after the grace did not reach the command's child")
            await worker.stop()
        }
    }

    @Test func commandsSucceedWithTheirStdoutAndFailWithTheirExitStatusAndStderr() async throws {
        try await withLiveServer { server, client in
            let worker = try await WorkerProcess.taskgate(
                server.baseURL,
                [
                    "--exec", "count=wc -c | tr -d ' \\n'", "--exec",
                    "broken=cat >/dev/null; echo 'no luck' >&2; exit 7",
                    "--exec", "prose=cat >/dev/null; echo not json",
                ])
            let counted = try await client.finished(try await client.submit("count", #"{"text":"hello"}"#))
            #expect(counted["state"] as? String == "succeeded")
            #expect(counted["result"] as? Int == 16)
            let broken = try await client.finished(try await client.submit("broken"))
            #expect(broken["state"] as? String == "failed")
            let detail = (broken["error"] as? [String: Any])?["detail"] as? String ?? ""
            #expect(detail.contains("status 7") && detail.contains("no luck"))
            let prose = try await client.finished(try await client.submit("prose"))
            #expect(prose["state"] as? String == "failed")
            await worker.stop()
        }
    }

    /// A command's stderr, whatever the outcome, is kept with the task and shown with its attempts.
    @Test func aCommandsStderrIsTheTasksLogWithTheWorkerThatRanIt() async throws {
        try await withLiveServer { server, client in
            let worker = try await WorkerProcess.taskgate(
                server.baseURL,
                [
                    "--name", "logger", "--exec",
                    "chatty=cat >/dev/null; echo 'starting' >&2; printf 'step 1\\nstep 2\\n' >&2; echo 42",
                    "--exec", "grumpy=cat >/dev/null; echo 'cannot go on' >&2; exit 3",
                ])
            for (function, state, lines) in [
                ("chatty", "succeeded", ["starting", "step 1", "step 2"]), ("grumpy", "failed", ["cannot go on"]),
            ] {
                let id = try await client.submit(function)
                let task = try await client.finished(id)
                #expect(task["state"] as? String == state)
                let logs = try await client.request("GET", "/tasks/\(id)/logs")
                #expect(logs.status == 200, "\(logs.text)")
                let kept = (logs.json["lines"] as? [[String: Any]] ?? []).map { $0["text"] as? String ?? "" }
                #expect(kept == lines, "\(function)")
                let attempts = logs.json["attempts"] as? [[String: Any]] ?? []
                #expect(attempts.count == 1 && attempts.first?["worker_name"] as? String == "logger")
                #expect(
                    attempts.first?["outcome"] as? String == (state == "succeeded" ? "succeeded" : "function_error"))
                #expect(attempts.first?["run_s"] is Double && attempts.first?["queue_wait_s"] is Double)
            }
            let missing = try await client.request("GET", "/tasks/0000000000000001/logs")
            #expect(missing.status == 404)
            await worker.stop()
        }
    }

    @Test func sigtermDrainsFinishesTheRunningTaskAndLeaves() async throws {
        try await withLiveServer { server, client in
            let channel = try PIDChannel()
            defer { channel.remove() }
            let worker = try await WorkerProcess.taskgate(
                server.baseURL, ["--exec", "brief=cat >/dev/null; echo $$ > \(channel.path); sleep 0.5; echo 1"])
            let id = try await client.submit("brief")
            _ = await channel.read()
            worker.signal(SIGTERM)
            let status = await worker.waitForExit()
            #expect(status == 0)
            let task = try await client.request("GET", "/tasks/\(id)").json
            #expect(task["state"] as? String == "succeeded", "the drain let the running task finish")
            let workers = try await client.request("GET", "/workers").json["workers"] as? [[String: Any]] ?? []
            #expect(!workers.contains { $0["kind"] as? String == "remote" }, "the worker left")
        }
    }

    @Test func thePythonExampleWorkerCompletesTasksAndConfirmsCancels() async throws {
        try await withLiveServer { server, client in
            let script = WorkerProcess.repository.appendingPathComponent("examples/python-worker/worker.py")
            let worker = try WorkerProcess(
                executable: URL(fileURLWithPath: "/usr/bin/env"),
                arguments: ["python3", script.path, "--url", server.baseURL, "--lease", "4"])
            guard await worker.waitForStderr("registered as") else {
                Issue.record("the Python worker did not register: \(worker.stderr)")
                return
            }
            let upper = try await client.finished(try await client.submit("py.upper", #"{"text":"taskgate"}"#))
            #expect(upper["result"] as? String == "TASKGATE")
            let sumID = try await client.submit("py.sum", "[1,2,3.5]")
            let sum = try await client.finished(sumID)
            #expect(sum["result"] as? Double == 6.5)
            // Its log line, sent with the result.
            let sumLogs = try await client.request("GET", "/tasks/\(sumID)/logs").json["lines"] as? [[String: Any]]
            #expect(sumLogs?.map { $0["text"] as? String } == ["summing 3 numbers"])
            let failedID = try await client.submit("py.fail", "1")
            let failed = try await client.finished(failedID)
            #expect((failed["error"] as? [String: Any])?["code"] as? String == "function_error")
            let failedLogs =
                try await client.request("GET", "/tasks/\(failedID)/logs").json["lines"] as? [[String: Any]]
            #expect(failedLogs?.first?["text"] as? String == "Traceback (most recent call last):")
            let sleeping = try await client.submit("py.sleep", #"{"seconds":60}"#)
            _ = try await client.task(sleeping) { $0["state"] as? String == "running" }
            let cancel = try await client.request("DELETE", "/tasks/\(sleeping)?wait=10")
            #expect(cancel.status == 200)
            #expect((cancel.json["cancel"] as? [String: Any])?["confirm"] as? String == "canceled")
            worker.signal(SIGTERM)
            #expect(await worker.waitForExit() == 0)
            #expect(worker.stderr.contains("left"))
        }
    }
}
