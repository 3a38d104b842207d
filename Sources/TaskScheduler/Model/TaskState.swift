/// Where a task is in its life. Exactly one terminal state per task.
public enum TaskState: String, Hashable, Sendable, CaseIterable {
    /// Accepted, waiting in the queue; not on a worker.
    case pending
    /// Assigned to a worker.
    case running
    /// Cancel accepted; waiting for the holding worker's confirm.
    case canceling
    /// Finished with a result.
    case succeeded
    /// Finished with an error.
    case failed
    /// Cancelled.
    case canceled

    /// Whether the state is final.
    public var isTerminal: Bool {
        switch self {
        case .succeeded, .failed, .canceled: true
        case .pending, .running, .canceling: false
        }
    }

    /// Whether the state machine allows going from `self` to `next`.
    func canTransition(to next: TaskState) -> Bool {
        switch (self, next) {
        case (.pending, .running), (.pending, .canceled): true
        case (.running, .pending), (.running, .canceling), (.running, .succeeded), (.running, .failed),
            (.running, .canceled):
            true
        case (.canceling, .running), (.canceling, .canceled): true
        default: false
        }
    }
}

/// The kinds of answer to a cancel request (Scaler's TaskCancelConfirm).
public enum CancelConfirm: String, Hashable, Sendable {
    /// The task is cancelled.
    case canceled
    /// The task was not found (never existed, expired, or not on the worker).
    case cancelNotFound = "cancel_not_found"
    /// The task could not be stopped: it finished first, or its worker cannot stop it.
    case cancelFailed = "cancel_failed"
}

/// What the record keeps about a cancel request.
public struct CancelInfo: Hashable, Sendable {
    /// When the (latest) cancel request was accepted.
    public var requestedAt: Timestamp
    /// The confirm that settled it; `nil` while the worker has not answered.
    public var confirm: CancelConfirm?
    /// True when the worker finished the function after the cancel was accepted (its result was discarded).
    public var workerFinished: Bool

    /// Creates one (as a store reads it back).
    public init(requestedAt: Timestamp, confirm: CancelConfirm?, workerFinished: Bool) {
        self.requestedAt = requestedAt
        self.confirm = confirm
        self.workerFinished = workerFinished
    }
}
