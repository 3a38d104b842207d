/// Limits and defaults of the scheduler core. Every field has a default suitable for one machine.
public struct SchedulerConfiguration: Sendable {
    /// Pending (not yet assigned) tasks beyond which submissions fail with `queue_full`.
    public var queueLimit = 100_000
    /// How long a finished task's record (and result) is kept.
    public var resultTTL: Duration = .seconds(3600)
    /// How many finished records are kept at most; the oldest are evicted first.
    public var maxRetainedTasks = 100_000
    /// How many bytes of finished records (arguments, results, error messages, plus a fixed overhead each) are kept
    /// at most; the oldest are evicted first.
    public var maxRetainedBytes = 512 * 1_024 * 1_024
    /// How long an evicted task stays answerable as "expired" (and its idempotency key stays bound).
    public var tombstoneTTL: Duration = .seconds(86_400)
    /// How many tombstones are kept at most; the oldest are dropped first.
    public var maxTombstones = 1_000_000
    /// `max_retries` when a request does not say.
    public var defaultMaxRetries = 3
    /// The largest `max_retries` a request may ask for.
    public var maxRetriesLimit = 100
    /// Allowed task priorities.
    public var priorityRange: ClosedRange<Int> = -1_000_000...1_000_000
    /// The longest execution deadline a request may ask for.
    public var maxTimeout: Duration = .seconds(7 * 86_400)
    /// The longest function name.
    public var maxFunctionNameLength = 128
    /// The most distinct function names the scheduler learns from workers (names are kept for the run).
    public var maxFunctions = 10_000
    /// The most functions one worker may offer.
    public var maxFunctionsPerWorker = 1_000
    /// The most workers registered at once, in-process ones included.
    public var maxWorkers = 10_000
    /// The longest worker name (in Unicode scalars); control characters are refused.
    public var maxWorkerNameLength = 200
    /// The most tags per task, and the longest tag.
    public var maxTags = 16
    /// The longest tag.
    public var maxTagLength = 128
    /// The longest idempotency key.
    public var maxIdempotencyKeyLength = 255
    /// The longest `callback_url`.
    public var maxCallbackURLLength = 2_048
    /// How much of each task's log is kept.
    public var logs = TaskLogLimits()
    /// How completion webhooks are retried.
    public var callbacks = CallbackPolicy()
    /// The most tasks in one batch submission.
    public var maxBatchSize = 1_000
    /// The longest a remote worker's poll may park; each worker's is also at most half its lease, so a worker
    /// that died while parked is found out within one and a half leases of its last answer.
    public var maxPollWait: Duration = .seconds(60)
    /// How often the timer loop fires deadlines (long-polls, leases, timeouts, retention).
    public var timerResolution: Duration = .milliseconds(5)
    /// Task and worker ids start at a random point, so ids of earlier runs are unlikely to recur.
    public var randomizeTaskIDs = true

    /// The defaults.
    public init() {}
}
