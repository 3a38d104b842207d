import DequeModule

/// A worker as the core tracks it: what it offers, what it holds, and its mailbox.
public struct WorkerRecord: Sendable {
    /// The worker's id.
    public let id: WorkerID
    /// A human-readable name given at registration.
    public let name: String
    /// The functions it runs.
    public let functions: Set<String>
    /// How many tasks it runs at once.
    public let capacity: Int
    /// How long it may go without polling before it is declared dead; `nil` for in-process workers.
    public let lease: Duration?
    /// When it registered.
    public let registeredAt: Timestamp
    /// When it last polled or reported.
    public internal(set) var lastSeenAt: Timestamp
    /// Tasks counted against its capacity: running, canceling, and ones whose outcome was decided while it
    /// still executes them (a timed-out task, until the worker confirms or reports).
    public internal(set) var held: Set<TaskID> = []
    /// Assigned tasks not yet handed over.
    var outbox: Deque<TaskID> = []
    /// The interned indexes of `functions`.
    var functionIndexes: [Int] = []
    /// Tasks it has been asked to stop, not yet handed over.
    var cancelRequests: [TaskID] = []
    /// Its long-poll, parked until mail arrives, its deadline passes, or a newer poll supersedes it.
    var parkedPoll: ParkedPoll?
    /// True once it said it takes no new tasks (graceful drain).
    public internal(set) var draining = false

    /// How many tasks count against its capacity.
    public var load: Int { held.count }
    /// Whether it can take another task.
    public var hasCapacity: Bool { held.count < capacity }
    /// Whether anything waits to be handed over.
    var hasMail: Bool { !outbox.isEmpty || !cancelRequests.isEmpty }
}

/// What a worker says when it registers.
public struct WorkerRegistration: Sendable {
    /// A human-readable name.
    public var name: String
    /// The functions it runs.
    public var functions: Set<String>
    /// How many tasks it runs at once (at least 1).
    public var capacity: Int
    /// How long it may go without polling before it is declared dead; `nil` for never (in-process workers).
    public var lease: Duration?

    /// Creates a registration.
    public init(name: String, functions: Set<String>, capacity: Int, lease: Duration? = nil) {
        self.name = name
        self.functions = functions
        self.capacity = capacity
        self.lease = lease
    }
}

/// A task handed to a worker.
public struct Assignment: Sendable {
    /// The task.
    public var taskID: TaskID
    /// The function to run.
    public var function: String
    /// The arguments.
    public var args: Payload
    /// Which run this is (1 for the first).
    public var attempt: Int
    /// When the scheduler fails the task with `timeout`, if it has a deadline.
    public var deadline: Timestamp?
    /// The W3C trace context it was submitted with, if any.
    public var traceparent: String?
}

/// How a task ended on a worker.
public enum WorkerOutcome: Sendable {
    /// The function returned this JSON.
    case success(Payload)
    /// The function failed; `message` becomes the failure's detail.
    case failure(message: String)
}

/// A worker's report of a finished task.
public struct WorkerResult: Sendable {
    /// The task.
    public var taskID: TaskID
    /// How it ended.
    public var outcome: WorkerOutcome
    /// Log lines of the run, kept with the task (its tail).
    public var logs: [String]

    /// Creates a report.
    public init(taskID: TaskID, outcome: WorkerOutcome, logs: [String] = []) {
        self.taskID = taskID
        self.outcome = outcome
        self.logs = logs
    }
}

/// A worker's answer to a cancel request.
public struct WorkerConfirm: Sendable {
    /// The task.
    public var taskID: TaskID
    /// The answer.
    public var kind: CancelConfirm

    /// Creates a confirm.
    public init(taskID: TaskID, kind: CancelConfirm) {
        self.taskID = taskID
        self.kind = kind
    }
}

/// Whether a worker's result or confirm was taken.
public enum ReportAck: Hashable, Sendable {
    /// It changed the task (or settled it as the protocol says).
    case accepted
    /// The worker does not hold the task (any more): nothing changed.
    case notHolder
}

/// What a worker gets back from one exchange with the scheduler.
public struct WorkerMail: Sendable {
    /// One ack per result, in order.
    public var resultAcks: [ReportAck] = []
    /// One ack per confirm, in order.
    public var confirmAcks: [ReportAck] = []
    /// New tasks to run.
    public var assignments: [Assignment] = []
    /// Tasks to stop.
    public var cancelRequests: [TaskID] = []

    /// Empty mail.
    public init() {}
}
