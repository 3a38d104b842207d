/// One attempt of a task as its profile shows it: who ran it, when it was queued, taken and ended, and how.
public struct TaskAttempt: Sendable, Hashable {
    /// The attempt's number (1 for the first run; a task taken back before it ran keeps its number).
    public var attempt: Int
    /// The worker it was assigned to.
    public var worker: WorkerID
    /// That worker's name.
    public var workerName: String
    /// When the task became pending for this attempt (submitted, or put back in the queue).
    public var queuedAt: Timestamp
    /// When it was assigned to the worker.
    public var startedAt: Timestamp
    /// When the attempt ended; nil while it runs.
    public var endedAt: Timestamp?
    /// How it ended: `succeeded`, `canceled`, a failure code (`function_error`, `timeout`, `worker_died`, …), or
    /// `requeued` (it went back to the queue); nil while it runs.
    public var outcome: String?

    /// An attempt as the store kept it, or as it starts.
    public init(
        attempt: Int, worker: WorkerID, workerName: String, queuedAt: Timestamp, startedAt: Timestamp,
        endedAt: Timestamp? = nil, outcome: String? = nil
    ) {
        self.attempt = attempt
        self.worker = worker
        self.workerName = workerName
        self.queuedAt = queuedAt
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.outcome = outcome
    }

    /// How long it waited in the queue.
    public var queueWait: Duration { startedAt - queuedAt }

    /// How long it ran (so far, while `endedAt` is nil).
    public func runTime(now: Timestamp) -> Duration { (endedAt ?? now) - startedAt }

    /// The most attempts a task keeps (the latest).
    public static let maxKept = 32
}

/// A log line a worker sent with its report (the stderr of an `--exec` command, or what a handler logged).
public struct TaskLogLine: Sendable, Hashable {
    /// When the server received it.
    public var at: Timestamp
    /// The attempt that wrote it.
    public var attempt: Int
    /// The line, without its newline.
    public var text: String

    /// A line.
    public init(at: Timestamp, attempt: Int, text: String) {
        self.at = at
        self.attempt = attempt
        self.text = text
    }
}

/// How much of a task's log is kept: the tail, by lines and bytes.
public struct TaskLogLimits: Sendable, Hashable {
    /// Lines kept per task at most (the latest).
    public var maxLines = 1_000
    /// Bytes of lines kept per task at most (the latest).
    public var maxBytes = 64 * 1_024
    /// The longest line; longer ones are cut.
    public var maxLineBytes = 4_096

    /// The defaults: the last 1,000 lines, at most 64 KiB, lines of at most 4 KiB.
    public init() {}
}
