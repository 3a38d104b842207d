/// A task as the scheduler holds it; reads return copies of it (the payloads are shared, not copied).
public struct TaskRecord: Sendable {
    /// The task's id.
    public let id: TaskID
    /// The function to run.
    public let function: String
    /// The arguments, opaque JSON.
    public let args: Payload
    /// Higher runs first.
    public let priority: Int
    /// Execution deadline per attempt; `nil` for none.
    public let timeout: Duration?
    /// How often the task may be re-queued after its worker died.
    public let maxRetries: Int
    /// Labels given at submission.
    public let tags: [String]
    /// The idempotency key given at submission.
    public let idempotencyKey: String?
    /// The W3C trace context it was submitted with, if any.
    public let traceparent: String?
    /// When the task was accepted.
    public let createdAt: Timestamp

    /// The current state.
    public internal(set) var state: TaskState
    /// Increments on every change; it is the ETag.
    public internal(set) var version: UInt64
    /// The result of a succeeded task.
    public internal(set) var result: Payload?
    /// The reason of a failed task.
    public internal(set) var error: TaskFailure?
    /// 1 for the first run, +1 for every re-queue after a worker death.
    public internal(set) var attempt: Int
    /// When the record last changed.
    public internal(set) var updatedAt: Timestamp
    /// When the current attempt was assigned to a worker.
    public internal(set) var startedAt: Timestamp?
    /// When the task reached its terminal state.
    public internal(set) var finishedAt: Timestamp?
    /// When the finished record will be evicted (it stays answerable as "expired" after that).
    public internal(set) var expiresAt: Timestamp?
    /// The cancel request and its outcome, if any was made.
    public internal(set) var cancel: CancelInfo?
    /// The worker that holds the task while it is running or canceling.
    public internal(set) var holder: WorkerID?

    /// The interned index of `function`.
    var functionIndex: Int32 = 0
    /// Queue-entry identity: a queue entry is live only while it matches (lazy removal from queues).
    var queueSeq: Int64 = 0
    /// When it was handed over to its worker (for a parked poll: when the poll parked, which is no later); nil
    /// while it sits in the worker's outbox or is not assigned. Reconciliation of a worker's running list only
    /// touches tasks handed over long enough ago.
    var deliveredAt: Timestamp?
    /// Whether its worker has it (false while it sits in the outbox).
    var delivered: Bool { deliveredAt != nil }
    /// Parked waiters interested in this task.
    var waiters: [WaiterID] = []

    /// Whether the task is in a terminal state.
    public var done: Bool { state.isTerminal }

    /// What a finished record weighs against `SchedulerConfiguration.maxRetainedBytes`: its arguments, result,
    /// error message, tags and idempotency key, plus 256 bytes for the rest. Fixed once the task has finished.
    public var retainedBytes: Int {
        256 + args.count + (result?.count ?? 0) + (error?.detail.utf8.count ?? 0)
            + tags.reduce(0) { $0 + $1.utf8.count } + (idempotencyKey?.utf8.count ?? 0)
    }

    init(id: TaskID, request: SubmitRequest, function: String, functionIndex: Int, maxRetries: Int, now: Timestamp) {
        self.id = id
        self.functionIndex = Int32(functionIndex)
        self.function = function
        self.args = request.args
        self.priority = request.priority
        self.timeout = request.timeout
        self.maxRetries = maxRetries
        self.tags = request.tags
        self.idempotencyKey = request.idempotencyKey
        self.traceparent = request.traceparent
        self.createdAt = now
        self.state = .pending
        self.version = 1
        self.attempt = 1
        self.updatedAt = now
    }
}

/// The answer to "where is task X": the record, or why there is none.
public enum TaskLookup: Sendable {
    /// The task is known; here is its record.
    case found(TaskRecord)
    /// The task existed and finished, and its record has been evicted.
    case expired(TaskID)
    /// No such task (or its tombstone is gone too).
    case notFound(TaskID)

    /// The record, when found.
    public var record: TaskRecord? {
        if case .found(let record) = self { return record }
        return nil
    }
}
