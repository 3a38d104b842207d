/// Why a task failed: a stable code, a title that depends only on it, and what happened (the gateway writes it as
/// an RFC 9457 problem).
public struct TaskFailure: Hashable, Sendable {
    /// The stable machine-readable reason.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String {
            case functionError = "function_error"
            case workerDied = "worker_died"
            case timeout
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The function threw or reported an error.
        public static let functionError = Code(.functionError)
        /// Its workers died more often than `max_retries` allows.
        public static let workerDied = Code(.workerDied)
        /// The execution deadline (`timeout_s`) passed.
        public static let timeout = Code(.timeout)

        /// The code for a wire string, or nil for one this build does not know.
        public init?(rawValue: String) {
            guard let base = Base(rawValue: rawValue) else { return nil }
            self.base = base
        }

        /// The wire string, e.g. `function_error`.
        public var rawValue: String { base.rawValue }
        /// The wire string.
        public var description: String { base.rawValue }
    }

    /// The stable reason.
    public var code: Code
    /// A short human-readable summary that depends only on `code`.
    public var title: String
    /// What happened to this task.
    public var detail: String

    /// The failure of `code` with its title, as a store reads it back.
    public init(code: Code, detail: String) {
        switch code {
        case .workerDied: self = .workerDied(detail)
        case .timeout: self = .timeout(detail)
        default: self = .functionError(detail)
        }
    }

    init(code: Code, title: String, detail: String) {
        self.code = code
        self.title = title
        self.detail = detail
    }

    /// The function failed with `detail`.
    public static func functionError(_ detail: String) -> TaskFailure {
        TaskFailure(code: .functionError, title: "The task's function failed", detail: detail)
    }

    /// The workers that ran the task died and its retries are used up.
    public static func workerDied(_ detail: String) -> TaskFailure {
        TaskFailure(code: .workerDied, title: "The task's worker died", detail: detail)
    }

    /// The execution deadline passed.
    public static func timeout(_ detail: String) -> TaskFailure {
        TaskFailure(code: .timeout, title: "The task ran past its deadline", detail: detail)
    }
}
