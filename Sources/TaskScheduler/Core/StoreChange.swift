/// A change the durable store must record, in the order the core made it. The core does no I/O: when
/// `SchedulerCore.persisting` is on it lists each change in `Effects.stored`, numbered from 1 in one run, and its
/// owner hands them to the store in that order (under its lock, so the order across threads is the core's).
public enum StoreChange: Sendable {
    /// A task was accepted: its whole record.
    case created(TaskRecord)
    /// A task's state changed (assigned, re-queued, canceling, finished): its record after the change.
    case updated(TaskRecord)
    /// A finished task's record was evicted: it stays answerable as expired (a tombstone) until `until`.
    case evicted(TaskID, until: Timestamp)
    /// A tombstone was dropped: nothing is kept about the task any more.
    case forgotten(TaskID)

    /// The task the change is about.
    public var taskID: TaskID {
        switch self {
        case .created(let record), .updated(let record): record.id
        case .evicted(let id, _), .forgotten(let id): id
        }
    }
}

/// What a store held at start: the records to serve again and the tombstones of evicted tasks.
public struct RecoveredTasks: Sendable {
    /// Records of every state, as stored (a running one still names its worker of the earlier run).
    public var records: [TaskRecord]
    /// Evicted tasks, answerable as expired until their time.
    public var tombstones: [StoredTombstone]

    /// Wraps what was loaded.
    public init(records: [TaskRecord] = [], tombstones: [StoredTombstone] = []) {
        self.records = records
        self.tombstones = tombstones
    }
}

/// An evicted task as the store keeps it.
public struct StoredTombstone: Sendable, Equatable {
    /// The task.
    public var id: TaskID
    /// Until when it answers as expired.
    public var until: Timestamp
    /// The idempotency key it was submitted with, bound to it until then.
    public var idempotencyKey: String?
    /// The fingerprint of the request that key is bound to.
    public var fingerprint: UInt64

    /// Creates one.
    public init(id: TaskID, until: Timestamp, idempotencyKey: String?, fingerprint: UInt64) {
        self.id = id
        self.until = until
        self.idempotencyKey = idempotencyKey
        self.fingerprint = fingerprint
    }
}

/// What a restart did with the tasks it found, for the start-up log line.
public struct RecoverySummary: Sendable, Equatable {
    /// Finished tasks readable again.
    public var finished = 0
    /// Tasks queued again as they were (pending at the stop).
    public var pending = 0
    /// Tasks that were running at the stop, queued again with their next attempt.
    public var retried = 0
    /// Tasks that were running at the stop with their retries spent: failed with `worker_died`.
    public var failedWorkerDied = 0
    /// Tasks whose cancel was waiting for its worker's confirm: canceled (their worker is gone).
    public var canceled = 0
    /// Tombstones of evicted tasks.
    public var tombstones = 0

    /// Nothing recovered.
    public init() {}
}
