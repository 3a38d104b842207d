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
