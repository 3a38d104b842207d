import Foundation
import Synchronization
import TaskGateTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A worker process for live tests: `.build/debug/taskgate worker …` or the Python example. Its stderr is read as
/// it comes, so a test can wait for a line (no sleeping).
final class WorkerProcess: Sendable {
    private struct Output {
        var text = ""
        var closed = false
        var waiters: [(String, CheckedContinuation<Bool, Never>)] = []
    }

    private let process: Process
    private let output = Mutex(Output())
    private struct Exit {
        var status: Int32?
        var waiters: [CheckedContinuation<Int32, Never>] = []
    }

    /// The exit status once reaped (a reaped pid may belong to another process: it is never signalled again).
    private let exit = Mutex(Exit())

    /// `.build/debug/taskgate`, built by `swift build --build-tests` (what `make test` runs first).
    static var taskgate: URL { repository.appendingPathComponent(".build/debug/taskgate") }

    static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    init(executable: URL, arguments: [String]) throws {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let stderr = Pipe()
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        self.process = process
        process.terminationHandler = { [self] process in
            let status =
                process.terminationReason == .uncaughtSignal
                ? 128 + process.terminationStatus : process.terminationStatus
            let waiters = exit.withLock { exit in
                exit.status = status
                defer { exit.waiters.removeAll() }
                return exit.waiters
            }
            for waiter in waiters { waiter.resume(returning: status) }
        }
        try process.run()
        let handle = stderr.fileHandleForReading
        let thread = Thread { [self] in
            while true {
                let data = handle.availableData
                let ready = self.output.withLock { output -> [CheckedContinuation<Bool, Never>] in
                    if data.isEmpty {
                        output.closed = true
                    } else {
                        output.text += String(decoding: data, as: UTF8.self)
                    }
                    var ready: [CheckedContinuation<Bool, Never>] = []
                    output.waiters.removeAll { text, continuation in
                        guard output.closed || output.text.contains(text) else { return false }
                        ready.append(continuation)
                        return true
                    }
                    return ready
                }
                for continuation in ready { continuation.resume(returning: !data.isEmpty) }
                if data.isEmpty { return }
            }
        }
        thread.start()
    }

    /// `taskgate worker --connect url …`, once it has registered.
    static func taskgate(_ url: String, _ arguments: [String]) async throws -> WorkerProcess {
        guard FileManager.default.isExecutableFile(atPath: taskgate.path) else {
            throw TestFailure("\(taskgate.path) is missing: run `swift build --build-tests` (make test does)")
        }
        let worker = try WorkerProcess(executable: taskgate, arguments: ["worker", "--connect", url] + arguments)
        guard await worker.waitFor("worker registered") else {
            throw TestFailure("the worker exited before registering: \(worker.stderr)")
        }
        return worker
    }

    /// Waits until stderr contains `text`; false if the process closed stderr (exited) first.
    func waitFor(_ text: String) async -> Bool {
        await withCheckedContinuation { continuation in
            let answer = output.withLock { output -> Bool? in
                if output.text.contains(text) { return true }
                if output.closed { return false }
                output.waiters.append((text, continuation))
                return nil
            }
            if let answer { continuation.resume(returning: answer) }
        }
    }

    var stderr: String { output.withLock { $0.text } }

    var pid: Int32 { process.processIdentifier }

    func signal(_ signal: Int32) {
        exit.withLock { exit in
            if exit.status == nil { kill(process.processIdentifier, signal) }
        }
    }

    /// Waits for the process to exit and returns its exit status (128 + n when killed by signal n), as Foundation's
    /// termination handler reports it.
    func waitForExit() async -> Int32 {
        await withCheckedContinuation { continuation in
            let status = exit.withLock { exit -> Int32? in
                if let status = exit.status { return status }
                exit.waiters.append(continuation)
                return nil
            }
            if let status { continuation.resume(returning: status) }
        }
    }

    /// SIGKILL unless it exited, then wait.
    func stop() async {
        signal(SIGKILL)
        _ = await waitForExit()
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
