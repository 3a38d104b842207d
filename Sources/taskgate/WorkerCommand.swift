import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import TaskGateFunctions
import TaskGateWorker
import TaskScheduler

/// `taskgate worker`: a remote worker that runs allow-listed commands (`--exec`) and, with `--builtins`, the
/// built-in functions, for the server at `--connect`.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run a remote worker: allow-listed commands per task, and optionally the built-in functions.",
        discussion: """
            Each --exec NAME=COMMAND offers the function NAME; a task of it runs `/bin/sh -c COMMAND` with the \
            args JSON on stdin and a minimal environment: PATH, HOME, TASKGATE_TASK_ID, TASKGATE_FUNCTION, \
            TASKGATE_ATTEMPT, TRACEPARENT when the task has one, and each variable named by --env (never the \
            worker's token or the rest of its environment). Exit 0 with one JSON value on stdout succeeds with it; \
            anything else fails the task with the exit status and the tail of stderr. A cancel sends SIGTERM to \
            the command's process group, then SIGKILL after --kill-grace; if the worker dies, even by SIGKILL, \
            the group is killed. SIGTERM or SIGINT drains the worker: no new tasks, running ones get \
            --drain-grace, then it leaves.
            """
    )

    @Option(help: "The server (env TASKGATE_URL; default http://127.0.0.1:8080).")
    var connect: String?

    @Option(help: "A worker token, sent as a bearer token (env TASKGATE_WORKER_TOKEN).")
    var token: String?

    @Option(
        name: .customLong("ca-file"),
        help: "For an https:// server, a PEM file of the CA certificates to trust (env TASKGATE_CA_FILE).")
    var caFile: String?

    @Option(name: .customLong("exec"), help: "NAME=COMMAND: offer the function NAME, run as COMMAND (repeatable).")
    var exec: [String] = []

    @Option(
        name: .customLong("env"),
        help: "NAME: pass this variable of the worker's environment on to --exec commands (repeatable).")
    var passEnvironment: [String] = []

    @Flag(help: "Also offer the built-in functions (echo, sleep, sha256, fail).")
    var builtins = false

    @Option(help: "The worker's name in GET /workers (default: worker-<pid>).")
    var name: String?

    @Option(help: "Tasks run at once (default: the number of cores).")
    var capacity: Int?

    @Option(help: "Seconds the server waits for a poll before declaring this worker dead (default 10).")
    var lease: Double = 10

    @Option(name: .customLong("kill-grace"), help: "Seconds between SIGTERM and SIGKILL on cancel (default 2).")
    var killGrace: Double = 2

    @Option(
        name: .customLong("drain-grace"),
        help: "On SIGTERM, seconds running tasks may take before they are cancelled (default 30).")
    var drainGrace: Double = 30

    func validate() throws {
        guard !exec.isEmpty || builtins else {
            throw ValidationError("give at least one --exec NAME=COMMAND or --builtins")
        }
        for name in passEnvironment
        where name.isEmpty || name.contains("=") || name.utf8.contains(where: { $0 < 33 || $0 > 126 }) {
            throw ValidationError("--env takes a variable name, got '\(name)'")
        }
        for entry in exec {
            guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex,
                !entry[entry.index(after: equals)...].isEmpty
            else { throw ValidationError("--exec takes NAME=COMMAND, got '\(entry)'") }
        }
        if let capacity, capacity < 1 { throw ValidationError("capacity must be at least 1") }
        for (value, flag) in [(lease, "lease"), (killGrace, "kill-grace"), (drainGrace, "drain-grace")] {
            guard value.isFinite, value > 0, value <= 86_400 else {
                throw ValidationError("\(flag) must be a positive number of seconds")
            }
        }
    }

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let logger = Logger(label: "taskgate.worker")
        var handlers = WorkerHandlers()
        if builtins {
            let registry = Builtins.registry
            for name in registry.names {
                let function = registry[name]!
                handlers.register(name) { task in
                    let id = TaskID(task.id) ?? TaskID(rawValue: 0)
                    let context = TaskContext(taskID: id, function: task.function, attempt: task.attempt)
                    do {
                        return try await function(Payload(task.args), context).bytes
                    } catch let error as FunctionError {
                        throw WorkerFunctionError(error.message)
                    }
                }
            }
        }
        for entry in exec {
            let equals = entry.firstIndex(of: "=")!
            var command = CommandHandler(
                command: String(entry[entry.index(after: equals)...]),
                environment: ProcessInfo.processInfo.environment, passing: passEnvironment)
            command.killGrace = .seconds(killGrace)
            handlers.register(String(entry[..<equals]), command.handler)
        }
        // A worker speaks with a worker token: TASKGATE_WORKER_TOKEN, never the client's TASKGATE_TOKEN.
        let server = ServerOptions.clientConfiguration(
            url: connect, token: token, tokenVariable: "TASKGATE_WORKER_TOKEN", caFile: caFile,
            environment: ProcessInfo.processInfo.environment)
        var configuration = TaskGateWorker.Configuration(baseURL: server.baseURL, token: server.token)
        configuration.caFile = server.caFile
        configuration.name = name ?? "worker-\(getpid())"
        configuration.capacity = capacity ?? max(1, ProcessInfo.processInfo.activeProcessorCount)
        configuration.lease = .seconds(lease)
        configuration.drainGrace = .seconds(drainGrace)
        let worker = TaskGateWorker(configuration: configuration, handlers: handlers, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: worker)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
