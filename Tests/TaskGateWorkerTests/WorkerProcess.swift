import Foundation
import TaskGateTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Worker processes for live tests are `TestProcess`es: they die with the test process and when released.
typealias WorkerProcess = TestProcess

extension TestProcess {
    /// `taskgate worker --connect url …`, once it has registered.
    static func taskgate(_ url: String, _ arguments: [String], environment: [String: String] = [:]) async throws
        -> TestProcess
    {
        let worker = try TestProcess(taskgate: ["worker", "--connect", url] + arguments, environment: environment)
        guard await worker.waitForStderr("worker registered") else {
            throw TestFailure("the worker exited before registering: \(worker.stderr)")
        }
        return worker
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A named pipe a command writes its pid into: reading it blocks until the command has really started.
struct PIDChannel {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("taskgate-pid-\(UUID().uuidString)").path
        guard mkfifo(path, 0o600) == 0 else { throw TestFailure("mkfifo failed: \(errno)") }
    }

    /// The next pid written (blocks a dispatch thread, not the test's).
    func read() async -> Int32? {
        let path = path
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                // open blocks until the command opens its end; read until it closes it.
                let fd = open(path, O_RDONLY)
                var bytes: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 64)
                while fd >= 0 {
                    let count = Glibc.read(fd, &buffer, buffer.count)
                    if count <= 0 { break }
                    bytes += buffer[0..<count]
                }
                if fd >= 0 { close(fd) }
                let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                continuation.resume(returning: Int32(text))
            }
        }
    }

    func remove() { unlink(path) }
}

/// Whether a process with this pid exists (a zombie counts as gone: it no longer runs).
func processExists(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    let status = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
    return !status.contains(") Z ")
}
