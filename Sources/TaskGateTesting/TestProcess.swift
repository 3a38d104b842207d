import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A child process for live tests (a `taskgate` command, a Python worker). It never outlives the test:
/// - it is started under `setpriv --pdeathsig KILL`, from a thread that lives as long as the test process, so the
///   kernel kills it when the test process dies, crash included;
/// - releasing the last reference (a test that throws, or forgets `stop()`) kills it with SIGKILL.
/// Its stdout and stderr are read as they come, so a test waits for a line instead of sleeping.
public final class TestProcess: Sendable {
    /// One output stream as read so far.
    final class Stream: Sendable {
        private struct State {
            var text = ""
            var closed = false
            var waiters: [(String, CheckedContinuation<Bool, Never>)] = []
        }
        private let state = Mutex(State())

        /// Reads `handle` to its end on a thread of its own.
        func drain(_ handle: FileHandle) {
            Thread.detachNewThread { [self] in
                while true {
                    let data = handle.availableData
                    let ready = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
                        if data.isEmpty {
                            state.closed = true
                        } else {
                            state.text += String(decoding: data, as: UTF8.self)
                        }
                        var ready: [CheckedContinuation<Bool, Never>] = []
                        state.waiters.removeAll { text, continuation in
                            guard state.closed || state.text.contains(text) else { return false }
                            ready.append(continuation)
                            return true
                        }
                        return ready
                    }
                    let found = !data.isEmpty
                    for continuation in ready { continuation.resume(returning: found) }
                    if data.isEmpty { return }
                }
            }
        }

        var text: String { state.withLock { $0.text } }

        func waitFor(_ text: String) async -> Bool {
            await withCheckedContinuation { continuation in
                let answer = state.withLock { state -> Bool? in
                    if state.text.contains(text) { return true }
                    if state.closed { return false }
                    state.waiters.append((text, continuation))
                    return nil
                }
                if let answer { continuation.resume(returning: answer) }
            }
        }

        /// Waits until the stream is closed.
        func waitForEnd() async { _ = await waitFor("\u{0}never\u{0}") }
    }

    /// The exit status once reaped, shared with the termination handler (so the handler does not keep the
    /// process object alive, and its deinit can kill the child).
    final class Exit: Sendable {
        private struct State {
            var status: Int32?
            var waiters: [CheckedContinuation<Int32, Never>] = []
        }
        private let state = Mutex(State())

        func record(_ status: Int32) {
            let waiters = state.withLock { state in
                state.status = status
                defer { state.waiters.removeAll() }
                return state.waiters
            }
            for waiter in waiters { waiter.resume(returning: status) }
        }

        /// Runs `body` while the status is known not to be recorded (a reaped pid may belong to another process).
        func ifRunning(_ body: () -> Void) { state.withLock { if $0.status == nil { body() } } }

        /// The exit status once recorded.
        var status: Int32? { state.withLock { $0.status } }

        func wait() async -> Int32 {
            await withCheckedContinuation { continuation in
                let status = state.withLock { state -> Int32? in
                    if let status = state.status { return status }
                    state.waiters.append(continuation)
                    return nil
                }
                if let status { continuation.resume(returning: status) }
            }
        }
    }

    private let process: Process
    private let out = Stream()
    private let err = Stream()
    private let exit = Exit()

    /// The repository checkout these tests run in.
    public static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// `.build/debug/taskgate`, built by `swift build --build-tests` (what `make test` runs first).
    public static var taskgate: URL { repository.appendingPathComponent(".build/debug/taskgate") }

    /// Starts `executable` with `arguments`; `environment` adds to (or overrides) the test's own.
    public init(executable: URL, arguments: [String], environment: [String: String] = [:]) throws {
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw TestProcessError("\(executable.path) is missing: run `swift build --build-tests` (make test does)")
        }
        let process = Process()
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--pdeathsig", "KILL", "--", executable.path] + arguments
        } else {
            process.executableURL = executable
            process.arguments = arguments
        }
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        let exit = exit
        process.terminationHandler = { process in
            exit.record(
                process.terminationReason == .uncaughtSignal
                    ? 128 + process.terminationStatus : process.terminationStatus)
        }
        self.process = process
        try SpawnThread.shared.run(process)
        out.drain(stdout.fileHandleForReading)
        err.drain(stderr.fileHandleForReading)
    }

    /// `taskgate ARGUMENTS` from this checkout's debug build.
    public convenience init(taskgate arguments: [String], environment: [String: String] = [:]) throws {
        try self.init(executable: Self.taskgate, arguments: arguments, environment: environment)
    }

    deinit {
        exit.ifRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// The process id.
    public var pid: Int32 { process.processIdentifier }
    /// Standard output so far.
    public var stdout: String { out.text }
    /// Standard error so far.
    public var stderr: String { err.text }

    /// Waits until stderr contains `text`; false if the process closed stderr (exited) first.
    public func waitForStderr(_ text: String) async -> Bool { await err.waitFor(text) }
    /// Waits until stdout contains `text`; false if the process closed stdout (exited) first.
    public func waitForStdout(_ text: String) async -> Bool { await out.waitFor(text) }

    /// Sends `signal` unless the process has been reaped.
    public func signal(_ signal: Int32) {
        exit.ifRunning { kill(process.processIdentifier, signal) }
    }

    /// Waits for the exit and returns its status (128 + n when killed by signal n).
    public func waitForExit() async -> Int32 { await exit.wait() }

    /// Waits at most `bound` for the exit; nil if the process is still running then (the caller reports it).
    public func waitForExit(within bound: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + bound
        while ContinuousClock.now < deadline {
            if let status = exit.status { return status }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return exit.status
    }

    /// Waits for the exit and for both streams to be read to their end.
    public func finish() async -> Int32 {
        let status = await exit.wait()
        await out.waitForEnd()
        await err.waitForEnd()
        return status
    }

    /// SIGKILL unless it exited, then waits.
    public func stop() async {
        signal(SIGKILL)
        _ = await waitForExit()
    }
}

/// Why a test process could not be started or used.
public struct TestProcessError: Error, CustomStringConvertible {
    /// What went wrong.
    public var description: String
    /// An error saying `description`.
    public init(_ description: String) { self.description = description }
}

/// One thread that lives as long as the test process and starts every child: the kernel's parent-death signal
/// fires when the thread that forked the child ends, and a pool thread may end long before the test does.
final class SpawnThread: Sendable {
    static let shared = SpawnThread()

    private let jobs = Mutex<[(Process, @Sendable (Result<Void, any Error>) -> Void)]>([])
    private let ready = DispatchSemaphore(value: 0)

    private init() {
        let thread = Thread { [self] in
            while true {
                ready.wait()
                let job = jobs.withLock { $0.isEmpty ? nil : $0.removeFirst() }
                guard let (process, reply) = job else { continue }
                do {
                    try process.run()
                    reply(.success(()))
                } catch {
                    reply(.failure(error))
                }
            }
        }
        thread.name = "taskgate-test-spawn"
        thread.start()
    }

    /// Runs `process` on the spawn thread and waits until it has started (or failed to).
    func run(_ process: Process) throws {
        let done = DispatchSemaphore(value: 0)
        let outcome = Mutex<Result<Void, any Error>?>(nil)
        jobs.withLock {
            $0.append(
                (
                    process,
                    { result in
                        outcome.withLock { $0 = result }
                        done.signal()
                    }
                ))
        }
        ready.signal()
        done.wait()
        try outcome.withLock { $0 }?.get()
    }
}
