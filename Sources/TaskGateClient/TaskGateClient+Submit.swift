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
    /// A completion webhook: the server POSTs the finished task here (it must be under the server's
    /// `--callback-allow`).
    public var callbackURL: String?

    /// The server's defaults.
    public init(
        priority: Int? = nil, timeout: Duration? = nil, maxRetries: Int? = nil, tags: [String]? = nil,
        idempotencyKey: String? = nil, callbackURL: String? = nil
    ) {
        self.callbackURL = callbackURL
        self.priority = priority
        self.timeout = timeout
        self.maxRetries = maxRetries
        self.tags = tags
        self.idempotencyKey = idempotencyKey
    }
}

/// A single submission waiting in `SubmitQueue` for the next batch.
struct QueuedSubmit: Sendable {
    /// The task's function.
    var function: String
    /// The task object.
    var body: [UInt8]
    /// Resumed with the task as the server accepted it, or the error.
    var continuation: CheckedContinuation<WireTaskStatus?, any Error>
}

/// Writes submission bodies with `JSONWriter`: `JSONValue` arguments directly, other `Encodable` arguments through
/// one `JSONEncoder` call for all of them (split with `JSONScanner`), so the envelope never goes through Foundation.
enum SubmitBody {
    /// One task object: `{function, args, priority?, timeout_s?, max_retries?, tags?, callback_url?}`.
    static func write(
        _ writer: inout JSONWriter, function: String, args: (inout JSONWriter) -> Void, options: SubmitOptions
    ) {
        writer.beginObject()
        writer.key("function")
        writer.string(function)
        writer.key("args")
        args(&writer)
        if let priority = options.priority {
            writer.key("priority")
            writer.number(priority)
        }
        if let timeout = options.timeout {
            writer.key("timeout_s")
            writer.number(timeout.seconds)
        }
        if let maxRetries = options.maxRetries {
            writer.key("max_retries")
            writer.number(maxRetries)
        }
        if let tags = options.tags {
            writer.key("tags")
            writer.beginArray()
            for tag in tags { writer.string(tag) }
            writer.endArray()
        }
        if let callbackURL = options.callbackURL {
            writer.key("callback_url")
            writer.string(callbackURL)
        }
        writer.endObject()
    }

    /// The body of `POST /tasks`.
    static func single<Arguments: Encodable>(
        function: String, args: Arguments, options: SubmitOptions
    ) throws -> [UInt8] {
        var writer = JSONWriter(capacity: 128)
        if let value = args as? JSONValue {
            write(&writer, function: function, args: { $0.value(value) }, options: options)
        } else {
            let json = Array(try JSONEncoder().encode(args))
            write(&writer, function: function, args: { $0.raw(json) }, options: options)
        }
        return writer.bytes
    }

    /// The body of `POST /tasks/batch`: an array of task objects, one per element of `args`.
    static func batch<Arguments: Encodable>(
        function: String, args: ArraySlice<Arguments>, options: SubmitOptions
    ) throws -> [UInt8] {
        var writer = JSONWriter(capacity: 64 + args.count * (48 + function.utf8.count))
        writer.beginArray()
        if let values = args as? ArraySlice<JSONValue> {
            for value in values { write(&writer, function: function, args: { $0.value(value) }, options: options) }
        } else {
            let json = Array(try JSONEncoder().encode(Array(args)))
            guard let elements = try JSONScanner.elements(json[...]), elements.count == args.count else {
                throw EncodingError.invalidValue(
                    args, .init(codingPath: [], debugDescription: "the arguments did not encode as one value each"))
            }
            for element in elements {
                let raw = Array(json[element.range])
                write(&writer, function: function, args: { $0.raw(raw) }, options: options)
            }
        }
        writer.endArray()
        return writer.bytes
    }
}

extension TaskGateClient {
    /// Submits one task (`POST /tasks`) and returns its future.
    ///
    /// When `Configuration.submitWait` is set (5 ms by default) the server holds its answer that long for the task to
    /// finish, so a fast task comes back decided in one round trip and `result()` returns at once; a function whose
    /// tasks do not finish in time soon stops waiting (`SubmitWaitPolicy`), and its futures are resolved by the
    /// shared poller as before.
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
        let body = try SubmitBody.single(function: function, args: args, options: options)
        // Submissions with an idempotency key always go alone: the key is a header of `POST /tasks`.
        if options.idempotencyKey == nil, configuration.maxDirectSubmits > 0 {
            let batched = try await withCheckedThrowingContinuation {
                (continuation: CheckedContinuation<WireTaskStatus?, any Error>) in
                let route = submitQueue.withLock {
                    $0.admit(QueuedSubmit(function: function, body: body, continuation: continuation))
                }
                switch route {
                case .direct: continuation.resume(returning: nil)
                case .queued(let startSender): if startSender { Task { await self.sendQueuedSubmits() } }
                }
            }
            if let batched { return future(for: batched) }
            defer { submitQueue.withLock { $0.directFinished() } }
            return future(for: try await submitAlone(function: function, body: body, idempotencyKey: nil))
        }
        return future(
            for: try await submitAlone(function: function, body: body, idempotencyKey: options.idempotencyKey))
    }

    /// `POST /tasks` of one task, with the short server-side wait when `SubmitWaitPolicy` says so.
    private func submitAlone(function: String, body: [UInt8], idempotencyKey: String?) async throws -> WireTaskStatus {
        var headers: [(String, String)] = []
        if let idempotencyKey { headers.append(("Idempotency-Key", idempotencyKey)) }
        var wait: Duration?
        if let submitWait = configuration.submitWait, submitWait > .zero,
            submitWaits.withLock({ $0.shouldWait(function) })
        {
            wait = submitWait
            headers.append(("Prefer", "wait=\(submitWait.seconds)"))
        }
        let response = try await transport.send(
            .POST, "/tasks", body: body, headers: headers, timeout: configuration.requestTimeout + (wait ?? .zero))
        guard response.status == 200 || response.status == 202 else {
            throw TaskGateError.server(transport.problem(response))
        }
        let task = try transport.read(response, WireTaskStatus.init(json:))
        // Only a wait the server applied says something about the function (it skips the wait when it is full).
        if wait != nil, response.headers.contains(name: "Preference-Applied") {
            submitWaits.withLock { $0.waited(function, finished: task.done) }
        }
        return task
    }

    /// The one sender of queued submissions: sends what is queued as one `POST /tasks/batch`, again while more
    /// came meanwhile, and ends when the queue is empty.
    func sendQueuedSubmits() async {
        while let batch = submitQueue.withLock({ $0.nextBatch() }) {
            await sendBatch(batch)
        }
    }

    /// Answers every submission of `batch`. The server accepts a batch whole or not at all, so when it refuses one
    /// (an invalid task, a full queue) each submission is sent again alone and gets its own answer; when the batch
    /// fails in transit, whether it was accepted is unknown, and each submission fails as a lone one would.
    private func sendBatch(_ batch: [QueuedSubmit]) async {
        var body: [UInt8] = [UInt8(ascii: "[")]
        body.reserveCapacity(2 + batch.reduce(0) { $0 + $1.body.count + 1 })
        for (index, submit) in batch.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body.append(contentsOf: submit.body)
        }
        body.append(UInt8(ascii: "]"))
        let response: Transport.Response
        do {
            response = try await transport.send(
                .POST, "/tasks/batch", body: body, headers: Transport.minimal, timeout: configuration.requestTimeout)
        } catch {
            for submit in batch { submit.continuation.resume(throwing: error) }
            return
        }
        guard response.status == 202 else {
            await withTaskGroup(of: Void.self) { group in
                for submit in batch {
                    group.addTask {
                        do {
                            let task = try await self.submitAlone(
                                function: submit.function, body: submit.body, idempotencyKey: nil)
                            submit.continuation.resume(returning: task)
                        } catch {
                            submit.continuation.resume(throwing: error)
                        }
                    }
                }
            }
            return
        }
        do {
            let tasks = try transport.read(response, WireTaskStatus.batch(json:))
            guard tasks.count == batch.count else {
                throw TaskGateError.invalidResponse("a batch of \(batch.count) answered \(tasks.count) tasks")
            }
            for (submit, task) in zip(batch, tasks) { submit.continuation.resume(returning: task) }
        } catch {
            for submit in batch { submit.continuation.resume(throwing: error) }
        }
    }

    /// Submits one task per element of `args` (each element is one task's arguments) through
    /// `POST /tasks/batch`, `batchSize` at a time, up to `batchConcurrency` batches in flight on as many
    /// connections; the futures come back in order.
    ///
    /// When the server refuses a batch, `map` sends no further batch, waits for those in flight, and throws the
    /// first error (in order) as a `TaskGateError` whose `submitted` holds, per element of `args`, the future of
    /// each task the server did accept (nil for the others): those tasks run, and nothing accepted is lost.
    public func map<Arguments: Encodable & Sendable>(
        function: String, _ args: [Arguments], options: SubmitOptions = SubmitOptions()
    ) async throws -> [TaskFuture] {
        try checkOpen()
        let size = max(1, min(1_000, configuration.batchSize))
        let starts = Array(stride(from: 0, to: args.count, by: size))
        var batches = [[TaskFuture]?](repeating: nil, count: starts.count)
        var failures: [(index: Int, error: any Error)] = []
        await withTaskGroup(of: (Int, Result<[TaskFuture], any Error>).self) { group in
            var next = 0
            func add() {
                let index = next
                next += 1
                let range = starts[index]..<min(args.count, starts[index] + size)
                group.addTask {
                    do {
                        return (index, .success(try await self.submitBatch(function, args[range], options: options)))
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            while next < starts.count, next < max(1, configuration.batchConcurrency) { add() }
            for await (index, outcome) in group {
                switch outcome {
                case .success(let futures): batches[index] = futures
                case .failure(let error): failures.append((index, error))
                }
                if failures.isEmpty, next < starts.count { add() }
            }
        }
        guard let first = failures.min(by: { $0.index < $1.index }) else { return batches.flatMap { $0! } }
        var submitted: [TaskFuture?] = []
        submitted.reserveCapacity(args.count)
        for (index, start) in starts.enumerated() {
            if let futures = batches[index] {
                submitted.append(contentsOf: futures.map { Optional($0) })
            } else {
                submitted.append(contentsOf: repeatElement(nil, count: min(args.count, start + size) - start))
            }
        }
        let error = first.error as? TaskGateError ?? .disconnected(String(describing: first.error))
        throw error.with(submitted: submitted)
    }

    /// One `POST /tasks/batch`; the poller watches the undecided futures at once.
    private func submitBatch<Arguments: Encodable & Sendable>(
        _ function: String, _ args: ArraySlice<Arguments>, options: SubmitOptions
    ) async throws -> [TaskFuture] {
        let body = try SubmitBody.batch(function: function, args: args, options: options)
        let response = try await transport.send(
            .POST, "/tasks/batch", body: body, headers: Transport.minimal, timeout: configuration.requestTimeout)
        guard response.status == 202 else { throw TaskGateError.server(transport.problem(response)) }
        let tasks = try transport.read(response, WireTaskStatus.batch(json:))
        guard tasks.count == args.count else {
            throw TaskGateError.invalidResponse("a batch of \(args.count) answered \(tasks.count) tasks")
        }
        let futures = tasks.map { TaskFuture(task: $0, client: self) }
        poller.watch(futures.filter { !$0.isDone })
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
