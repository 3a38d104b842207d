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

/// A file a command writes its pid into (`echo $$ > path`): `read` waits until the command has really started.
/// It polls, with a deadline: a named pipe's `open` blocked for ever when the command never ran (a task failed
/// before its worker started it, on a loaded machine), and the whole test run hung behind it.
struct PIDChannel {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("taskgate-pid-\(UUID().uuidString)").path
    }

    /// The pid written, once a whole line is there; nil after `bound` without one.
    func read(bound: Duration = .seconds(60)) async -> Int32? {
        let deadline = ContinuousClock.now + bound
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOfFile: path, encoding: .utf8), text.hasSuffix("\n"),
                let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                return pid
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    func remove() { unlink(path) }
}

/// Whether a process with this pid exists (a zombie counts as gone: it no longer runs).
func processExists(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    let status = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
    return !status.contains(") Z ")
}
