import TaskGateAPI

#if canImport(Glibc)
    import Glibc
#endif

/// Runs an allow-listed command per task: `/bin/sh -c command` in its own process group, with the args JSON on
/// stdin and a minimal environment: `PATH` and `HOME` (the worker's, or `/usr/local/bin:/usr/bin:/bin` and `/`),
/// `TASKGATE_TASK_ID`, `TASKGATE_FUNCTION`, `TASKGATE_ATTEMPT`, `TRACEPARENT` when the task carries one, and the
/// variables the operator passes on by name (`--env NAME`) — never the worker's tokens or anything else of its
/// environment. Exit 0 with one JSON value on stdout succeeds with that value; anything else fails the task with
/// the exit status and the tail of stderr. A cancel sends SIGTERM to the group, then SIGKILL after `killGrace`;
/// the run ends only once the command has exited and been reaped. If the worker dies, the group is killed.
public struct CommandHandler: Sendable {
    /// The shell command line (from the operator, never from a task).
    public var command: String
    /// How long the group has between SIGTERM and SIGKILL.
    public var killGrace: Duration = .seconds(2)
    /// The most stdout kept; more fails the task.
    public var maxOutput = 16 << 20
    /// How much of the end of stderr a failure's message carries.
    public var stderrTail = 2_048
    /// How much of the end of stderr is sent as the task's log (`GET /tasks/{id}/logs`), whatever the outcome.
    public var logTail = 16 * 1_024
    /// Variables every run gets besides the task's own: `PATH`, `HOME` and what the operator passes on.
    public var baseEnvironment: [String: String]

    /// A handler for `command`; `environment` is the worker's, from which `PATH`, `HOME` and the variables named
    /// in `passing` are taken (a named variable that is not set is left out).
    public init(command: String, environment: [String: String] = [:], passing: [String] = []) {
        self.command = command
        var base = [
            "PATH": environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin", "HOME": environment["HOME"] ?? "/",
        ]
        for name in passing { base[name] = environment[name] }
        self.baseEnvironment = base
    }

    /// The environment of one run.
    func environment(for task: WorkerTask) -> [String: String] {
        var variables = baseEnvironment
        variables["TASKGATE_TASK_ID"] = task.id
        variables["TASKGATE_FUNCTION"] = task.function
        variables["TASKGATE_ATTEMPT"] = String(task.attempt)
        variables["TRACEPARENT"] = task.traceparent
        return variables
    }

    /// The handler to register.
    public var handler: WorkerHandler {
        { task in try await run(task) }
    }

    /// Runs the command for one task.
    public func run(_ task: WorkerTask) async throws -> [UInt8] {
        let child: ChildProcess
        do {
            child = try ChildProcess(
                command: command, input: task.args, environment: environment(for: task),
                maxOutput: maxOutput, stderrTail: max(stderrTail, logTail))
        } catch {
            throw WorkerFunctionError("could not start the command: \(error)")
        }
        let grace = killGrace
        let exit = await withTaskCancellationHandler {
            await child.wait()
        } onCancel: {
            child.terminate(grace: grace)
        }
        if !exit.stderrTail.isEmpty {
            var tail = exit.stderrTail.suffix(logTail)
            // A tail cut inside a line starts at the next whole one.
            if tail.count < exit.stderrTail.count, let newline = tail.firstIndex(of: 10) {
                tail = tail[(newline + 1)...]
            }
            WorkerLog.write(String(decoding: tail, as: UTF8.self))
        }
        if Task.isCancelled { throw CancellationError() }
        let stderr = String(decoding: exit.stderrTail.suffix(stderrTail), as: UTF8.self).trimmingSpaces()
        let suffix = stderr.isEmpty ? "" : ": \(stderr)"
        switch exit.status {
        case .exited(0):
            guard !exit.stdoutTruncated else {
                throw WorkerFunctionError("the command wrote more than \(maxOutput) bytes to stdout")
            }
            let output = trimmed(exit.stdout)
            guard (try? JSONScanner.validate(output)) != nil else {
                let shown = String(decoding: output.prefix(200), as: UTF8.self)
                throw WorkerFunctionError("the command's stdout is not one JSON value: '\(shown)'")
            }
            return output
        case .exited(let code):
            throw WorkerFunctionError("the command exited with status \(code)\(suffix)")
        case .signaled(let signal):
            throw WorkerFunctionError("the command was killed by signal \(signal)\(suffix)")
        }
    }

    private func trimmed(_ bytes: [UInt8]) -> [UInt8] {
        let isSpace: (UInt8) -> Bool = { $0 == 32 || $0 == 9 || $0 == 10 || $0 == 13 }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }) else { return [] }
        let last = bytes.lastIndex(where: { !isSpace($0) })!
        return Array(bytes[first...last])
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        var text = Substring(self)
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return String(text)
    }
}
