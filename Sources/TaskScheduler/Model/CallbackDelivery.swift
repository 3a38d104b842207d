/// Where a task's completion webhook stands: created when the task reaches a terminal state (if it was submitted with
/// a `callback_url`), then changed by each delivery attempt until it ends `delivered`, `failed` or `gone`.
public struct CallbackDelivery: Sendable, Hashable {
    /// The delivery's state.
    public enum State: String, Sendable, CaseIterable {
        /// An attempt is due (at `nextAttemptAt`) or under way.
        case pending
        /// The receiver answered 2xx.
        case delivered
        /// Every attempt failed (`attempts` reached the limit).
        case failed
        /// The receiver answered 410 Gone: no further attempt (as the Standard Webhooks specification asks).
        case gone
    }

    /// The state.
    public internal(set) var state: State
    /// Attempts made so far.
    public internal(set) var attempts: Int
    /// The HTTP status of the last attempt's answer, if one came.
    public internal(set) var lastStatus: Int?
    /// Why the last attempt failed, if it did.
    public internal(set) var lastError: String?
    /// When the next attempt is due, while `pending`.
    public internal(set) var nextAttemptAt: Timestamp?
    /// When the delivery ended (delivered, failed or gone).
    public internal(set) var finishedAt: Timestamp?

    /// A delivery as the store kept it (for recovery): every field given.
    public init(
        state: State, attempts: Int, lastStatus: Int?, lastError: String?, nextAttemptAt: Timestamp?,
        finishedAt: Timestamp?
    ) {
        self.state = state
        self.attempts = attempts
        self.lastStatus = lastStatus
        self.lastError = lastError
        self.nextAttemptAt = nextAttemptAt
        self.finishedAt = finishedAt
    }

    /// The longest `lastError` kept (longer ones are cut).
    public static let maxErrorBytes = 256
}

/// What one delivery attempt came to, as its owner reports it to the scheduler.
public enum DeliveryOutcome: Sendable, Hashable {
    /// The receiver answered 2xx.
    case delivered(status: Int)
    /// The receiver answered 410 Gone.
    case gone
    /// Any other answer, a refused connection, a timeout: retried while attempts remain. `status` when an answer came.
    case failed(status: Int?, detail: String)
}

/// A delivery attempt that is due: the task as it stands and the number of this attempt (1 for the first).
public struct DeliveryOrder: Sendable {
    /// The task (terminal), with its `callbackURL`.
    public var record: TaskRecord
    /// This attempt's number; report it back with the outcome.
    public var attempt: Int
}

/// How completion webhooks are retried.
public struct CallbackPolicy: Sendable, Hashable {
    /// Attempts at most, the first included.
    public var maxAttempts = 8
    /// The delay before the second attempt; each later one doubles it, up to `maxDelay`.
    public var firstDelay: Duration = .seconds(1)
    /// The longest delay between two attempts.
    public var maxDelay: Duration = .seconds(300)

    /// The defaults: 8 attempts over about two minutes (1, 2, 4 … 64 s apart, each with jitter).
    public init() {}

    /// The delay after failed attempt `attempt` (1 for the first) of task `id`: exponential, capped, with "equal
    /// jitter" (between half and all of the step). The jitter is a hash of the task and attempt, so it differs
    /// between tasks (their retries do not arrive together) yet is the same in every run of a test.
    public func delay(after attempt: Int, of id: TaskID) -> Duration {
        let shift = min(max(attempt - 1, 0), 40)
        let step = min(firstDelay * Double(UInt64(1) << UInt64(shift)), maxDelay)
        var mixed = id.rawValue &+ UInt64(attempt) &* 0x9E37_79B9_7F4A_7C15
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        mixed ^= mixed >> 31
        let fraction = Double(mixed >> 11) / Double(UInt64(1) << 53)
        return step / 2 + step / 2 * fraction
    }
}
