import TaskGateAPI

/// The life of one future, as a value: what the future knows of its task, its outcome once decided, and the
/// cancels in flight. Every event returns whether it decided the outcome just now (the owner then wakes waiters
/// and runs callbacks, outside its lock). The first outcome wins; nothing changes it afterwards.
struct FutureStateMachine: Sendable {
    /// How a future ended.
    enum Outcome: Sendable, Equatable {
        case success(JSONValue)
        case failure(TaskGateError)
        case cancelled
    }

    /// What the server said to one `DELETE`.
    enum CancelAnswer: Sendable {
        /// 200: the task is cancelled (its representation).
        case canceled
        /// 404 or 410: the server has no such task (any more) — `cancel_not_found`.
        case notFound
        /// 202: the confirm did not come within the wait.
        case timedOut
        /// 409 `cancel_failed`: the task finished first, or its worker cannot stop it (the task as it is).
        case cancelFailed(WireTaskStatus?)
        /// The `DELETE` itself failed (transport, unexpected answer).
        case failed
    }

    /// What `startCancel` found.
    enum CancelStart: Sendable, Equatable {
        /// Send the `DELETE`.
        case send
        /// Already decided: `cancel()` answers whether that outcome is a cancellation.
        case decided(cancelled: Bool)
    }

    private(set) var lastKnown: WireTaskState
    private(set) var outcome: Outcome?
    private(set) var cancelsInFlight = 0
    /// A finished task that arrived while a cancel was in flight: applied only if every cancel fails.
    private var held: WireTaskStatus?

    init(state: WireTaskState) {
        lastKnown = state
    }

    var isCancelled: Bool { outcome == .cancelled }

    /// The task as the server showed it. Returns true if this decided the outcome.
    mutating func received(_ task: WireTaskStatus) -> Bool {
        guard outcome == nil else { return false }
        lastKnown = task.state
        guard task.done else { return false }
        if cancelsInFlight > 0 {
            // A result that reaches the future while its cancel is pending does not decide it: the cancel's answer
            // does (Scaler's semantics — a cancelled future stays cancelled).
            held = task
            return false
        }
        outcome = Self.outcome(of: task)
        return true
    }

    /// The future cannot learn its outcome (the client closed, the server is gone, the task is unknown).
    mutating func failed(_ error: TaskGateError) -> Bool {
        guard outcome == nil else { return false }
        outcome = .failure(error)
        return true
    }

    /// A `cancel()` call begins.
    mutating func startCancel() -> CancelStart {
        if let outcome { return .decided(cancelled: outcome == .cancelled) }
        cancelsInFlight += 1
        return .send
    }

    /// A `DELETE` was answered. Returns what `cancel()` answers and whether this decided the outcome.
    mutating func cancelAnswered(_ answer: CancelAnswer) -> (cancelled: Bool, decided: Bool) {
        cancelsInFlight -= 1
        let undecided = outcome == nil
        switch answer {
        case .canceled, .notFound, .timedOut:
            if undecided {
                outcome = .cancelled
                lastKnown = .canceled
            }
        case .cancelFailed(let task):
            if undecided, let task {
                lastKnown = task.state
                if task.done { outcome = Self.outcome(of: task) }
            }
            applyHeldIfNoCancelLeft()
        case .failed:
            applyHeldIfNoCancelLeft()
        }
        return (outcome == .cancelled, undecided && outcome != nil)
    }

    /// Every cancel failed: a finished task seen meanwhile decides the future after all.
    private mutating func applyHeldIfNoCancelLeft() {
        guard outcome == nil, cancelsInFlight == 0, let held else { return }
        lastKnown = held.state
        outcome = Self.outcome(of: held)
    }

    static func outcome(of task: WireTaskStatus) -> Outcome {
        switch task.state {
        case .succeeded: .success(task.result ?? .null)
        case .failed: .failure(.taskFailed(task.error))
        default: .cancelled
        }
    }
}
