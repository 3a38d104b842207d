import Foundation
import NIOCore
import Synchronization
import TaskGateAPI

/// A client of a taskgate server: submits tasks and hands back `TaskFuture`s, which one shared background poller
/// resolves. Create one per process, share it, and `shutdown()` it at the end.
public final class TaskGateClient: Sendable {
    /// How the client connects and waits.
    public struct Configuration: Sendable {
        /// The server, e.g. `http://127.0.0.1:8080`.
        public var baseURL: String
        /// A bearer token, sent as `Authorization: Bearer …` when set.
        public var token: String?
        /// How long a request that does not wait on the server may take.
        public var requestTimeout: Duration = .seconds(30)
        /// How long establishing a connection may take.
        public var connectTimeout: Duration = .seconds(3)
        /// Keep-alive connections to the server at most (submissions, cancels and polls together).
        public var maxConnections = 32
        /// Poll loops at most; each holds one connection in a long-poll.
        public var maxPollConnections = 8
        /// Ids per poll (the server takes at most 1,000).
        public var pollBatchSize = 1_000
        /// How long each poll waits on the server for something to finish.
        public var pollWait: Duration = .seconds(30)
        /// How long a poll retried after a failure may take (connection attempts included); after three failed
        /// retries the group's futures fail with `TaskGateError.disconnected`.
        public var retryTimeout: Duration = .seconds(2)
        /// How long `cancel()` waits for the worker's confirm by default.
        public var cancelTimeout: Duration = .seconds(30)
        /// Tasks per `POST /tasks/batch` in `map` (the server takes at most 1,000).
        public var batchSize = 1_000
        /// `POST /tasks/batch` requests `map` keeps in flight at once.
        public var batchConcurrency = 4
        /// How long `submit` asks the server to hold its answer for the task to finish (`Prefer: wait`), so a fast
        /// task is decided in one round trip; nil or zero never waits. Functions that do not finish in time stop
        /// waiting (`SubmitWaitPolicy`).
        public var submitWait: Duration? = .milliseconds(5)
        /// Single `submit` calls in flight at once before further ones are queued and sent together as one
        /// `POST /tasks/batch` (`SubmitQueue`); 0 sends every submission alone.
        public var maxDirectSubmits = 8
        /// The largest answer read.
        public var maxResponseBytes = 64 << 20
        /// For an `https://` server: a PEM file of the CA certificates to trust; nil trusts the system's roots.
        public var caFile: String?

        /// Defaults for the server at `baseURL`.
        public init(baseURL: String, token: String? = nil) {
            self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
            self.token = token
        }
    }

    /// The configuration in force.
    public let configuration: Configuration
    let transport: Transport
    let poller: Poller
    /// Which functions `submit` waits for.
    let submitWaits = Mutex(SubmitWaitPolicy())
    /// How single submissions go out: alone, or queued for a batch.
    let submitQueue: Mutex<SubmitQueue<QueuedSubmit>>
    private let closed = Atomic<Bool>(false)

    /// A client for the server in `configuration`; connections open on first use.
    public init(configuration: Configuration) {
        self.configuration = configuration
        transport = Transport(
            baseURL: configuration.baseURL, token: configuration.token,
            maxConnections: max(configuration.maxConnections, configuration.maxPollConnections + 2),
            connectTimeout: configuration.connectTimeout, maxResponseBytes: configuration.maxResponseBytes,
            caFile: configuration.caFile)
        poller = Poller(transport: transport, configuration: configuration)
        submitQueue = Mutex(SubmitQueue(maxDirect: configuration.maxDirectSubmits, maxBatch: configuration.batchSize))
    }

    /// A client for the server at `baseURL` with the default configuration.
    public convenience init(baseURL: String) {
        self.init(configuration: Configuration(baseURL: baseURL))
    }

    deinit {
        assert(closed.load(ordering: .relaxed), "TaskGateClient released without shutdown()")
    }

    /// Futures the poller still watches.
    public var outstanding: Int { poller.outstanding }

    /// Poll loops (connections in a long-poll) right now.
    public var pollConnections: Int { poller.loops }

    /// Fails every outstanding future with `TaskGateError.clientClosed` (none is left hanging), stops the poller
    /// and closes the connections. Calls after this throw `clientClosed`. Idempotent.
    public func shutdown() async throws {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        poller.close(failing: .clientClosed)
        await poller.join()
        transport.shutdown()
    }

    func checkOpen() throws {
        if closed.load(ordering: .relaxed) { throw TaskGateError.clientClosed }
    }

    /// A future for a task the server just showed, watched until decided.
    func future(for task: WireTaskStatus) -> TaskFuture {
        let future = TaskFuture(task: task, client: self)
        if !future.isDone { poller.watch([future]) }
        return future
    }

    /// `GET /tasks/{id}`: the task as it is now (`taskNotFound` / `taskExpired` when the server has none).
    public func task(_ id: String) async throws -> WireTask {
        try checkOpen()
        let response = try await transport.send(.GET, "/tasks/\(id)", timeout: configuration.requestTimeout)
        switch response.status {
        case 200: return try transport.read(response, WireTask.init(json:))
        case 404: throw TaskGateError.taskNotFound
        case 410: throw TaskGateError.taskExpired
        default: throw TaskGateError.server(transport.problem(response))
        }
    }

    /// `GET /tasks`: one page of the retained tasks, oldest first, filtered by state and function; pass the page's
    /// `nextCursor` to read the next one.
    public func tasks(
        state: WireTaskState? = nil, function: String? = nil, limit: Int? = nil, cursor: String? = nil
    ) async throws -> WireTaskPage {
        try checkOpen()
        var query: [String] = []
        if let state { query.append("state=\(state.rawValue)") }
        if let function { query.append("function=\(Self.percentEncoded(function))") }
        if let limit { query.append("limit=\(limit)") }
        if let cursor { query.append("cursor=\(Self.percentEncoded(cursor))") }
        let path = query.isEmpty ? "/tasks" : "/tasks?" + query.joined(separator: "&")
        let response = try await transport.send(.GET, path, timeout: configuration.requestTimeout)
        guard response.status == 200 else { throw TaskGateError.server(transport.problem(response)) }
        return try transport.read(response, WireTaskPage.init(json:))
    }

    /// `text` with everything but RFC 3986's unreserved characters percent-encoded, for a query value.
    static func percentEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    private static let unreserved = CharacterSet(
        charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")

    /// `GET /stats`: the server's counts.
    public func stats() async throws -> WireStats {
        try checkOpen()
        let response = try await transport.send(.GET, "/stats", timeout: configuration.requestTimeout)
        guard response.status == 200 else { throw TaskGateError.server(transport.problem(response)) }
        return try transport.decode(WireStats.self, from: response)
    }

    /// `GET /workers`: the registered workers with their load, in registration order.
    public func workers() async throws -> [WireWorker] {
        try checkOpen()
        let response = try await transport.send(.GET, "/workers", timeout: configuration.requestTimeout)
        guard response.status == 200 else { throw TaskGateError.server(transport.problem(response)) }
        return try transport.decode(WireWorkerList.self, from: response).workers
    }

    /// `GET /healthz` (or `/readyz` when `ready`): whether the server answered 200, with the body it sent. Needs no
    /// token; a server that cannot be reached throws `disconnected`.
    public func health(ready: Bool = false) async throws -> (healthy: Bool, body: String) {
        try checkOpen()
        let response = try await transport.send(
            .GET, ready ? "/readyz" : "/healthz", timeout: configuration.requestTimeout)
        return (response.status == 200, String(decoding: response.body, as: UTF8.self))
    }

    /// A future for a task submitted earlier (by this or another client).
    public func future(id: String) async throws -> TaskFuture {
        future(for: WireTaskStatus(try await task(id)))
    }
}
