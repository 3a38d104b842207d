import AsyncHTTPClient
import DequeModule
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization
import TaskGateHTTP
import TaskGateStore
import TaskScheduler

#if canImport(Glibc)
    import Glibc
#endif

/// Delivers completion webhooks: takes the attempts the scheduler says are due, POSTs each finished task to its
/// `callback_url` (signed, see `WebhookSigner`) with AsyncHTTPClient, and reports every outcome back to the scheduler,
/// which keeps the delivery's state on the task and decides on retries.
///
/// All of it runs on one event loop of its own, at a lower CPU priority than the server's request threads (`nice`):
/// accepting and running tasks comes first, and while the machine is saturated the deliveries wait (in order, bounded
/// by the retained tasks: a task has at most one attempt due at a time) and catch up once it is not. An attempt is
/// sent only once the store has committed the task's terminal state, so a webhook never announces an outcome a crash
/// could take back. At most `concurrency` attempts are in flight. Redirects are not followed (the allow-list checked
/// the URL given, not where it points). At shutdown the attempts in flight are abandoned and stay pending: they are
/// made again after the restart, with the same `webhook-id`, so delivery is at least once.
public final class WebhookDispatcher: Service, Sendable {
    /// How deliveries are made.
    public struct Configuration: Sendable {
        /// Signs each request.
        public var signer: WebhookSigner
        /// How long one attempt may take, connection included, before it counts as failed.
        public var timeout: Duration = .seconds(10)
        /// Attempts in flight at most.
        public var concurrency = 64
        /// The `User-Agent` of each request.
        public var userAgent = "taskgate-webhooks/1"
        /// How much lower than the server's threads the delivery thread runs (its `nice` increment, 0 to 19).
        public var niceness: Int32 = 10

        /// Deliveries signed by `signer`, with the other settings at their defaults.
        public init(signer: WebhookSigner) {
            self.signer = signer
        }
    }

    /// What lives on the delivery loop.
    private struct LoopState {
        var waiting: Deque<DeliveryOrder> = []
        var inFlight = 0
        var closed = false
    }

    /// The settings in force.
    public let configuration: Configuration
    let scheduler: Scheduler
    let store: TaskStore?
    let logger: Logger
    private let group: MultiThreadedEventLoopGroup
    private let loop: any EventLoop
    private let client: HTTPClient
    private let state: NIOLoopBoundBox<LoopState>
    /// Orders handed over by the scheduler and not yet moved to the loop (the loop is woken when it was empty).
    private let inbox = Mutex<[DeliveryOrder]>([])

    /// A dispatcher for `scheduler`'s deliveries; `store` (in the durable modes) is waited on before each attempt.
    public init(scheduler: Scheduler, store: TaskStore?, configuration: Configuration, logger: Logger) {
        self.scheduler = scheduler
        self.store = store
        self.configuration = configuration
        self.logger = logger
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        loop = group.next()
        let niceness = configuration.niceness
        loop.execute {
            // On Linux `who` 0 is the calling thread: only the delivery thread is lowered.
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
        }
        var settings = HTTPClient.Configuration()
        settings.redirectConfiguration = .disallow
        // The per-request deadline bounds the whole attempt; a read timeout as well would cost a timer per read.
        settings.timeout = .init(connect: .init(configuration.timeout), read: nil)
        settings.connectionPool = .init(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, configuration.concurrency))
        settings.decompression = .disabled
        client = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: settings)
        state = .makeBoxSendingValue(LoopState(), as: LoopState.self, eventLoop: loop)
    }

    /// Starts taking the scheduler's due attempts (once, after the store's restore).
    public func attach() {
        scheduler.deliverCallbacks { [self] orders in
            let wake = inbox.withLock { inbox in
                inbox.append(contentsOf: orders)
                return inbox.count == orders.count
            }
            if wake { loop.execute { self.takeInbox() } }
        }
    }

    /// Delivers until shutdown; then abandons what is waiting or in flight (it stays pending on its task).
    public func run() async throws {
        try? await gracefulShutdown()
        try? await loop.submit {
            self.state.value.closed = true
            self.state.value.waiting.removeAll()
        }.get()
        try? await client.shutdown()
        try? await group.shutdownGracefully()
    }

    // MARK: - On the loop

    private func takeInbox() {
        let orders = inbox.withLock { inbox in
            defer { inbox.removeAll(keepingCapacity: true) }
            return inbox
        }
        guard !state.value.closed else { return }
        state.value.waiting.append(contentsOf: orders)
        pump()
    }

    private func pump() {
        let limit = max(1, configuration.concurrency)
        while state.value.inFlight < limit, let order = state.value.waiting.popFirst() {
            state.value.inFlight += 1
            whenStored(order)
        }
    }

    /// Sends `order` once its change is committed; a store that fails is waited out (nothing is announced before it
    /// is stored).
    private func whenStored(_ order: DeliveryOrder) {
        guard let store, order.record.storeSeq > store.committed else { return send(order) }
        store.whenCommitted(order.record.storeSeq, timeout: .seconds(5)) { [self] result in
            loop.execute {
                guard !self.state.value.closed else { return }
                if (try? result.get()) != nil {
                    self.send(order)
                } else {
                    self.loop.scheduleTask(in: .seconds(1)) { self.whenStored(order) }
                }
            }
        }
    }

    private func send(_ order: DeliveryOrder) {
        let record = order.record
        let request: HTTPClient.Request
        do {
            request = try makeRequest(order)
        } catch {
            return finish(order, .failed(status: nil, detail: "callback_url is not a URL the client can call"))
        }
        client.execute(
            request: request, delegate: StatusOnly(), eventLoop: .delegate(on: loop),
            deadline: .now() + .init(configuration.timeout)
        ).futureResult.whenComplete { [self] result in
            switch result {
            case .success(let status) where (200..<300).contains(status):
                finish(order, .delivered(status: status))
            case .success(410):
                logger.info(
                    "callback receiver answered 410 Gone; no further attempt",
                    metadata: ["task.id": "\(record.id)", "callback.attempt": "\(order.attempt)"])
                finish(order, .gone)
            case .success(let status):
                finish(order, .failed(status: status, detail: "the receiver answered \(status)"))
            case .failure(let error):
                finish(order, .failed(status: nil, detail: Self.describe(error)))
            }
        }
    }

    private func finish(_ order: DeliveryOrder, _ outcome: DeliveryOutcome) {
        state.value.inFlight -= 1
        guard !state.value.closed else { return }
        if case .failed(_, let detail) = outcome {
            logger.debug(
                "callback attempt failed",
                metadata: [
                    "task.id": "\(order.record.id)", "callback.attempt": "\(order.attempt)",
                    "callback.error": "\(detail)",
                ])
        }
        scheduler.deliveryAttempted(order.record.id, attempt: order.attempt, outcome: outcome)
        pump()
    }

    /// The signed POST of one attempt.
    func makeRequest(_ order: DeliveryOrder) throws -> HTTPClient.Request {
        let record = order.record
        let now = scheduler.clock.now()
        let body = WebhookBody.render(record, at: now)
        let id = "msg_\(record.id)"
        let timestamp = now.nanoseconds / 1_000_000_000
        var headers = NIOHTTP1.HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "User-Agent", value: configuration.userAgent)
        headers.add(name: "webhook-id", value: id)
        headers.add(name: "webhook-timestamp", value: String(timestamp))
        headers.add(
            name: "webhook-signature", value: configuration.signer.signature(id: id, timestamp: timestamp, body: body))
        headers.add(name: "taskgate-attempt", value: String(order.attempt))
        return try HTTPClient.Request(
            url: record.callbackURL ?? "", method: .POST, headers: headers, body: .bytes(body))
    }

    /// A short, stable description of a failed request.
    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout:
                return "no answer within the timeout"
            case .redirectLimitReached, .redirectCycleDetected:
                return "the receiver redirected (redirects are not followed)"
            default:
                return "request failed: \(error)"
            }
        }
        return "request failed: \(error)"
    }
}

/// Keeps the status of an answer and discards its body (a receiver's body is not used, and is not held).
private final class StatusOnly: HTTPClientResponseDelegate, @unchecked Sendable {  // used on its request's loop only
    typealias Response = Int
    private var status = 0

    func didReceiveHead(task: HTTPClient.Task<Int>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        status = Int(head.status.code)
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Int>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        task.eventLoop.makeSucceededVoidFuture()
    }

    func didFinishRequest(task: HTTPClient.Task<Int>) throws -> Int { status }
}
