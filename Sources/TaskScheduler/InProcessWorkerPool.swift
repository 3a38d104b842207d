import Logging
import ServiceLifecycle
import Synchronization

/// Runs registered Swift functions on N slots inside the server process, as one worker of capacity N.
///
/// Each slot is a Swift task that reports its last outcome and takes its next assignment in one exchange with the
/// scheduler. A cancel request cancels the slot's Swift task (cooperative cancellation); that slot then reports,
/// retires and is replaced by a fresh one.
public final class InProcessWorkerPool: Service, Sendable {
    /// How the pool runs.
    public struct Configuration: Sendable {
        /// The worker's name.
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

    struct Slot {
        var task: Task<Void, Never>?
        var current: TaskID?
        var cancellable = true
        var cancelRequested = false
    }

    struct State {
        var workerID: WorkerID?
        var slots: [Slot] = []
        var liveSlots = 0
        var idle: [CheckedContinuation<Void, Never>] = []
        var generation: UInt64 = 0
        var stopping = false
        var stopped: CheckedContinuation<Void, Never>?
    }

    let scheduler: Scheduler
    let registry: FunctionRegistry
    /// How the pool runs.
    public let configuration: Configuration
    let logger: Logger
    let state = Mutex(State())

    /// Creates a pool; `start()` or `run()` registers it.
    public init(scheduler: Scheduler, registry: FunctionRegistry, configuration: Configuration, logger: Logger) {
        self.scheduler = scheduler
        self.registry = registry
        self.configuration = configuration
        self.logger = logger
    }

    /// The worker id, once started.
    public var workerID: WorkerID? { state.withLock { $0.workerID } }

    /// Registers the worker and starts the slots.
    public func start() throws(SchedulerError) {
        let registration = WorkerRegistration(
            name: configuration.name, functions: registry.names, capacity: max(1, configuration.slots))
        let id = try scheduler.registerWorker(registration) { cancelRequests in
            self.handleSignal(cancelRequests: cancelRequests)
        }
        state.withLock { state in
            state.workerID = id
            state.slots = Array(repeating: Slot(), count: registration.capacity)
            for index in state.slots.indices { spawnSlot(index, in: &state) }
        }
        logger.info("in-process worker started", metadata: ["worker.id": "\(id)", "worker.slots": "\(registration.capacity)"])
    }

    /// Runs until graceful shutdown, then stops (see `stop`).
    public func run() async throws {
        try start()
        try? await gracefulShutdown()
        await stop()
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
            let done = state.withLock { state in
                if state.liveSlots == 0 { return true }
                state.stopped = continuation
                return false
            }
            if done { continuation.resume() }
        }
        timer.cancel()
        if let id = workerID { scheduler.removeWorker(id, reason: .left) }
    }

    /// Stops taking new tasks at once; `stop()` then waits for the running ones.
    public func beginStopping() {
        let idle = state.withLock { state in
            state.stopping = true
            defer { state.idle.removeAll() }
            return state.idle
        }
        for continuation in idle { continuation.resume() }
    }

    private func cancelRunning() {
        let resume = state.withLock { state -> CheckedContinuation<Void, Never>? in
            for slot in state.slots { slot.task?.cancel() }
            defer { state.stopped = nil }
            return state.stopped
        }
        resume?.resume()
    }

    private func spawnSlot(_ index: Int, in state: inout State) {
        state.liveSlots += 1
        state.slots[index] = Slot()
        state.slots[index].task = Task { await self.slotLoop(index) }
    }

    func setCancellable(_ cancellable: Bool, slot: Int, task: TaskID) {
        state.withLock { state in
            if state.slots[slot].current == task { state.slots[slot].cancellable = cancellable }
        }
    }
}
