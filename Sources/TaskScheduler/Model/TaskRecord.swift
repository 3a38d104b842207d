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
    /// Where the finished task is POSTed (a completion webhook), if anywhere.
    public let callbackURL: String?

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
    /// The completion webhook's delivery, once the task finished (with a `callbackURL`).
    public internal(set) var callback: CallbackDelivery?
    /// Where its time went: one entry per assignment to a worker, the latest `TaskAttempt.maxKept`.
    public internal(set) var attempts: [TaskAttempt] = []
    /// The log lines its workers sent with their reports (the tail: see `TaskLogLimits`).
    public internal(set) var logs: [TaskLogLine] = []
    /// Log lines left out to keep the tail within its limits.
    public internal(set) var logsDropped = 0

    /// The fingerprint of the request its idempotency key is bound to (0 without a key); the store keeps it so a
    /// replay after a restart is judged as before.
    public package(set) var fingerprint: UInt64 = 0
    /// The number of the last `StoreChange` about this record (0 when never stored): an answer that shows the
    /// record waits until the store has committed that change.
    public package(set) var storeSeq: UInt64 = 0

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
    /// error message, tags, idempotency key and callback URL (with room for its delivery's last error), its attempts
    /// and log lines, plus 256 bytes for the rest. Fixed once the task has finished.
    public var retainedBytes: Int {
        256 + args.count + (result?.count ?? 0) + (error?.detail.utf8.count ?? 0)
            + tags.reduce(0) { $0 + $1.utf8.count } + (idempotencyKey?.utf8.count ?? 0)
            + (callbackURL.map { $0.utf8.count + CallbackDelivery.maxErrorBytes } ?? 0)
            + attempts.reduce(0) { $0 + 64 + $1.workerName.utf8.count }
            + logs.reduce(0) { $0 + 24 + $1.text.utf8.count }
    }

    /// A record as the store kept it (for recovery): every field given.
    public init(
        id: TaskID, function: String, args: Payload, priority: Int, timeout: Duration?, maxRetries: Int,
        tags: [String], idempotencyKey: String?, fingerprint: UInt64, traceparent: String?, createdAt: Timestamp,
        state: TaskState, version: UInt64, result: Payload?, error: TaskFailure?, attempt: Int, updatedAt: Timestamp,
        startedAt: Timestamp?, finishedAt: Timestamp?, expiresAt: Timestamp?, cancel: CancelInfo?,
        callbackURL: String? = nil, callback: CallbackDelivery? = nil, attempts: [TaskAttempt] = [],
        logs: [TaskLogLine] = [], logsDropped: Int = 0
    ) {
        self.attempts = attempts
        self.logs = logs
        self.logsDropped = logsDropped
        self.id = id
        self.function = function
        self.args = args
        self.priority = priority
        self.timeout = timeout
        self.maxRetries = maxRetries
        self.tags = tags
        self.idempotencyKey = idempotencyKey
        self.fingerprint = fingerprint
        self.traceparent = traceparent
        self.createdAt = createdAt
        self.state = state
        self.version = version
        self.result = result
        self.error = error
        self.attempt = attempt
        self.updatedAt = updatedAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.expiresAt = expiresAt
        self.cancel = cancel
        self.callbackURL = callbackURL
        self.callback = callback
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
        self.callbackURL = request.callbackURL
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
