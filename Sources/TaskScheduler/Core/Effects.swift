/// What the owner of a `SchedulerCore` must do after an event, outside its lock.
package struct Effects: Sendable {
    /// Waiters to resume, each exactly once, with what they waited for.
    package var resolved: [(WaiterID, WaitResult)] = []
    /// Workers that got mail, and whether it includes cancel requests.
    package var signaledWorkers: [(worker: WorkerID, cancelRequests: Bool)] = []
    /// Durations measured by the event, for the metrics (recorded by the owner outside its lock).
    package var observations: [Observation] = []
    /// Changes for those following the work, in order (only while the core is `publishing`).
    package var published: [PublishedChange] = []
    /// Completion webhook attempts that are due, for the owner's deliverer.
    package var deliveries: [DeliveryOrder] = []
    /// Changes for the durable store, in order (only while the core is `persisting`).
    package var stored: [StoreChange] = []
    /// The number of the last change in `stored` (0 when none).
    package var lastStoreSeq: UInt64 = 0
    /// The task whose record the last change in `stored` is (and whether as its creation); nil when that change is
    /// not a record's. A further change of that record in the same event replaces it (`storeRecord`).
    var lastStoredRecord: (id: TaskID, created: Bool)?

    /// No effects.
    package init() {}

    mutating func signal(_ worker: WorkerID, cancelRequests: Bool) {
        if let index = signaledWorkers.firstIndex(where: { $0.worker == worker }) {
            signaledWorkers[index].cancelRequests = signaledWorkers[index].cancelRequests || cancelRequests
        } else {
            signaledWorkers.append((worker, cancelRequests))
        }
    }

    /// Whether there is nothing to do.
    package var isEmpty: Bool {
        resolved.isEmpty && signaledWorkers.isEmpty && observations.isEmpty && stored.isEmpty && published.isEmpty
            && deliveries.isEmpty
    }
}

/// A duration the core measured at a transition, for the metrics' histograms.
public enum Observation: Sendable, Equatable {
    /// A task waited this long in the queue before a worker took it (per attempt).
    case queueWait(Duration)
    /// A task's attempt ran this long, from its hand-over to its result (or cancel, or timeout).
    case run(Duration)
    /// A cancel waited this long for its worker's confirm.
    case cancelConfirm(Duration)
}

/// What a waiter waits for.
public enum WaitCondition: Sendable {
    /// The task reaches a terminal state.
    case terminal(TaskID)
    /// The task's version passes `after`.
    case changed(TaskID, after: UInt64)
    /// Any, or all, of the tasks reach a terminal state.
    case tasks([TaskID], mode: WaitMode)
}

/// Whether a set wait ends at the first finished task or the last.
public enum WaitMode: String, Sendable {
    /// At the first.
    case any
    /// At the last.
    case all
}

/// What a waiter is resumed with: the state at the moment it was released, whether by the event or its deadline.
public enum WaitResult: Sendable {
    /// For `terminal` and `changed`.
    case task(TaskLookup)
    /// For `tasks`: one lookup per requested id, in request order.
    case tasks([TaskLookup])
    /// For a remote worker's parked poll.
    case poll(PollAnswer)

    /// The single lookup of a `task` result.
    public var lookup: TaskLookup? {
        if case .task(let lookup) = self { return lookup }
        return nil
    }

    /// The lookups of a `tasks` result.
    public var lookups: [TaskLookup] {
        switch self {
        case .task(let lookup): [lookup]
        case .tasks(let lookups): lookups
        case .poll: []
        }
    }
}

/// The outcome of registering a waiter.
public enum WaiterRegistration: Sendable {
    /// The condition already holds (or cannot be waited on); here is the answer.
    case ready(WaitResult)
    /// Parked until the condition holds or the deadline passes.
    case parked(WaiterID)
}
