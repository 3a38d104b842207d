/// One long-poll of a remote worker: its reports in, and how it waits for mail.
public struct PollRequest: Sendable {
    /// Finished tasks.
    public var results: [WorkerResult] = []
    /// Answers to cancel requests.
    public var confirms: [WorkerConfirm] = []
    /// The most new tasks to hand over (the core never assigns past the worker's capacity anyway).
    public var maxAssignments = Int.max
    /// How long to park when there is no mail; zero answers at once.
    public var wait: Duration = .zero
    /// The worker takes no new tasks from now on; tasks assigned but not yet handed over go back to the queue.
    public var drain = false
    /// Every task the worker knows it holds (running, or with a report not yet answered), when it says so: a task
    /// handed to it more than `reconcileAfter` ago that it does not list never reached it, and goes back to the
    /// queue with its attempt unchanged (`nil`: no reconciliation).
    public var running: Set<TaskID>?
    /// How old a handover must be before reconciliation may take the task back: longer than an answer can be on
    /// its way (`Scheduler.poll` sets the worker's longest poll wait plus 10 s, the client's timeout rule).
    public var reconcileAfter: Duration = .seconds(40)

    /// Creates a poll.
    public init(
        results: [WorkerResult] = [], confirms: [WorkerConfirm] = [], maxAssignments: Int = .max,
        wait: Duration = .zero, drain: Bool = false, running: Set<TaskID>? = nil,
        reconcileAfter: Duration = .seconds(40)
    ) {
        self.results = results
        self.confirms = confirms
        self.maxAssignments = maxAssignments
        self.wait = wait
        self.drain = drain
        self.running = running
        self.reconcileAfter = reconcileAfter
    }
}

/// How a poll began.
public enum PollStart: Sendable {
    /// Answered at once: there was mail, or the poll asked not to wait.
    case answered(WorkerMail)
    /// Parked; the waiter is released with a `WaitResult.poll`.
    case parked(WaiterID)
}

/// What a parked poll is answered with.
public enum PollAnswer: Sendable {
    /// The acks of its reports and the mail that arrived (empty at the deadline or when superseded).
    case mail(WorkerMail)
    /// The worker was removed while the poll was parked (it left, or the server declared it dead).
    case workerGone
}
