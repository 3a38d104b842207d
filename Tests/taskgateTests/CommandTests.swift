import Foundation
import TaskGateHTTP
import TaskGateTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The `taskgate serve` executable as a process: its first line, and the drain on SIGTERM.
@Suite(.timeLimit(.minutes(2))) struct ServeCommandTests {
    @Test func sigtermAnswersParkedLongPollsWithTheCurrentStateAndExitsZero() async throws {
        let process = try TestProcess(taskgate: [
            "serve", "--durability", "memory", "--port", "0", "--workers", "1", "--drain-grace", "0.5",
        ])
        guard await process.waitForStdout("\n") else {
            Issue.record("serve exited before listening: \(process.stderr)")
            return
        }
        let firstLine = String(process.stdout.prefix { $0 != "\n" })
        let match = try #require(firstLine.wholeMatch(of: /listening on http:\/\/127\.0\.0\.1:(\d+)/))
        let client = TestHTTPClient(baseURL: "http://127.0.0.1:\(match.1)")
        defer { process.signal(SIGKILL) }

        // Runs far longer than the test: the drain answers the parked poll with `running`, then cancels it after
        // the grace period.
        let submitted = try await client.post("/tasks", json: #"{"function":"sleep","args":{"seconds":600}}"#)
        let id = try #require(submitted.json["id"] as? String)
        async let parked = client.request("GET", "/tasks/\(id)?wait=60")
        // The SIGTERM must find the long-poll parked: ask the server (each check is a round trip), for at most 30 s.
        let parkedRequests = try await awaitStat(client, "parked_requests", equals: 1)
        try #require(parkedRequests == 1, "the long-poll was not parked within 30 s")
        process.signal(SIGTERM)
        let answer = try await parked
        #expect(answer.status == 200)
        #expect(answer.json["state"] as? String == "running")
        #expect(await process.waitForExit() == 0)
        try await client.shutdown()
    }
}

/// `serve` drains with an event stream open: the stream ends cleanly and the process exits 0.
@Suite(.timeLimit(.minutes(2))) struct ServeEventStreamDrainTests {
    @Test func sigtermEndsOpenEventStreamsAndExitsZero() async throws {
        guard
            let (process, client) = try await startServe(["--durability", "memory", "--workers", "1"], connections: 4)
        else { return }
        defer { process.signal(SIGKILL) }
        // The in-process slot registers as its service starts, maybe after the port opened; a stream opened before
        // that would rightly get its `joined` event.
        let workers = try await awaitStat(client, "workers", equals: 1)
        try #require(workers == 1, "the in-process slot did not register within 30 s")
        let opened = try await client.events("/events")
        #expect(opened.status == 200)
        let streams = try await awaitStat(client, "event_streams", equals: 1)
        try #require(streams == 1, "the stream was not open within 30 s")
        process.signal(SIGTERM)
        // A heartbeat comment may come first on a slow machine (every 15 s); no event may.
        var events: [TestEvent] = []
        for try await event in opened.events where event.event != ":" { events.append(event) }
        #expect(events.isEmpty, "the stream ended without an event: \(events)")
        #expect(await process.waitForExit() == 0)
        try await client.shutdown()
    }
}

/// The client subcommands (`submit`, `get`, `wait`, `cancel`) against a live server.
@Suite(.timeLimit(.minutes(2))) struct ClientCommandTests {
    /// Runs `taskgate ARGS` and returns its exit status and standard output.
    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> (
        status: Int32, output: String
    ) {
        let process = try TestProcess(taskgate: arguments, environment: environment)
        let status = await process.finish()
        return (status, process.stdout)
    }

    static func object(_ line: some StringProtocol) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:]
    }

    @Test func submitGetWaitAndCancelPrintJSON() async throws {
        try await withLiveServer(functions: TestFunctions.gated) { server, _ in
            let url = ["--url", server.baseURL]
            let submitted = try await Self.run(["submit", "echo", #"{"a":1}"#, "--wait", "10"] + url)
            #expect(submitted.status == 0)
            let task = Self.object(submitted.output)
            #expect(task["state"] as? String == "succeeded")
            #expect(task["result"] as? [String: Int] == ["a": 1])
            let id = try #require(task["id"] as? String)

            // TASKGATE_URL stands in for --url.
            let got = try await Self.run(["get", id], environment: ["TASKGATE_URL": server.baseURL])
            #expect(Self.object(got.output)["id"] as? String == id)

            let parked = Self.object(try await Self.run(["submit", "park", #""cli""#] + url).output)
            let parkedID = try #require(parked["id"] as? String)
            await Gates.shared.wait("started:\"cli\"")
            let waited = try await Self.run(["wait", id, parkedID, "--timeout", "0.2"] + url)
            let lines = waited.output.split(separator: "\n").map(Self.object)
            #expect(lines.map { $0["id"] as? String } == [id, parkedID])
            #expect(lines.map { $0["state"] as? String } == ["succeeded", "running"])

            let cancelled = Self.object(try await Self.run(["cancel", parkedID] + url).output)
            #expect(cancelled["cancelled"] as? Bool == true)
            #expect((cancelled["task"] as? [String: Any])?["state"] as? String == "canceled")

            #expect(try await Self.run(["get", "0000000000000099"] + url).status == 1)
            #expect(try await Self.run(["submit", "echo", "not json"] + url).status != 0)
        }
    }
}

/// `serve`'s tokens as a process: the refusal to serve a network without one, and rotation by SIGHUP.
@Suite(.timeLimit(.minutes(2))) struct ServeAuthCommandTests {
    @Test func aNonLoopbackAddressWithoutATokenIsRefusedAtStart() async throws {
        let refused = try TestProcess(taskgate: [
            "serve", "--durability", "memory", "--host", "0.0.0.0", "--port", "0", "--workers", "0",
        ])
        #expect(await refused.finish() != 0)
        #expect(refused.stderr.contains("refusing to serve 0.0.0.0 without a token"))
        #expect(!refused.stdout.contains("listening"))
    }

    @Test func sighupRereadsTheTokenFileAndABadFileKeepsTheTokensInForce() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("taskgate-auth-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("tokens")
        try "client first\nworker w\n".write(to: file, atomically: true, encoding: .utf8)
        let process = try TestProcess(
            taskgate: ["serve", "--durability", "memory", "--port", "0", "--workers", "0", "--token-file", file.path])
        defer { process.signal(SIGKILL) }
        guard await process.waitForStdout("\n") else {
            Issue.record("serve exited before listening: \(process.stderr)")
            return
        }
        let firstLine = String(process.stdout.prefix { $0 != "\n" })
        let match = try #require(firstLine.wholeMatch(of: /listening on (http:\/\/127\.0\.0\.1:\d+)/))
        let client = TestHTTPClient(baseURL: String(match.1))
        func status(_ token: String?) async throws -> Int {
            try await client.request("GET", "/stats", headers: token.map { ["Authorization": "Bearer \($0)"] } ?? [:])
                .status
        }
        #expect(try await status(nil) == 401)
        #expect(try await status("first") == 200)
        #expect(try await client.request("GET", "/healthz").status == 200)

        try "client second\n".write(to: file, atomically: true, encoding: .utf8)
        process.signal(SIGHUP)
        #expect(await process.waitForStderr("tokens reloaded"), "\(process.stderr)")
        #expect(try await status("first") == 401)
        #expect(try await status("second") == 200)

        try "client second\nadmin oops\n".write(to: file, atomically: true, encoding: .utf8)
        process.signal(SIGHUP)
        #expect(await process.waitForStderr("tokens not reloaded"), "\(process.stderr)")
        #expect(try await status("second") == 200, "a bad file keeps the tokens in force")

        process.signal(SIGTERM)
        #expect(await process.waitForExit() == 0)
        try await client.shutdown()
    }
}

/// `taskgate health`, the image's HEALTHCHECK: exit 0 on a 200 from /healthz or /readyz, 1 otherwise, with no token.
@Suite(.timeLimit(.minutes(2))) struct HealthCommandTests {
    @Test func exitsZeroWhenTheServerAnswersAndOneWhenItDoesNot() async throws {
        try await withLiveServer { server, _ in
            // Auth on: the probes need no token.
            server.gateway.replaceTokens(AccessTokens(client: ["client-token"], worker: ["worker-token"]))
            // No --url and no TASKGATE_URL: 127.0.0.1 on TASKGATE_PORT, as in the image.
            let port = try #require(server.baseURL.split(separator: ":").last.map(String.init))
            let alive = try await ClientCommandTests.run(["health"], environment: ["TASKGATE_PORT": port])
            #expect(alive.status == 0)
            #expect(ClientCommandTests.object(alive.output)["status"] as? String == "ok")
            let ready = try await ClientCommandTests.run(["health", "--ready", "--url", server.baseURL])
            #expect(ready.status == 0)
            #expect(ClientCommandTests.object(ready.output)["status"] as? String == "ready")

            // Draining: alive, not ready.
            server.gateway.beginDrain()
            let draining = try TestProcess(taskgate: ["health", "--ready", "--url", server.baseURL])
            #expect(await draining.finish() == 1)
            #expect(draining.stderr.contains("draining"))
            #expect(try await ClientCommandTests.run(["health", "--url", server.baseURL]).status == 0)
        }
        // Nothing listening (port 1 is privileged and unused): exit 1 with the reason.
        let refused = try TestProcess(taskgate: ["health", "--timeout", "2"], environment: ["TASKGATE_PORT": "1"])
        #expect(await refused.finish() == 1)
        #expect(!refused.stderr.isEmpty)
        #expect(try await ClientCommandTests.run(["health", "--timeout", "0"]).status != 0)
    }

    /// The image runs as an unprivileged user. A socket option that needs a capability (the client once set
    /// SO_DEBUG by mistake, asking for TCP_NODELAY at the socket level) works as root and fails for everyone else.
    @Test func theClientConnectsAsAnUnprivilegedUser() async throws {
        try await withLiveServer { server, _ in
            var executable = TestProcess.taskgate
            var arguments = ["health", "--url", server.baseURL]
            if getuid() == 0 {
                // A copy any user may run (the build directory may not be readable by nobody), run as nobody.
                let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                    "taskgate-unprivileged-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(at: directory) }
                let copy = directory.appendingPathComponent("taskgate")
                try FileManager.default.copyItem(at: executable, to: copy)
                try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
                arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", copy.path] + arguments
                executable = URL(fileURLWithPath: "/usr/bin/setpriv")
                let probe = try TestProcess(executable: executable, arguments: arguments)
                #expect(await probe.finish() == 0, "as nobody: \(probe.stderr)")
            } else {
                let probe = try TestProcess(executable: executable, arguments: arguments)
                #expect(await probe.finish() == 0, "as uid \(getuid()): \(probe.stderr)")
            }
        }
    }
}
