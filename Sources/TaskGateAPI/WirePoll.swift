/// The worker poll of `POST /workers/{id}/poll` (`PollRequest` and `PollResponse` in openapi.yaml): the one codec
/// the server and the Swift worker runtime share. Args and results pass through as the exact bytes they are.
///
/// The server reads a request strictly (an unknown field, a wrong type or a malformed id is refused with the
/// field's JSON pointer); the worker reads a response leniently (fields it does not know are skipped), so a newer
/// server can add to its answer.

/// Why a wire body was refused: not JSON at all, or JSON of the wrong shape (`pointer` names the field).
public enum WireFormatError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The bytes are not one JSON value.
    case syntax(JSONSyntaxError)
    /// A field is missing, unknown or of the wrong type.
    case invalid(String, pointer: String)

    /// What is wrong.
    public var description: String {
        switch self {
        case .syntax(let error): error.description
        case .invalid(let message, let pointer): pointer.isEmpty ? message : "\(message) (at \(pointer))"
        }
    }
}

/// A task id on the wire: 16 lowercase hex digits.
public enum WireTaskID {
    /// Whether `text` has the form of a task id.
    public static func isValid(_ text: String) -> Bool {
        text.utf8.count == 16
            && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}

/// A worker's answer to a cancel request.
public enum WireCancelConfirm: String, Sendable, Hashable, CaseIterable {
    /// The task stopped.
    case canceled
    /// The worker does not hold the task.
    case cancelNotFound = "cancel_not_found"
    /// The task cannot be stopped; its result will follow.
    case cancelFailed = "cancel_failed"
}

/// `PollRequest`: what a worker reports and how it waits.
public struct WirePollRequest: Sendable, Hashable {
    /// How a task ended on the worker.
    public enum Outcome: Sendable, Hashable {
        /// The function returned this JSON (exact bytes).
        case result([UInt8])
        /// The function failed with this message.
        case error(message: String)
    }

    /// `{id, result}` or `{id, error: {message}}`.
    public struct Result: Sendable, Hashable {
        /// The task.
        public var id: String
        /// How it ended.
        public var outcome: Outcome
        /// Log lines of the run, kept with the task (`GET /tasks/{id}/logs`).
        public var logs: [String]

        /// A result report.
        public init(id: String, outcome: Outcome, logs: [String] = []) {
            self.id = id
            self.outcome = outcome
            self.logs = logs
        }
    }

    /// `{id, confirm}`.
    public struct Confirm: Sendable, Hashable {
        /// The task.
        public var id: String
        /// The worker's answer.
        public var confirm: WireCancelConfirm

        /// A confirm report.
        public init(id: String, confirm: WireCancelConfirm) {
            self.id = id
            self.confirm = confirm
        }
    }

    /// Finished tasks.
    public var results: [Result] = []
    /// Answers to cancel requests.
    public var confirms: [Confirm] = []
    /// How long to wait for mail, seconds; nil (absent) answers at once.
    public var waitSeconds: Double?
    /// The most new tasks to take; nil for no limit but the worker's capacity.
    public var maxTasks: Int?
    /// The worker takes no new tasks from now on.
    public var drain = false
    /// Every task the worker holds (running, or with a report in flight); nil when it does not say.
    public var running: [String]?

    /// A poll.
    public init(
        results: [Result] = [], confirms: [Confirm] = [], waitSeconds: Double? = nil, maxTasks: Int? = nil,
        drain: Bool = false, running: [String]? = nil
    ) {
        self.results = results
        self.confirms = confirms
        self.waitSeconds = waitSeconds
        self.maxTasks = maxTasks
        self.drain = drain
        self.running = running
    }
}

/// `PollResponse`: the tasks to run, the tasks to stop, and the reports the server refused.
public struct WirePollResponse: Sendable, Hashable {
    /// `{id, function, args, attempt, deadline?, traceparent?}`: a task to run.
    public struct Assignment: Sendable, Hashable {
        /// The task.
        public var id: String
        /// The function to run.
        public var function: String
        /// Its args, the exact JSON bytes submitted.
        public var args: [UInt8]
        /// 1 for the first run, 2 for the first retry, ...
        public var attempt: Int
        /// When the execution deadline passes (RFC 3339), if the task has one.
        public var deadline: String?
        /// The W3C trace context the task was submitted with, if any.
        public var traceparent: String?

        /// An assignment.
        public init(
            id: String, function: String, args: [UInt8], attempt: Int, deadline: String? = nil,
            traceparent: String? = nil
        ) {
            self.traceparent = traceparent
            self.id = id
            self.function = function
            self.args = args
            self.attempt = attempt
            self.deadline = deadline
        }
    }

    /// `{id, report, code}`: a report the server did not take (`code` is `not_holder`).
    public struct Refusal: Sendable, Hashable {
        /// The task the report named.
        public var id: String
        /// `result` or `confirm`.
        public var report: String
        /// Why.
        public var code: String

        /// A refusal.
        public init(id: String, report: String, code: String) {
            self.id = id
            self.report = report
            self.code = code
        }
    }

    /// Tasks to run.
    public var tasks: [Assignment] = []
    /// Tasks to stop.
    public var cancel: [String] = []
    /// Reports refused.
    public var refused: [Refusal] = []

    /// An answer.
    public init(tasks: [Assignment] = [], cancel: [String] = [], refused: [Refusal] = []) {
        self.tasks = tasks
        self.cancel = cancel
        self.refused = refused
    }
}
