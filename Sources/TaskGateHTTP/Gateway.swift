import Logging
import Synchronization
import TaskGateStore
import TaskScheduler

/// The REST API over a `Scheduler`: routes requests to handlers and maps every outcome to a status code.
/// `handle` never blocks: waits park the request and complete it from the scheduler's wake-ups.
public final class Gateway: Sendable {
    /// Limits of the HTTP API.
    public struct Configuration: Sendable {
        /// Bodies above this many bytes are answered 413.
        public var maxBodyBytes = 1 << 20
        /// The longest wait a request may ask for; longer ones are clamped (the response says what applied).
        public var maxWait: Duration = .seconds(60)
        /// How long `DELETE /tasks/{id}` waits for the worker's confirm when the request does not say.
        public var defaultCancelWait: Duration = .seconds(5)
        /// Requests parked at most at once; beyond it waits are answered 503 + `Retry-After`.
        public var maxParked = 10_000
        /// The largest page of `GET /tasks`.
        public var maxListLimit = 1_000
        /// A remote worker's lease when it does not ask for one.
        public var defaultLease: Duration = .seconds(10)
        /// The leases a remote worker may ask for.
        public var leaseRange: ClosedRange<Duration> = .milliseconds(100) ... .seconds(3_600)
        /// How long an answer waits for its change to be stored while the store fails, before it is answered 503
        /// `not_stored`.
        public var storeTimeout: Duration = .seconds(10)
        /// Where completion webhooks may go (`callback_url`); empty refuses every callback.
        public var callbackAllow = CallbackAllowList()
        /// The event stream's limits (`GET /events`).
        public var events = EventHub.Configuration()

        /// The defaults.
        public init() {}
    }

    let scheduler: Scheduler
    /// The limits in force.
    public let configuration: Configuration
    let logger: Logger
    let parkedCount = Atomic<Int>(0)
    let accessTokens: Mutex<AccessTokens>
    let workerSecrets = WorkerSecrets()
    /// Finished tasks' bodies, rendered once.
    let rendered = RenderedTasks()
    /// What `/metrics` renders; nil answers it 404.
    public let metrics: GatewayMetrics?
    /// The durable store the scheduler writes to (nil in the `memory` mode): answers wait for their changes.
    public let store: TaskStore?
    /// Where answers wait for the store (nil without one).
    public let storeGate: StoreGate?
    /// What an acknowledgement means here.
    public var durability: Durability { store?.durability ?? .memory }
    /// `GET /events`: fed by the scheduler once an HTTP server pumps it (`GatewayService`).
    public let events: EventHub
    /// Open connections, for the metrics (set by the HTTP server in front, read at scrape time).
    let connectionCount = Mutex<(@Sendable () -> Int)?>(nil)

    /// Creates the API over `scheduler`; `tokens` turn auth on (see `AccessTokens`); `metrics` serves `/metrics`
    /// (the scheduler's observer should feed the same object).
    public init(
        scheduler: Scheduler, configuration: Configuration = Configuration(), tokens: AccessTokens = AccessTokens(),
        metrics: GatewayMetrics? = nil, store: TaskStore? = nil, logger: Logger
    ) {
        self.scheduler = scheduler
        self.store = store
        self.storeGate = store.map { StoreGate(store: $0, timeout: configuration.storeTimeout) }
        self.configuration = configuration
        self.accessTokens = Mutex(tokens)
        self.metrics = metrics
        self.logger = logger
        // Event ids name the run, so that a Last-Event-ID from before a restart is recognised.
        let run = UInt64(bitPattern: scheduler.clock.now().nanoseconds / 1_000_000)
        self.events = EventHub(configuration: configuration.events, run: String(run, radix: 36))
    }

    /// Feeds `events` from the scheduler (once; the HTTP server's event pump then renders and sends them).
    func startPublishing() {
        scheduler.publish(to: events.enqueue)
        events.connect { [scheduler] on in scheduler.setPublishing(on) }
    }

    /// The registration secret of remote worker `id` (what `POST /workers` answered it), for tools and tests that
    /// hold the gateway in-process.
    public func workerSecret(of id: WorkerID) -> String {
        workerSecrets.secret(of: id)
    }

    /// The tokens in force.
    public var tokens: AccessTokens { accessTokens.withLock { $0 } }

    /// Replaces the tokens (a rotation): requests from now on are checked against `tokens`.
    public func replaceTokens(_ tokens: AccessTokens) {
        accessTokens.withLock { $0 = tokens }
    }

    /// Requests parked right now.
    public var parked: Int { parkedCount.load(ordering: .relaxed) }

    /// Starts the drain: readiness fails, submissions are refused, and every parked request is answered now
    /// with the current state.
    public func beginDrain() {
        scheduler.drain()
        events.endAll()
    }

    /// Answers one request (on the caller's thread; never blocks) and runs the wake-ups it causes at once.
    public func handle(_ request: HTTPRequest) -> HandlerResult {
        var deferred = WakeupQueue()
        defer { deferred.run() }
        return handle(request, deferring: &deferred)
    }

    /// Answers one request (on the caller's thread; never blocks), leaving the worker wake-ups it causes in
    /// `deferred` for the caller to run after the answer (the HTTP server runs them once per event-loop iteration).
    public func handle(_ request: HTTPRequest, deferring deferred: inout WakeupQueue) -> HandlerResult {
        let result = answer(request, deferring: &deferred)
        guard let storeGate, case .respond(let answered) = result else { return result }
        let response = barrier(answered)
        guard response.storeSeq > storeGate.committed else { return result }
        return .awaitStore(StoreWait(response: response, instance: request.path, gate: storeGate))
    }

    /// Completes a parked request with `response` once the store has committed what it reports (at once without a
    /// store); if the store fails past `storeTimeout`, with 503 `not_stored` instead.
    func complete(_ responder: Responder, with response: HTTPResponse, instance: String) {
        let response = barrier(response)
        guard let storeGate, response.storeSeq > 0 else {
            responder.complete(response)
            return
        }
        storeGate.complete(responder, with: StoreWait(response: response, instance: instance, gate: storeGate))
    }

    /// A 410 says a task was evicted: it waits for everything done so far (the eviction among it) to be stored, so
    /// that a task answered 410 does not come back after a crash.
    func barrier(_ response: HTTPResponse) -> HTTPResponse {
        guard store != nil, response.status == 410, response.storeSeq == 0 else { return response }
        var response = response
        response.storeSeq = scheduler.storeSeq
        return response
    }

    /// Refuses a submission while the store cannot write (a full disk, an I/O error), so nothing is accepted that
    /// could not be stored.
    func checkStoreAccepts() throws(Problem) {
        if let store, let failure = store.failure { throw .storeRefusing(failure) }
    }

    private func answer(_ request: HTTPRequest, deferring deferred: inout WakeupQueue) -> HandlerResult {
        do throws(Problem) {
            if let defect = request.defect { throw Problem(defect) }
            if request.bodyTooLarge { throw Problem.payloadTooLarge(configuration.maxBodyBytes) }
            switch request.method {
            case "HEAD":
                // A GET whose body libmicrohttpd leaves out (the headers, Content-Length included, stay). A stream
                // would never end: it answers its headers and is closed at once.
                var get = request
                get.method = "GET"
                let result = try route(get, deferring: &deferred)
                guard case .stream(let subscription, let headers) = result else { return result }
                _ = subscription.takeAvailableAndClose()
                return .respond(HTTPResponse(status: 200, headers: headers))
            case "OPTIONS":
                return .respond(try options(request))
            default:
                return try route(request, deferring: &deferred)
            }
        } catch {
            return .respond(error.response(instance: request.path))
        }
    }

    /// `OPTIONS`: 204 with the methods the path allows in `Allow` (found by routing the request, which every route
    /// refuses with the list), or the route's 404. Open like the probes: it tells nothing about tasks.
    private func options(_ request: HTTPRequest) throws(Problem) -> HTTPResponse {
        var deferred = WakeupQueue()
        do {
            _ = try route(request, deferring: &deferred)
        } catch let problem where problem.code == "method_not_allowed" {
            return HTTPResponse(status: 204, headers: problem.headers)
        }
        throw .routeNotFound(request.path)
    }

    private func route(_ request: HTTPRequest, deferring deferred: inout WakeupQueue) throws(Problem) -> HandlerResult {
        let path = request.path
        let method = request.method
        if method != "OPTIONS" { try authorize(request) }
        switch path {
        case "/tasks":
            switch method {
            case "POST": return try submit(request, deferring: &deferred)
            case "GET": return try list(request)
            default: throw .methodNotAllowed(method, allowed: ["GET", "POST"])
            }
        case "/tasks/batch":
            guard method == "POST" else { throw .methodNotAllowed(method, allowed: ["POST"]) }
            return try submitBatch(request, deferring: &deferred)
        case "/events":
            guard method == "GET" else { throw .methodNotAllowed(method, allowed: ["GET"]) }
            return try events(request)
        case "/tasks/wait":
            guard method == "POST" else { throw .methodNotAllowed(method, allowed: ["POST"]) }
            return try waitMany(request)
        case "/metrics":
            guard method == "GET" else { throw .methodNotAllowed(method, allowed: ["GET"]) }
            guard let metrics else { throw .routeNotFound(path) }
            let body = metrics.render(
                scheduler.metricsSnapshot, parked: parked, connections: connectionCount.withLock { $0?() },
                store: store, now: scheduler.clock.now())
            return .respond(
                HTTPResponse(
                    status: 200,
                    headers: [
                        ("Content-Type", "text/plain; version=0.0.4; charset=utf-8"), ("Cache-Control", "no-store"),
                    ],
                    body: body))
        case "/stats", "/healthz", "/readyz":
            guard method == "GET" else { throw .methodNotAllowed(method, allowed: ["GET"]) }
            return .respond(health(String(path.dropFirst())))
        case _ where path == "/ui" || path.hasPrefix("/ui/"):
            return try dashboard(request)
        case _ where path.hasPrefix("/workers") && (path.utf8.count == 8 || path.utf8.dropFirst(8).first == 47):
            return try routeWorkers(request, deferring: &deferred)
        default:
            if path.hasPrefix("/tasks/"), path.hasSuffix("/logs"), path.utf8.count > 12 {
                // `/tasks/{id}/logs`.
                let raw = String(path.utf8.dropFirst(7).dropLast(5))!
                guard !raw.utf8.contains(UInt8(ascii: "/")) else { throw .routeNotFound(path) }
                guard method == "GET" else { throw .methodNotAllowed(method, allowed: ["GET"]) }
                return try logs(id: raw)
            }
            // `/tasks/{id}`: one more segment, not empty.
            guard path.hasPrefix("/tasks/"), path.utf8.count > 7, !path.utf8.dropFirst(7).contains(UInt8(ascii: "/"))
            else { throw .routeNotFound(path) }
            let raw = String(path.utf8.dropFirst(7))!
            switch method {
            case "GET": return try get(request, id: raw)
            case "DELETE": return try cancel(request, id: raw)
            default: throw .methodNotAllowed(method, allowed: ["DELETE", "GET"])
            }
        }
    }

    /// Refuses the request unless auth is off, the route is a probe, or its bearer token has a role the route admits:
    /// 401 without a valid token, 403 with a valid token of another role.
    func authorize(_ request: HTTPRequest) throws(Problem) {
        let access = RouteAccess(method: request.method, path: request.path)
        if access == .open { return }
        let presentedHeader = request.headers[.authorization]
        let failure: Problem? = accessTokens.withLock { tokens in
            guard tokens.isEnabled else { return nil }
            guard var header = presentedHeader else { return .unauthorized(presented: false) }
            return header.withUTF8 { bytes -> Problem? in
                guard let presented = AccessTokens.bearerToken(bytes) else { return .unauthorized(presented: true) }
                var known = false
                for role in AccessTokens.Role.allCases where tokens.admits(bytes: presented, as: role) {
                    if access.admits(role) { return nil }
                    known = true
                }
                return known ? .forbidden(access.roles) : .unauthorized(presented: true)
            }
        }
        if let failure { throw failure }
    }

    /// Which roles a route admits, decided from the method and path without allocating.
    enum RouteAccess: Equatable {
        /// The probes, open to every caller.
        case open
        /// The tasks API and `/stats`.
        case client
        /// Registering, polling and leaving.
        case worker
        /// Reading the workers list: observability for both.
        case clientOrWorker
        /// `/metrics`: clients and scrapers.
        case clientOrMetrics

        init(method: String, path: String) {
            switch path {
            case "/healthz", "/readyz": self = .open
            case _ where path == "/ui" || path.hasPrefix("/ui/"): self = .open
            case "/metrics": self = .clientOrMetrics
            case _ where path.hasPrefix("/workers"):
                self = method == "GET" || method == "HEAD" ? .clientOrWorker : .worker
            default: self = .client
            }
        }

        func admits(_ role: AccessTokens.Role) -> Bool {
            switch self {
            case .open: true
            case .clientOrWorker: role != .metrics
            case .clientOrMetrics: role != .worker
            case .client: role == .client
            case .worker: role == .worker
            }
        }

        /// The roles admitted, for the 403's detail.
        var roles: [AccessTokens.Role] { AccessTokens.Role.allCases.filter(admits) }
    }

    /// Parks the request until `condition` holds or `timeout` passes, then answers with `render`. Refuses with
    /// 503 when too many requests are parked.
    func park(
        _ condition: WaitCondition, timeout: Duration,
        render: @escaping @Sendable (WaitResult) -> HTTPResponse
    ) throws(Problem) -> HandlerResult {
        guard let parked = parkIfRoom(condition, timeout: timeout, render: render) else {
            throw .tooManyWaiters(configuration.maxParked)
        }
        return parked
    }

    /// Like `park`, but returns nil instead of refusing when too many requests are parked — for requests whose
    /// action already took effect (a task was accepted, a cancel requested), which must then answer without
    /// waiting rather than with an error that hides the effect.
    func parkIfRoom(
        _ condition: WaitCondition, timeout: Duration, instance: String = "/tasks",
        render: @escaping @Sendable (WaitResult) -> HTTPResponse
    ) -> HandlerResult? {
        guard reserveParkedSlot() else { return nil }
        let timeout = scheduler.isDraining ? .zero : timeout
        return .park { [self] responder in
            let waiter = scheduler.wait(for: condition, timeout: timeout) { result in
                self.parkedCount.subtract(1, ordering: .relaxed)
                self.complete(responder, with: render(result), instance: instance)
            }
            // A client that goes away frees its slot now, not at its deadline.
            if let waiter { responder.onHangup { [scheduler] in scheduler.release(waiter) } }
        }
    }

    /// Counts one more parked request if there is room.
    func reserveParkedSlot() -> Bool {
        let count = parkedCount.wrappingAdd(1, ordering: .relaxed).newValue
        guard count <= configuration.maxParked else {
            parkedCount.subtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    /// Parses a task id from the path, or answers 404 for something that cannot be an id.
    func taskID(_ raw: String) throws(Problem) -> TaskID {
        guard let id = TaskID(raw) else { throw .taskNotFound(raw) }
        return id
    }
}
