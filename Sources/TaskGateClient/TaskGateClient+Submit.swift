import Foundation
import NIOHTTP1
import TaskGateAPI

/// How a task runs, besides its function and arguments.
public struct SubmitOptions: Sendable, Hashable {
    /// Higher runs first.
    public var priority: Int?
    /// The execution deadline, counted from assignment to a worker.
    public var timeout: Duration?
    /// How often the task is re-run after its worker dies.
    public var maxRetries: Int?
    /// Labels for listing.
    public var tags: [String]?
    /// Makes retries of this submission safe (`Idempotency-Key`); single submissions only.
    public var idempotencyKey: String?

    /// The server's defaults.
    public init(
        priority: Int? = nil, timeout: Duration? = nil, maxRetries: Int? = nil, tags: [String]? = nil,
        idempotencyKey: String? = nil
    ) {
        self.priority = priority
        self.timeout = timeout
        self.maxRetries = maxRetries
        self.tags = tags
        self.idempotencyKey = idempotencyKey
    }
}

/// The body of one submission, generic over the arguments so typed arguments are encoded once, straight to JSON.
struct SubmitBody<Arguments: Encodable>: Encodable {
    var function: String
    var args: Arguments
    var options: SubmitOptions

    enum CodingKeys: String, CodingKey {
        case function, args, priority, tags
        case timeout = "timeout_s"
        case maxRetries = "max_retries"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(function, forKey: .function)
        try container.encode(args, forKey: .args)
        try container.encodeIfPresent(options.priority, forKey: .priority)
        try container.encodeIfPresent(options.timeout?.seconds, forKey: .timeout)
        try container.encodeIfPresent(options.maxRetries, forKey: .maxRetries)
        try container.encodeIfPresent(options.tags, forKey: .tags)
    }
}

extension TaskGateClient {
    /// Submits one task (`POST /tasks`) and returns its future.
    public func submit(
        function: String, args: JSONValue = .null, options: SubmitOptions = SubmitOptions()
    ) async throws -> TaskFuture {
        try await submit(function: function, typedArgs: args, options: options)
    }

    /// Submits one task with `Encodable` arguments.
    public func submit<Arguments: Encodable & Sendable>(
        function: String, args: Arguments, options: SubmitOptions = SubmitOptions()
    ) async throws -> TaskFuture {
        try await submit(function: function, typedArgs: args, options: options)
    }

    private func submit<Arguments: Encodable & Sendable>(
        function: String, typedArgs args: Arguments, options: SubmitOptions
    ) async throws -> TaskFuture {
        try checkOpen()
        let body = try JSONEncoder().encode(SubmitBody(function: function, args: args, options: options))
        var headers: [(String, String)] = []
        if let key = options.idempotencyKey { headers.append(("Idempotency-Key", key)) }
        let response = try await transport.send(
            .POST, "/tasks", body: Array(body), headers: headers, timeout: configuration.requestTimeout)
        guard response.status == 200 || response.status == 202 else {
            throw TaskGateError.server(transport.problem(response))
        }
        return future(for: try transport.decode(WireTask.self, from: response))
    }

    /// Submits one task per element of `args` (each element is one task's arguments) through
    /// `POST /tasks/batch`, `batchSize` at a time; the futures come back in order. A batch the server refuses
    /// throws, and nothing of that batch was accepted (earlier batches were).
    public func map<Arguments: Encodable & Sendable>(
        function: String, _ args: [Arguments], options: SubmitOptions = SubmitOptions()
    ) async throws -> [TaskFuture] {
        try checkOpen()
        var futures: [TaskFuture] = []
        futures.reserveCapacity(args.count)
        var start = 0
        while start < args.count {
            let end = min(args.count, start + max(1, min(1_000, configuration.batchSize)))
            let bodies = args[start..<end].map { SubmitBody(function: function, args: $0, options: options) }
            let response = try await transport.send(
                .POST, "/tasks/batch", body: Array(try JSONEncoder().encode(bodies)),
                timeout: configuration.requestTimeout)
            guard response.status == 202 else { throw TaskGateError.server(transport.problem(response)) }
            let tasks = try transport.decode(WireBatchResponse.self, from: response).tasks
            guard tasks.count == end - start else {
                throw TaskGateError.invalidResponse("a batch of \(end - start) answered \(tasks.count) tasks")
            }
            let batch = tasks.map { TaskFuture(task: $0, client: self) }
            poller.watch(batch.filter { !$0.isDone })
            futures.append(contentsOf: batch)
            start = end
        }
        return futures
    }

    /// Like `map`, but each element is a list of positional arguments, sent as one JSON array (Scaler's
    /// `starmap`).
    public func starmap(
        function: String, _ argumentLists: [[JSONValue]], options: SubmitOptions = SubmitOptions()
    ) async throws -> [TaskFuture] {
        try await map(function: function, argumentLists.map { JSONValue.array($0) }, options: options)
    }
}
