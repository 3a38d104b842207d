import Foundation
import TaskGateTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A durable server on a real, small file system (a 4 MiB tmpfs, which needs root to mount): it fills up, the server
/// refuses new work with 507 and keeps serving reads, then recovers when the file system grows, and a restart finds
/// every task it acknowledged. Without root the same path is tested through the store's fault seam
/// (DurableGatewayTests).
@Suite(.timeLimit(.minutes(3)), .enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
struct FullDiskTests {

    static func shell(_ command: String) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        do { try process.run() } catch { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }

    static func start(_ directory: String) async throws -> (TestProcess, TestHTTPClient)? {
        try await startServe(["--data-dir", directory, "--workers", "0"], connections: 4)
    }

    @Test func aFullFileSystemRefusesWorkKeepsReadsRecoversAndLosesNothing() async throws {
        let root = makeTemporaryDirectory(prefix: "taskgate-full")
        defer { try? FileManager.default.removeItem(atPath: root) }
        guard Self.shell("mount -t tmpfs -o size=4m tmpfs \(root)") == 0 else {
            Issue.record("cannot mount a tmpfs at \(root) although running as root")
            return
        }
        defer { _ = Self.shell("umount -l \(root)") }
        let directory = root + "/store"
        guard let (process, client) = try await Self.start(directory) else { return }
        defer { process.signal(SIGKILL) }
        let args = "\"" + String(repeating: "x", count: 16_384) + "\""
        var acknowledged: [String] = []
        var refusal: TestResponse?
        for _ in 0..<2_000 {
            let response = try await client.post("/tasks", json: #"{"function":"echo","args":\#(args)}"#)
            if response.status == 202, let id = response.json["id"] as? String {
                acknowledged.append(id)
                continue
            }
            guard response.status == 507 || response.status == 503 else {
                Issue.record("a submission to a filling disk answered \(response.status): \(response.text)")
                break
            }
            if response.status == 507 {
                refusal = response
                break
            }
        }
        let refused = try #require(refusal, "4 MiB never filled: \(acknowledged.count) tasks of 16 KiB accepted")
        #expect(refused.json["code"] as? String == "insufficient_storage")
        #expect(refused.headers["retry-after"] != nil)
        #expect(acknowledged.count > 50)
        // Reads go on.
        let read = try await client.request("GET", "/tasks/\(acknowledged[0])")
        #expect(read.status == 200)
        let stats = try await client.request("GET", "/stats")
        #expect((stats.json["store"] as? [String: Any])?["healthy"] as? Bool == false)
        // Space returns: the server takes work again by itself.
        #expect(Self.shell("mount -o remount,size=64m \(root)") == 0)
        var recovered = false
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let response = try await client.post("/tasks", json: #"{"function":"echo","args":1}"#)
            if response.status == 202, let id = response.json["id"] as? String {
                acknowledged.append(id)
                recovered = true
                break
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(recovered, "the server did not take work again after space returned")
        try await client.shutdown()
        // Nothing acknowledged was lost: a restart after kill -9 answers every one.
        process.signal(SIGKILL)
        _ = await process.waitForExit()
        guard let (again, reader) = try await Self.start(directory) else { return }
        defer { again.signal(SIGKILL) }
        var missing: [String] = []
        for id in acknowledged where try await reader.request("GET", "/tasks/\(id)").status != 200 {
            missing.append(id)
        }
        #expect(missing.isEmpty, "\(missing.count) of \(acknowledged.count) acknowledged tasks lost")
        try await reader.shutdown()
    }
}
