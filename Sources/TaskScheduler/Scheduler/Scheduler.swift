import Logging
import Synchronization

/// The scheduler: a `SchedulerCore` behind a lock, with the async waits, worker signals and timer loop around it.
///
/// Every method takes the lock once, runs one core event, and then — outside the lock — resumes the waiters and
/// signals the workers the event released. Safe to call from any thread, including C callbacks.
public final class Scheduler: Sendable {
    struct State: Sendable {
        var core: SchedulerCore
        var continuations: [WaiterID: Resumer] = [:]
        /// Results of waiters released before their continuation was stored.
        var early: [WaiterID: WaitResult] = [:]
        var signalHandlers: [WorkerID: @Sendable (_ cancelRequests: Bool) -> Void] = [:]
        /// Receives the durations core events measured, outside the lock.
        var observer: (@Sendable ([Observation]) -> Void)?
        /// Receives the changes for the durable store, under the lock, in the core's order.
        var storeSink: (@Sendable ([StoreChange]) -> Void)?
        /// Receives the changes for those following the work, under the lock, in the core's order.
        var publishSink: (@Sendable ([PublishedChange]) -> Void)?
        /// Receives the completion webhook attempts that are due, under the lock.
        var deliverySink: (@Sendable ([DeliveryOrder]) -> Void)?
    }

    let state: Mutex<State>
    /// Mirrors `!core.accepting` (set in the same locked step), so a request can ask without taking the lock.
    let drainingFlag = Atomic<Bool>(false)
    /// The time source for every deadline.
    public let clock: any SchedulerClock
    /// The limits and defaults in force.
    public let configuration: SchedulerConfiguration
    let logger: Logger

    /// Creates an empty scheduler; `observer` gets the durations each event measured, for the metrics.
    public init(
        configuration: SchedulerConfiguration = SchedulerConfiguration(), clock: any SchedulerClock = SystemClock(),
        logger: Logger, observer: (@Sendable ([Observation]) -> Void)? = nil
    ) {
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        var core = SchedulerCore(configuration: configuration, logger: logger)
        core.observing = observer != nil
        self.state = Mutex(State(core: core, observer: observer))
    }

    /// How a parked waiter is resumed: an awaiting Swift task, or a callback (a parked HTTP request).
    enum Resumer: Sendable {
        case continuation(CheckedContinuation<WaitResult, Never>)
        case callback(@Sendable (WaitResult) -> Void)

        func resume(_ result: WaitResult) {
            switch self {
            case .continuation(let continuation): continuation.resume(returning: result)
            case .callback(let callback): callback(result)
            }
        }
    }

    /// What a core event left to do outside the lock: resume waiters, signal workers. Run it exactly once.
    public struct Wakeups: Sendable {
        var resumes: [(Resumer, WaitResult)] = []
        var signals: [(@Sendable (Bool) -> Void, Bool)] = []
        var observations: [Observation] = []
        var observer: (@Sendable ([Observation]) -> Void)?
        /// The number of the last change the event handed to the durable store (0 for none): an acknowledgement of
        /// the event waits until the store has committed it.
        public internal(set) var storeSeq: UInt64 = 0

        /// Nothing to do.
        public init() {}

        /// Whether there is nothing to run.
        public var isEmpty: Bool { resumes.isEmpty && signals.isEmpty && observations.isEmpty }

        /// Adds `other`'s work after this one's.
        public mutating func append(_ other: Wakeups) {
            let seq = max(storeSeq, other.storeSeq)
            defer { storeSeq = seq }
            if other.isEmpty { return }
            if isEmpty {
                self = other
                return
            }
            resumes.append(contentsOf: other.resumes)
            signals.append(contentsOf: other.signals)
            observations.append(contentsOf: other.observations)
            observer = observer ?? other.observer
        }

        /// Resumes the waiters and signals the workers.
        public func run() {
            for (resumer, result) in resumes { resumer.resume(result) }
            for (signal, cancelRequests) in signals { signal(cancelRequests) }
            if !observations.isEmpty { observer?(observations) }
        }
    }

    /// Runs one core event under the lock and returns its result with the work it left.
    func performDeferred<R: Sendable, E: Error>(
        _ body: (inout SchedulerCore, Timestamp, inout Effects) throws(E) -> R
    ) throws(E) -> (R, Wakeups) {
        let now = clock.now()
        return try state.withLock { (state) throws(E) -> (R, Wakeups) in
            var effects = Effects()
            let result = try body(&state.core, now, &effects)
            return (result, state.collect(effects, now: now))
        }
    }

    /// Runs one core event under the lock, then its work outside.
    func perform<R: Sendable, E: Error>(
        _ body: (inout SchedulerCore, Timestamp, inout Effects) throws(E) -> R
    ) throws(E) -> R {
        let (result, work) = try performDeferred(body)
        work.run()
        return result
    }

    /// Reads the core under the lock.
    func read<R: Sendable, E: Error>(_ body: (borrowing SchedulerCore) throws(E) -> R) throws(E) -> R {
        try state.withLock { (state) throws(E) -> R in try body(state.core) }
    }
}

extension Scheduler.State {
    mutating func collect(_ effects: Effects, now: Timestamp) -> Scheduler.Wakeups {
        var work = Scheduler.Wakeups()
        if effects.isEmpty { return work }
        var effects = effects
        core.settleParkedPolls(now: now, effects: &effects)
        if !effects.stored.isEmpty {
            storeSink?(effects.stored)
            work.storeSeq = effects.lastStoreSeq
        }
        if !effects.published.isEmpty { publishSink?(effects.published) }
        if !effects.deliveries.isEmpty { deliverySink?(effects.deliveries) }
        for (id, result) in effects.resolved {
            if let continuation = continuations.removeValue(forKey: id) {
                work.resumes.append((continuation, result))
            } else {
                early[id] = result
            }
        }
        for (workerID, cancelRequests) in effects.signaledWorkers {
            if let handler = signalHandlers[workerID] { work.signals.append((handler, cancelRequests)) }
        }
        if !effects.observations.isEmpty {
            work.observations = effects.observations
            work.observer = observer
        }
        return work
    }
}
