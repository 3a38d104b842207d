import Foundation
import TaskGateHTTP
import TaskGateTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `taskgate serve` under a lowered open-file limit (256), attacked with more connections than it has descriptors:
/// it must refuse what does not fit, stay up, keep every accepted task, and serve again once the attack stops.
@Suite(.timeLimit(.minutes(2))) struct ResourceLimitCommandTests {
    @Test func descriptorExhaustionIsRefusedAndEveryAcceptedTaskSurvives() async throws {
        _ = ResourceBudget.raisingOpenFileLimit()  // this test holds 600 sockets itself
        let process = try TestProcess(
            executable: URL(fileURLWithPath: "/bin/sh"),
            arguments: [
                "-c", "ulimit -n 256 && exec \"$0\" serve --durability memory --port 0 --workers 0",
                TestProcess.taskgate.path,
            ])
        defer { process.signal(SIGKILL) }
        guard await process.waitForStdout("\n") else {
            Issue.record("serve exited before listening: \(process.stderr)")
            return
        }
        let firstLine = String(process.stdout.prefix { $0 != "\n" })
        let match = try #require(firstLine.wholeMatch(of: /listening on http:\/\/127\.0\.0\.1:(\d+)/))
        let port = try #require(Int(match.1))
        let client = TestHTTPClient(baseURL: "http://127.0.0.1:\(port)")

        // No in-process workers: the accepted tasks stay pending through the attack.
        var accepted: [String] = []
        for index in 0..<5 {
            let response = try await client.request(
                "POST", "/tasks", headers: ["Content-Type": "application/json"],
                body: Array(#"{"function":"echo","args":\#(index)}"#.utf8), timeout: .seconds(10))
            accepted.append(try #require(response.json["id"] as? String))
        }
        try await client.shutdown()

        // 400 idle connections (twice the connection limit), then 200 long-polls that hang up at once.
        // A connection the server's backlog cannot take is refused (or times out): that is a refusal too, and the
        // attack stops after 40 s whatever happened.
        let attackEnds = ContinuousClock.now + .seconds(40)
        var idle: [RawConnection] = []
        for _ in 0..<400 where ContinuousClock.now < attackEnds {
            if let connection = try? RawConnection(port: port, timeout: 2) { idle.append(connection) }
        }
        for _ in 0..<200 where ContinuousClock.now < attackEnds {
            let connection = try? RawConnection(port: port, timeout: 2)
            try? connection?.send("GET /tasks/\(accepted[0])?wait=60 HTTP/1.1\r\nHost: x\r\n\r\n")
            connection?.close()
        }
        for connection in idle { connection.close() }
        idle = []

        // Still up, every accepted task intact, and nothing left parked once the backlog has drained.
        let after = TestHTTPClient(baseURL: "http://127.0.0.1:\(port)")
        var parked = -1
        let deadline = ContinuousClock.now + .seconds(30)
        while parked != 0 && ContinuousClock.now < deadline {
            parked =
                (try? await after.request("GET", "/stats", timeout: .seconds(10)).json["parked_requests"] as? Int) ?? -1
            if parked != 0 { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(parked == 0, "the hung-up long-polls were released; stderr: \(process.stderr.suffix(2_000))")
        for id in accepted {
            let task = try await after.request("GET", "/tasks/\(id)", timeout: .seconds(10))
            #expect(task.status == 200)
            #expect(task.json["state"] as? String == "pending")
        }
        #expect(!process.stderr.contains("Fatal error"), "\(process.stderr.suffix(2_000))")
        #expect(process.stderr.contains("limits.connections=192"), "256 descriptors less a reserve of 64")
        process.signal(SIGTERM)
        let status = await process.waitForExit(within: .seconds(30))
        #expect(status == 0, "SIGTERM drains and exits 0; stderr: \(process.stderr.suffix(2_000))")
        try await after.shutdown()
    }
}
