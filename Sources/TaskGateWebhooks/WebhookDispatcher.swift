import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization
import TaskGateHTTP
import TaskGateStore
import TaskScheduler

/// Delivers completion webhooks: takes the attempts the scheduler says are due, POSTs each finished task to its
/// `callback_url` (signed, see `WebhookSigner`) with AsyncHTTPClient, and reports every outcome back to the scheduler,
/// which keeps the delivery's state on the task and decides on retries.
///
/// An attempt is sent only once the store has committed the task's terminal state, so a webhook never announces an
/// outcome a crash could take back. At most `concurrency` attempts are in flight; the others wait in order (they are
/// bounded by the retained tasks: each task has at most one attempt due at a time). Redirects are not followed (the
/// allow-list checked the URL given, not where it points). At shutdown the attempts in flight are cancelled and
/// stay pending: they are made again after the restart, with the same `webhook-id`, so delivery is at least once.
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

        /// Deliveries signed by `signer`, with the other settings at their defaults.
        public init(signer: WebhookSigner) {
            self.signer = signer
        }
    }

    /// The settings in force.
    public let configuration: Configuration
    let scheduler: Scheduler
    let store: TaskStore?
    let client: HTTPClient
    let logger: Logger
    private let orders: AsyncStream<DeliveryOrder>
    private let continuation: AsyncStream<DeliveryOrder>.Continuation
    /// Attempts handed over and not yet finished.
    private let queued = Backlog()

    private final class Backlog: Sendable {
        let count = Atomic<Int>(0)
    }

    /// A dispatcher for `scheduler`'s deliveries; `store` (in the durable modes) is waited on before each attempt.
    public init(scheduler: Scheduler, store: TaskStore?, configuration: Configuration, logger: Logger) {
        self.scheduler = scheduler
        self.store = store
        self.configuration = configuration
        self.logger = logger
        var settings = HTTPClient.Configuration()
        settings.redirectConfiguration = .disallow
        settings.timeout = .init(connect: .init(configuration.timeout), read: .init(configuration.timeout))
        settings.connectionPool = .init(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, configuration.concurrency))
        settings.decompression = .disabled
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: settings)
        (orders, continuation) = AsyncStream.makeStream(of: DeliveryOrder.self)
    }

    /// Attempts due and not finished (waiting for a slot, for the store, or in flight).
    public var backlog: Int { queued.count.load(ordering: .relaxed) }

    /// Starts taking the scheduler's due attempts (once, after the store's restore; `run` delivers them).
    public func attach() {
        let continuation = self.continuation
        let queued = self.queued
        scheduler.deliverCallbacks { orders in
            queued.count.add(orders.count, ordering: .relaxed)
            for order in orders { continuation.yield(order) }
        }
    }

    /// Delivers until shutdown.
    public func run() async throws {
        let limit = max(1, configuration.concurrency)
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for await order in orders.cancelOnGracefulShutdown() {
                if running >= limit {
                    await group.next()
                    running -= 1
                }
                group.addTask { await self.deliver(order) }
                running += 1
            }
            group.cancelAll()
        }
        continuation.finish()
        try? await client.shutdown()
    }

    /// One attempt: wait for the store, POST, report.
    func deliver(_ order: DeliveryOrder) async {
        defer { queued.count.subtract(1, ordering: .relaxed) }
        guard await committed(order.record.storeSeq) else { return }
        let outcome = await attempt(order)
        if Task.isCancelled { return }
        let record = order.record
        switch outcome {
        case .delivered: break
        case .gone:
            logger.info(
                "callback receiver answered 410 Gone; no further attempt",
                metadata: ["task.id": "\(record.id)", "callback.attempt": "\(order.attempt)"])
        case .failed(_, let detail):
            logger.notice(
                "callback attempt failed",
                metadata: [
                    "task.id": "\(record.id)", "callback.attempt": "\(order.attempt)", "callback.error": "\(detail)",
                ])
        }
        scheduler.deliveryAttempted(record.id, attempt: order.attempt, outcome: outcome)
    }

    /// Whether change `seq` is committed (waiting for it; false when cancelled first). A store that fails is waited
    /// out: nothing is announced before it is stored.
    private func committed(_ seq: UInt64) async -> Bool {
        guard let store, seq > store.committed else { return true }
        while !Task.isCancelled {
            let stored = await withCheckedContinuation { (done: CheckedContinuation<Bool, Never>) in
                store.whenCommitted(seq, timeout: .seconds(5)) { done.resume(returning: (try? $0.get()) != nil) }
            }
            if stored { return true }
            try? await Task.sleep(for: .seconds(1))
        }
        return false
    }

    /// Makes the request and says what it came to.
    func attempt(_ order: DeliveryOrder) async -> DeliveryOutcome {
        let record = order.record
        guard let url = record.callbackURL else { return .failed(status: nil, detail: "the task has no callback_url") }
        let now = scheduler.clock.now()
        let body = WebhookBody.render(record, at: now)
        let id = "msg_\(record.id)"
        let timestamp = now.nanoseconds / 1_000_000_000
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: configuration.userAgent)
        request.headers.add(name: "webhook-id", value: id)
        request.headers.add(name: "webhook-timestamp", value: String(timestamp))
        request.headers.add(
            name: "webhook-signature", value: configuration.signer.signature(id: id, timestamp: timestamp, body: body))
        request.headers.add(name: "taskgate-attempt", value: String(order.attempt))
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: .init(configuration.timeout))
            // The answer's body is not used; read a little of it so the connection can be reused.
            _ = try? await response.body.collect(upTo: 64 * 1_024)
            let status = Int(response.status.code)
            switch status {
            case 200..<300: return .delivered(status: status)
            case 410: return .gone
            default: return .failed(status: status, detail: "the receiver answered \(status)")
            }
        } catch {
            return .failed(status: nil, detail: Self.describe(error))
        }
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
