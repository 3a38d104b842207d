import ArgumentParser
import Foundation
import TaskGateAPI
import TaskGateClient

/// Where the client commands find the server.
struct ServerOptions: ParsableArguments {
    @Option(help: "The server (env TASKGATE_URL; default http://127.0.0.1:8080).")
    var url: String?

    @Option(help: "A bearer token (env TASKGATE_TOKEN).")
    var token: String?

    @Option(
        name: .customLong("ca-file"),
        help: "For an https:// server, a PEM file of the CA certificates to trust (env TASKGATE_CA_FILE).")
    var caFile: String?

    /// Where a command connects: each flag, else its variable (`TASKGATE_URL`, `tokenVariable`; an empty one counts
    /// as unset), else the default `http://127.0.0.1:8080` and no token. Workers read `TASKGATE_WORKER_TOKEN`.
    static func clientConfiguration(
        url: String?, token: String?, tokenVariable: String = "TASKGATE_TOKEN", caFile: String? = nil,
        environment: [String: String]
    ) -> TaskGateClient.Configuration {
        func variable(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        var configuration = TaskGateClient.Configuration(
            baseURL: url ?? variable("TASKGATE_URL") ?? "http://127.0.0.1:8080",
            token: token ?? variable(tokenVariable))
        configuration.caFile = caFile ?? variable("TASKGATE_CA_FILE")
        return configuration
    }

    /// Runs `body` with a client, shutting it down afterwards.
    func withClient<T>(_ body: (TaskGateClient) async throws -> T) async throws -> T {
        let configuration = Self.clientConfiguration(
            url: url, token: token, caFile: caFile, environment: ProcessInfo.processInfo.environment)
        let client = TaskGateClient(configuration: configuration)
        do {
            let value = try await body(client)
            try await client.shutdown()
            return value
        } catch {
            try? await client.shutdown()
            FileHandle.standardError.write(Data((Self.describe(error) + "\n").utf8))
            throw ExitCode.failure
        }
    }

    static func describe(_ error: any Error) -> String {
        guard let error = error as? TaskGateError else { return "error: \(error)" }
        return "error: \(error.description)"
    }
}

/// Prints JSON on one line.
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// `taskgate submit`.
struct Submit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Submit a task and print it as JSON (with --wait, once finished or when the wait runs out).")

    @OptionGroup var server: ServerOptions

    @Argument(help: "The function, e.g. echo.")
    var function: String

    @Argument(help: "The arguments as JSON (default null).")
    var args: String = "null"

    @Option(help: "Priority (higher runs first).")
    var priority: Int?

    @Option(help: "Execution deadline in seconds.")
    var timeout: Double?

    @Option(name: .customLong("max-retries"), help: "Re-runs after a worker dies.")
    var maxRetries: Int?

    @Option(name: .customLong("tag"), help: "A tag (repeatable).")
    var tags: [String] = []

    @Option(name: .customLong("idempotency-key"), help: "Makes retrying this submission safe.")
    var idempotencyKey: String?

    @Option(
        name: .customLong("callback-url"),
        help: "POST the finished task here, signed (the server must allow it with --callback-allow).")
    var callbackURL: String?

    @Option(help: "Seconds to wait for the task to finish.")
    var wait: Double?

    func run() async throws {
        guard let data = args.data(using: .utf8), let value = try? JSONDecoder().decode(JSONValue.self, from: data)
        else { throw ValidationError("the arguments must be JSON, got: \(args)") }
        let options = SubmitOptions(
            priority: priority, timeout: timeout.map { .nanoseconds(Int64($0 * 1e9)) }, maxRetries: maxRetries,
            tags: tags.isEmpty ? nil : tags, idempotencyKey: idempotencyKey, callbackURL: callbackURL)
        try await server.withClient { client in
            let future = try await client.submit(function: function, args: value, options: options)
            if let wait { _ = try? await future.result(timeout: .nanoseconds(Int64(wait * 1e9))) }
            try printJSON(try await client.task(future.id))
        }
    }
}

/// `taskgate get`.
struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a task as JSON.")

    @OptionGroup var server: ServerOptions

    @Argument(help: "The task id.")
    var id: String

    func run() async throws {
        try await server.withClient { client in try printJSON(try await client.task(id)) }
    }
}

/// `taskgate wait`.
struct Wait: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Wait for tasks to finish and print them, one JSON task per line, in the order they finish.")

    @OptionGroup var server: ServerOptions

    @Argument(help: "Task ids.")
    var ids: [String]

    @Option(help: "Seconds to wait at most (default 60); unfinished tasks are printed as they are.")
    var timeout: Double = 60

    func run() async throws {
        try await server.withClient { client in
            var futures: [TaskFuture] = []
            for id in ids { futures.append(try await client.future(id: id)) }
            let deadline = ContinuousClock.now + .nanoseconds(Int64(timeout * 1e9))
            let stream = client.asCompleted(futures)
            // The ids in completion order, until all are done or the deadline passes.
            let finished = await withTaskGroup(of: [String]?.self) { group in
                group.addTask {
                    try? await Task.sleep(until: deadline, clock: .continuous)
                    return nil
                }
                group.addTask {
                    var ids: [String] = []
                    for await future in stream { ids.append(future.id) }
                    return ids
                }
                var finished: [String] = []
                if let first = await group.next(), let ids = first { finished = ids }
                group.cancelAll()
                for await value in group { if let ids = value { finished = ids } }
                return finished
            }
            let rest = ids.filter { !finished.contains($0) }
            for id in finished + rest { try printJSON(try await client.task(id)) }
        }
    }
}

/// `taskgate cancel`.
struct Cancel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Cancel a task, wait for the worker's confirm, and print {id, cancelled, task} as JSON.")

    @OptionGroup var server: ServerOptions

    @Argument(help: "The task id.")
    var id: String

    @Option(help: "Seconds to wait for the confirm (default 30).")
    var timeout: Double = 30

    struct Answer: Encodable {
        var id: String
        var cancelled: Bool
        var task: WireTask
    }

    func run() async throws {
        try await server.withClient { client in
            let future = try await client.future(id: id)
            let cancelled = try await future.cancel(timeout: .nanoseconds(Int64(timeout * 1e9)))
            try printJSON(Answer(id: id, cancelled: cancelled, task: try await client.task(id)))
        }
    }
}

/// `taskgate health`: the probe of a container's HEALTHCHECK (the image has no curl).
struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Exit 0 when the server answers GET /healthz (or /readyz) with 200, 1 otherwise.",
        discussion: """
            The probe of a container's HEALTHCHECK: it needs no token. Without --url or TASKGATE_URL it asks \
            http://127.0.0.1 on TASKGATE_PORT (default 8080), the server of the same container.
            """)

    @OptionGroup var server: ServerOptions

    @Flag(help: "Probe /readyz (accepting work) instead of /healthz (alive).")
    var ready = false

    @Option(help: "Seconds to wait for the answer (default 3).")
    var timeout: Double = 3

    /// Without --url and TASKGATE_URL: the server of this container, http://127.0.0.1 on TASKGATE_PORT (8080 by
    /// default), as `serve` reads it.
    static func localURL(_ environment: [String: String]) -> String? {
        if let url = environment["TASKGATE_URL"], !url.isEmpty { return nil }
        let port = environment["TASKGATE_PORT"].flatMap { Int($0) }.flatMap { (1...65535).contains($0) ? $0 : nil }
        return "http://127.0.0.1:\(port ?? 8080)"
    }

    func run() async throws {
        guard timeout > 0, timeout <= 600 else { throw ValidationError("--timeout must be in (0, 600] seconds") }
        let environment = ProcessInfo.processInfo.environment
        var configuration = ServerOptions.clientConfiguration(
            url: server.url ?? Self.localURL(environment), token: server.token, caFile: server.caFile,
            environment: environment)
        configuration.requestTimeout = .nanoseconds(Int64(timeout * 1e9))
        let client = TaskGateClient(configuration: configuration)
        let outcome: Result<(healthy: Bool, body: String), any Error>
        do {
            outcome = .success(try await client.health(ready: ready))
        } catch {
            outcome = .failure(error)
        }
        try? await client.shutdown()
        switch outcome {
        case .success(let answer) where answer.healthy:
            print(answer.body.trimmingCharacters(in: .whitespacesAndNewlines))
        case .success(let answer):
            FileHandle.standardError.write(Data("unhealthy: \(answer.body)\n".utf8))
            throw ExitCode.failure
        case .failure(let error):
            FileHandle.standardError.write(Data((ServerOptions.describe(error) + "\n").utf8))
            throw ExitCode.failure
        }
    }
}
