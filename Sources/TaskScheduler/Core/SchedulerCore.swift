import DequeModule
import HeapModule
import Logging

/// The scheduler's whole state as one value: task table, queues, workers, waiters, timers and retention.
///
/// Every event is a `mutating` method that takes the current time and appends what must happen outside the
/// owner's lock (resume waiters, signal workers) to an `Effects`. It does no I/O, never suspends and never
/// traps on a protocol violation: an illegal transition is logged, counted and ignored.
package struct SchedulerCore: Sendable {
    /// The limits and defaults in force.
    package let configuration: SchedulerConfiguration
    var logger: Logger

    var tasks = TaskTable()
    var nextTaskID: UInt64
    var pending = PendingQueues()
    var workers = WorkerTable()
    /// Function names interned to small indexes: queues and worker lookups never hash a name on the hot path.
    var functionIndex: [String: Int] = [:]
    var functionNames: [String] = []
    /// Counts per function, by function index.
    var functionCounts: [FunctionCounts] = []
    /// Workers offering each function, by function index.
    var workersByFunction: [[WorkerID]] = []
    var nextWorkerID: UInt64 = 1
    /// The first worker id of this run: ids from `firstWorkerID` up to `nextWorkerID` were handed out.
    var firstWorkerID: UInt64 = 1
    var leaseDeadlines: [WorkerID: Timestamp] = [:]
    var waiters: [WaiterID: WaiterEntry] = [:]
    var nextWaiterID: UInt64 = 1
    var timers = Heap<TimerEntry>()
    var liveTimers = 0
    /// Finished tasks in the order they finished: the retention queue.
    var finished: Deque<TaskID> = []
    /// What the records in `finished` weigh (`TaskRecord.retainedBytes`).
    var finishedBytes = 0
    var tombstones: [TaskID: Tombstone] = [:]
    var tombstoneOrder: Deque<TaskID> = []
    var idempotency: [String: IdempotencyEntry] = [:]
    var stateCounts = [Int](repeating: 0, count: TaskState.allCases.count)
    /// Finished tasks whose completion webhook is still pending.
    var pendingCallbacks = 0
    /// The latest tasks that failed (some may be evicted since), oldest first.
    var recentFailures: Deque<TaskID> = []
    static let recentFailureCount = 20
    /// Running totals since start.
    package internal(set) var counters = SchedulerCounters()
    /// Whether events record the durations they measure (`Effects.observations`): only when someone reads them.
    package var observing = false
    /// Whether events list their changes for the durable store (`Effects.stored`).
    package var persisting = false
    /// Whether events list their changes for those following the work (`Effects.published`). Off while nobody
    /// follows: a change is then only counted in `unpublished` (listing one copies its task's record, under the lock).
    package var publishing = false
    /// Changes passed over while `publishing` was off, since its owner last read them (`Scheduler.setPublishing`).
    package var unpublished = 0
    /// Whether due completion webhook attempts are listed in `Effects.deliveries` (once an owner delivers them).
    package internal(set) var delivering = false
    /// The number of the last change listed for the store in this run.
    package internal(set) var storeSeq: UInt64 = 0
    /// False once draining started: submissions fail with `shutting_down`.
    package internal(set) var accepting = true

    /// An empty scheduler.
    package init(configuration: SchedulerConfiguration = SchedulerConfiguration(), logger: Logger) {
        var configuration = configuration
        // A just-finished record must survive its own transition.
        configuration.maxRetainedTasks = max(1, configuration.maxRetainedTasks)
        configuration.maxTombstones = max(1, configuration.maxTombstones)
        self.configuration = configuration
        self.logger = logger
        // Ids of this run start at a random multiple of 2^32, so an id from an earlier run is unlikely to be
        // mistaken for one of this run.
        self.nextTaskID = configuration.randomizeTaskIDs ? UInt64.random(in: 1..<(1 << 31)) << 32 : 1
        // Worker ids too: a remote worker that outlived a server restart must not pass for a worker of this run.
        self.firstWorkerID = configuration.randomizeTaskIDs ? UInt64.random(in: 1..<(1 << 20)) << 20 : 1
        self.nextWorkerID = firstWorkerID
    }

    /// The current record of a task, or why there is none.
    package func lookup(_ id: TaskID) -> TaskLookup {
        if let record = tasks[id] { return .found(record) }
        if tombstones[id] != nil { return .expired(id) }
        return .notFound(id)
    }

    /// Stops accepting submissions (drain).
    package mutating func stopAccepting() {
        accepting = false
    }

    // MARK: - Transitions

    /// Moves a task to `next` if the state machine allows it, bumps its version, keeps the counts and wakes
    /// its waiters. Returns false (and logs) for an illegal transition.
    @discardableResult
    mutating func transition(
        _ id: TaskID, to next: TaskState, now: Timestamp, effects: inout Effects,
        _ update: (inout TaskRecord) -> Void = { _ in }
    ) -> Bool {
        guard let index = tasks.slot(of: id) else { return false }
        return transition(at: index, to: next, now: now, effects: &effects, update)
    }

    /// `transition(_:to:now:effects:_:)` for the task in a live slot.
    @discardableResult
    mutating func transition(
        at index: Int, to next: TaskState, now: Timestamp, effects: inout Effects,
        _ update: (inout TaskRecord) -> Void = { _ in }
    ) -> Bool {
        let id = tasks[slot: index].id
        let from = tasks[slot: index].state
        guard from.canTransition(to: next) else {
            counters.illegalTransitions += 1
            logger.warning(
                "illegal task transition ignored",
                metadata: ["task.id": "\(id)", "task.state": "\(from.rawValue)", "task.next": "\(next.rawValue)"])
            return false
        }
        stateCounts[from.index] -= 1
        stateCounts[next.index] += 1
        functionCounts[Int(tasks[slot: index].functionIndex)].move(from: from, to: next)
        if observing, from == .running || from == .canceling, next.isTerminal || next == .pending,
            let handedOver = tasks[slot: index].deliveredAt
        {
            // A run ends: finished, timed out, cancelled, or taken back from its worker after the hand-over.
            effects.observations.append(.run(now - handedOver))
        }
        update(&tasks[slot: index])
        tasks[slot: index].state = next
        if from == .running || from == .canceling, next != .canceling { closeAttempt(at: index, next: next, now: now) }
        tasks[slot: index].version += 1
        tasks[slot: index].updatedAt = now
        if next.isTerminal {
            tasks[slot: index].finishedAt = now
            tasks[slot: index].expiresAt = now + configuration.resultTTL
            tasks[slot: index].holder = nil
            counters.recordTerminal(next)
            functionCounts[Int(tasks[slot: index].functionIndex)].recordTerminal(next)
            if next == .failed {
                recentFailures.append(id)
                if recentFailures.count > Self.recentFailureCount { recentFailures.removeFirst() }
            }
            finished.append(id)
            finishedBytes += tasks[slot: index].retainedBytes
            if tasks[slot: index].callbackURL != nil, tasks[slot: index].callback == nil {
                tasks[slot: index].callback = CallbackDelivery(
                    state: .pending, attempts: 0, lastStatus: nil, lastError: nil, nextAttemptAt: now, finishedAt: nil)
                pendingCallbacks += 1
            }
        }
        if persisting { storeRecord(at: index, created: false, effects: &effects) }
        if announces() { effects.published.append(.task(tasks[slot: index])) }
        if delivering, next.isTerminal, tasks[slot: index].callback?.attempts == 0 {
            // Stamped with its store change: the deliverer sends it once that is committed.
            effects.deliveries.append(DeliveryOrder(record: tasks[slot: index], attempt: 1))
        }
        notifyWaiters(of: id, effects: &effects)
        if next.isTerminal {
            // The one just finished stays even if it alone is over the byte bound.
            while finished.count > 1
                && (finished.count > configuration.maxRetainedTasks || finishedBytes > configuration.maxRetainedBytes)
            {
                evictOldestFinished(now: now, effects: &effects)
            }
        }
        return true
    }

    /// Lists the record in `slot` for the store (as created, or as changed) and stamps it with the change's number.
    /// When the event's last listed change is already this record's (a submission assigned at once), that change
    /// takes the record as it is now instead, keeping its kind and number: the store writes a record's last state,
    /// and one change less crosses to its writer.
    mutating func storeRecord(at slot: Int, created: Bool, effects: inout Effects) {
        let id = tasks[slot: slot].id
        let listed = effects.lastStoredRecord.flatMap { $0.id == id ? $0.created : nil }
        if listed == nil { storeSeq += 1 }
        tasks[slot: slot].storeSeq = storeSeq
        let record = tasks[slot: slot]
        if let listed {
            effects.stored[effects.stored.count - 1] = listed ? .created(record) : .updated(record)
        } else {
            effects.stored.append(created ? .created(record) : .updated(record))
            effects.lastStoreSeq = storeSeq
            effects.lastStoredRecord = (id, created)
        }
    }

    /// Whether a change is to be listed for those following the work (`publishing`); one that is not is counted in
    /// `unpublished` instead. Ask it only where the change is made, once per change.
    mutating func announces() -> Bool {
        if !publishing { unpublished &+= 1 }
        return publishing
    }

    /// Lists a change that is not a record's for the store.
    mutating func store(_ change: StoreChange, effects: inout Effects) {
        storeSeq += 1
        effects.stored.append(change)
        effects.lastStoreSeq = storeSeq
        effects.lastStoredRecord = nil
    }

    /// Schedules a pending task: onto the least-loaded worker with room that offers its function, else into the
    /// queue (at the front for a re-queued task).
    mutating func schedule(_ id: TaskID, now: Timestamp, effects: inout Effects, requeued: Bool = false) {
        schedule(at: tasks.slot(of: id)!, now: now, effects: &effects, requeued: requeued)
    }

    /// `schedule(_:now:effects:requeued:)` for the task in a live slot.
    mutating func schedule(at index: Int, now: Timestamp, effects: inout Effects, requeued: Bool = false) {
        let function = Int(tasks[slot: index].functionIndex)
        if let worker = leastLoadedWorker(offering: function) {
            assign(at: index, toWorkerAt: worker, now: now, effects: &effects)
        } else {
            let seq = pending.enqueue(
                tasks[slot: index].id, function: function, priority: tasks[slot: index].priority, atFront: requeued)
            tasks[slot: index].queueSeq = seq
        }
    }

    /// The slot of the least-loaded worker with room that offers `function`.
    func leastLoadedWorker(offering function: Int) -> Int? {
        guard function < workersByFunction.count else { return nil }
        var best: (slot: Int, load: Int)?
        for id in workersByFunction[function] {
            let worker = workers.slot(of: id)!
            let load = workers[slot: worker].load
            guard load < workers[slot: worker].capacity else { continue }
            if let current = best, current.load <= load { continue }
            best = (worker, load)
        }
        return best?.slot
    }

    /// The interned index of a function name, creating it if new.
    mutating func intern(_ name: String) -> Int {
        if let index = functionIndex[name] { return index }
        functionIndex[name] = functionNames.count
        functionNames.append(name)
        functionCounts.append(FunctionCounts())
        workersByFunction.append([])
        return functionNames.count - 1
    }

    /// Hands the pending task in a live slot to the outbox of the worker in slot `worker`.
    mutating func assign(at index: Int, toWorkerAt worker: Int, now: Timestamp, effects: inout Effects) {
        if observing, tasks[slot: index].state == .pending {
            // Pending since its last change: its submission, or its return to the queue.
            effects.observations.append(.queueWait(now - tasks[slot: index].updatedAt))
        }
        let id = tasks[slot: index].id
        let workerID = workers[slot: worker].id
        let name = workers[slot: worker].name
        let assigned = transition(at: index, to: .running, now: now, effects: &effects) { record in
            record.beginAttempt(on: workerID, name: name, now: now)
            record.holder = workerID
            record.startedAt = now
            record.deliveredAt = nil
            record.queueSeq = 0
        }
        guard assigned else { return }
        workers[slot: worker].held.insert(id)
        workers[slot: worker].outbox.append(id)
        effects.signal(workerID, cancelRequests: false)
        if let timeout = tasks[slot: index].timeout {
            addTimer(at: now + timeout, .taskTimeout(id, attempt: tasks[slot: index].attempt))
        }
    }

    /// Asks a worker to stop a task, through its mailbox.
    mutating func requestStop(_ id: TaskID, on workerID: WorkerID, effects: inout Effects) {
        workers[registered: workerID].cancelRequests.append(id)
        effects.signal(workerID, cancelRequests: true)
    }

    /// Fills a worker's free capacity from the queue.
    mutating func fill(_ workerID: WorkerID, now: Timestamp, effects: inout Effects) {
        guard pending.count > 0, let worker = workers.slot(of: workerID), !workers[slot: worker].draining
        else { return }
        while workers[slot: worker].hasCapacity, pending.count > 0,
            let id = popPending(among: workers[slot: worker].functionIndexes)
        {
            assign(at: tasks.slot(of: id)!, toWorkerAt: worker, now: now, effects: &effects)
        }
    }

    mutating func popPending(among functions: [Int]) -> TaskID? {
        let tasks = self.tasks
        return pending.pop(among: functions) { entry in
            guard let slot = tasks.slot(of: entry.id) else { return false }
            return tasks[slot: slot].state == .pending && tasks[slot: slot].queueSeq == entry.seq
        }
    }

    /// Marks a cancelled pending task's queue entry stale.
    mutating func forgetPending(function: Int) {
        let tasks = self.tasks
        pending.forget(function: function) { entry in
            guard let slot = tasks.slot(of: entry.id) else { return false }
            return tasks[slot: slot].state == .pending && tasks[slot: slot].queueSeq == entry.seq
        }
    }
}

extension TaskState {
    var index: Int {
        switch self {
        case .pending: 0
        case .running: 1
        case .canceling: 2
        case .succeeded: 3
        case .failed: 4
        case .canceled: 5
        }
    }
}

/// Running totals of a scheduler since it started.
/// Cancel requests by outcome.
public struct CancelRequestCounts: Hashable, Sendable {
    /// Cancelled at once by the core.
    public var canceled = 0
    /// Sent to the worker running the task.
    public var forwarded = 0
    /// The task was being cancelled already.
    public var inProgress = 0
    /// The task had succeeded or failed.
    public var alreadyFinished = 0
    /// No such task.
    public var notFound = 0
    /// The task's record was evicted.
    public var expired = 0
}

/// Tasks of one function: those held now by live state, and totals since start.
public struct FunctionCounts: Hashable, Sendable {
    /// Pending now.
    public var pending = 0
    /// Running now.
    public var running = 0
    /// Being cancelled now.
    public var canceling = 0
    /// Tasks submitted.
    public var submitted = 0
    /// Tasks that succeeded.
    public var succeeded = 0
    /// Tasks that failed.
    public var failed = 0
    /// Tasks that were cancelled.
    public var canceled = 0
}

public struct SchedulerCounters: Hashable, Sendable {
    /// Tasks created.
    public var submitted = 0
    /// Tasks that reached `succeeded`.
    public var succeeded = 0
    /// Tasks that reached `failed`.
    public var failed = 0
    /// Tasks that reached `canceled`.
    public var canceled = 0
    /// Re-queues after a worker death or departure.
    public var requeued = 0
    /// Finished records evicted to tombstones.
    public var evicted = 0
    /// Results and confirms refused because the sender did not hold the task.
    public var refusedReports = 0
    /// Tasks taken back from a worker that did not list them (an answer that never reached it).
    public var reconciled = 0
    /// Transitions refused by the state machine.
    public var illegalTransitions = 0
    /// Retries (a running task re-queued with its attempt spent) because its worker died.
    public var retriesWorkerDied = 0
    /// Retries because its worker left.
    public var retriesWorkerLeft = 0
    /// Completion webhooks delivered (2xx).
    public var callbacksDelivered = 0
    /// Completion webhook attempts that failed (each retry counts).
    public var callbackAttemptsFailed = 0
    /// Completion webhooks given up: attempts spent, or 410 Gone.
    public var callbacksGivenUp = 0
    /// Completion webhooks still pending when retention evicted their task.
    public var callbacksAbandoned = 0
    /// Cancel requests by what they found: cancelled at once (pending or undelivered), forwarded to the worker,
    /// already being cancelled, already finished, unknown, or evicted.
    public var cancelRequests = CancelRequestCounts()

}

/// Counts of tasks by terminal state.
protocol TerminalCounting {
    var succeeded: Int { get set }
    var failed: Int { get set }
    var canceled: Int { get set }
}

extension TerminalCounting {
    mutating func recordTerminal(_ state: TaskState) {
        switch state {
        case .succeeded: succeeded += 1
        case .failed: failed += 1
        case .canceled: canceled += 1
        default: break
        }
    }
}

extension SchedulerCounters: TerminalCounting {}
extension FunctionCounts: TerminalCounting {}

extension FunctionCounts {
    /// Moves one task between states in the live counts (terminal states are counted by `recordTerminal`).
    mutating func move(from: TaskState?, to next: TaskState?) {
        adjust(from, by: -1)
        adjust(next, by: 1)
    }

    private mutating func adjust(_ state: TaskState?, by delta: Int) {
        switch state {
        case .pending: pending += delta
        case .running: running += delta
        case .canceling: canceling += delta
        default: break
        }
    }
}
