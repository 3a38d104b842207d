import Foundation
import TaskGateTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The `taskgate serve` executable as a process: its first line, and the drain on SIGTERM.
@Suite(.timeLimit(.minutes(2))) struct ServeCommandTests {
    /// `.build/debug/taskgate`, built by `swift build --build-tests` (what `make test` runs first).
    static var binary: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/taskgate")
    }

    @Test func sigtermAnswersParkedLongPollsWithTheCurrentStateAndExitsZero() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary.path) else {
            Issue.record("\(Self.binary.path) is missing: run `swift build --build-tests` (make test does)")
            return
        }
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = ["serve", "--port", "0", "--workers", "1", "--drain-grace", "0.5"]
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let firstLine = try Self.readLine(stdout.fileHandleForReading)
        let match = try #require(firstLine.wholeMatch(of: /listening on http:\/\/127\.0\.0\.1:(\d+)/))
        let client = TestHTTPClient(baseURL: "http://127.0.0.1:\(match.1)")

        // Runs far longer than the test: the drain answers the parked poll with `running`, then cancels it after
        // the grace period.
        let submitted = try await client.post("/tasks", json: #"{"function":"sleep","args":{"seconds":600}}"#)
        let id = try #require(submitted.json["id"] as? String)
        async let parked = client.request("GET", "/tasks/\(id)?wait=60")
        var spins = 0
        while spins < 10_000, (try await client.request("GET", "/stats").json["parked_requests"] as? Int) != 1 {
            spins += 1
            await Task.yield()
        }
        kill(process.processIdentifier, SIGTERM)
        let answer = try await parked
        #expect(answer.status == 200)
        #expect(answer.json["state"] as? String == "running")
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                process.waitUntilExit()
                continuation.resume()
            }
        }
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)
        try await client.shutdown()
    }

    static func readLine(_ handle: FileHandle) throws -> String {
        var bytes: [UInt8] = []
        while true {
            let chunk = try handle.read(upToCount: 1) ?? Data()
            guard let byte = chunk.first, byte != UInt8(ascii: "\n") else { break }
            bytes.append(byte)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// The client subcommands (`submit`, `get`, `wait`, `cancel`) against a live server.
@Suite(.timeLimit(.minutes(2))) struct ClientCommandTests {
    /// Runs `taskgate ARGS` and returns its exit status and standard output.
    static func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = ServeCommandTests.binary
        process.arguments = arguments
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        let output = try stdout.fileHandleForReading.readToEnd() ?? Data()
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                process.waitUntilExit()
                continuation.resume()
            }
        }
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    static func object(_ line: some StringProtocol) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:]
    }

    @Test func submitGetWaitAndCancelPrintJSON() async throws {
        guard FileManager.default.isExecutableFile(atPath: ServeCommandTests.binary.path) else {
            Issue.record(
                "\(ServeCommandTests.binary.path) is missing: run `swift build --build-tests` (make test does)")
            return
        }
        let server = try LiveServer(functions: TestFunctions.gated)
        let url = ["--url", server.baseURL]
        let submitted = try await Self.run(["submit", "echo", #"{"a":1}"#, "--wait", "10"] + url)
        #expect(submitted.status == 0)
        let task = Self.object(submitted.output)
        #expect(task["state"] as? String == "succeeded")
        #expect(task["result"] as? [String: Int] == ["a": 1])
        let id = try #require(task["id"] as? String)

        let got = try await Self.run(["get", id] + url)
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
        await server.shutdown()
    }
}
