import Logging
import ServiceLifecycle
import Synchronization

/// Runs registered Swift functions on N slots inside the server process.
///
/// Each slot is its own worker of capacity 1 (`name-1` … `name-N`), so slots never share a lock with each other:
/// a slot reports its last outcome and takes its next assignment in one exchange with the scheduler. A cancel
/// request cancels the slot's Swift task (cooperative cancellation); that slot then reports, retires, and a
/// fresh Swift task takes its place.
public final class InProcessWorkerPool: Service, Sendable {
    /// How the pool runs.
    public struct Configuration: Sendable {
        /// The workers' name prefix.
        public var name = "in-process"
        /// How many functions run at once.
        public var slots = 2
        /// On stop, how long running functions may take before they are cancelled.
        public var drainGrace: Duration = .seconds(30)

        /// The defaults, with `slots` slots.
        public init(slots: Int = 2) {
            self.slots = slots
        }
    }

    let scheduler: Scheduler
    let registry: FunctionRegistry
    /// How the pool runs.
    public let configuration: Configuration
    let logger: Logger
    let slots: [Slot]
    let lifecycle = Mutex(Lifecycle())

    struct Lifecycle {
        var liveSlots = 0
        var stopped: CheckedContinuation<Void, Never>?
    }

    /// Creates a pool; `start()` or `run()` registers its workers.
    public init(scheduler: Scheduler, registry: FunctionRegistry, configuration: Configuration, logger: Logger) {
        self.scheduler = scheduler
        self.registry = registry
        self.configuration = configuration
        self.logger = logger
        self.slots = (0..<max(1, configuration.slots)).map { _ in Slot() }
    }

    /// The workers' ids, once started.
    public var workerIDs: [WorkerID] { slots.compactMap { slot in slot.state.withLock { $0.workerID } } }

    /// Registers one worker per slot and starts the slots.
    public func start() throws(SchedulerError) {
        for (index, slot) in slots.enumerated() {
            let registration = WorkerRegistration(
                name: "\(configuration.name)-\(index + 1)", functions: registry.names, capacity: 1)
            let id = try scheduler.registerWorker(registration) { cancelRequests in
                self.handleSignal(slot: index, cancelRequests: cancelRequests)
            }
            slot.state.withLock { $0.workerID = id }
        }
        for index in slots.indices { spawnSlot(index) }
        logger.info("in-process workers started", metadata: ["worker.slots": "\(slots.count)"])
    }

    /// Runs until graceful shutdown, then stops (see `stop`).
    public func run() async throws {
        try start()
        try? await gracefulShutdown()
        await stop()
    }

    /// Stops taking new tasks at once; `stop()` then waits for the running ones.
    public func beginStopping() {
        for slot in slots {
            let idle = slot.state.withLock { state in
                state.stopping = true
                defer { state.idle = nil }
                return state.idle
            }
            idle?.resume()
        }
    }

    /// Stops taking tasks, lets running ones finish within `drainGrace`, cancels the rest, and leaves the
    /// scheduler (whatever is still held is re-queued or failed as for any departing worker).
    public func stop() async {
        beginStopping()
        let grace = configuration.drainGrace
        let timer = Task {
            try? await Task.sleep(for: grace)
            self.cancelRunning()
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = lifecycle.withLock { lifecycle in
                if lifecycle.liveSlots == 0 { return true }
                lifecycle.stopped = continuation
                return false
            }
            if done { continuation.resume() }
        }
        timer.cancel()
        for id in workerIDs { scheduler.removeWorker(id, reason: .left) }
    }

    private func cancelRunning() {
        for slot in slots { slot.state.withLock { $0.task?.cancel() } }
        let resume = lifecycle.withLock { lifecycle in
            defer { lifecycle.stopped = nil }
            return lifecycle.stopped
        }
        resume?.resume()
    }

    func spawnSlot(_ index: Int) {
        lifecycle.withLock { $0.liveSlots += 1 }
        slots[index].state.withLock { state in
            state.current = nil
            state.cancelRequested = false
            state.task = Task { await self.slotLoop(index) }
        }
    }

    func slotExited(_ index: Int, retired: Bool) {
        let stopping = slots[index].state.withLock { $0.stopping }
        if retired && !stopping {
            spawnSlot(index)
        }
        let finished = lifecycle.withLock { lifecycle -> CheckedContinuation<Void, Never>? in
            lifecycle.liveSlots -= 1
            guard lifecycle.liveSlots == 0 else { return nil }
            defer { lifecycle.stopped = nil }
            return lifecycle.stopped
        }
        finished?.resume()
    }

    func setCancellable(_ cancellable: Bool, slot: Int, task: TaskID) {
        slots[slot].state.withLock { state in
            if state.current == task { state.cancellable = cancellable }
        }
    }
}

extension InProcessWorkerPool {
    /// One slot's state, touched by the slot itself and by its worker's signal handler.
    final class Slot: Sendable {
        struct State {
            var workerID: WorkerID?
            var task: Task<Void, Never>?
            var current: TaskID?
            var cancellable = true
            var cancelRequested = false
            var idle: CheckedContinuation<Void, Never>?
            var generation: UInt64 = 0
            var stopping = false
        }
        let state = Mutex(State())
    }
}
