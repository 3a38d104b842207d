import TaskGateAPI

/// Why a future has no result, or why a client call failed. `code` is stable; match on the static members.
public struct TaskGateError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: String, Hashable, Sendable {
        case taskFailed = "task_failed"
        case cancelled
        case taskNotFound = "task_not_found"
        case taskExpired = "task_expired"
        case timeout
        case clientClosed = "client_closed"
        case disconnected
        case server
        case invalidResponse = "invalid_response"
        case invalidConfiguration = "invalid_configuration"
    }

    private let code: Code
    /// What happened, for people.
    public let message: String
    /// The failed task's error (`function_error`, `worker_died`, `timeout`), for `taskFailed`.
    public let taskError: WireTaskError?
    /// The server's problem body, for `server`.
    public let problem: WireProblem?
    /// For an error thrown by `map`: per element of its arguments, the future of each task the server accepted
    /// before the error (nil for the others). Nil for every other error.
    public private(set) var submitted: [TaskFuture?]?

    private init(_ code: Code, _ message: String, taskError: WireTaskError? = nil, problem: WireProblem? = nil) {
        self.code = code
        self.message = message
        self.taskError = taskError
        self.problem = problem
    }

    /// The same error, carrying what `map` did submit.
    func with(submitted: [TaskFuture?]) -> TaskGateError {
        var error = self
        error.submitted = submitted
        return error
    }

    /// The stable code (`task_failed`, `cancelled`, `task_not_found`, ...).
    public var codeName: String { code.rawValue }

    /// `code: message`.
    public var description: String { "\(code.rawValue): \(message)" }

    /// Equal when the codes are equal (so `error == .cancelled` reads naturally).
    public static func == (lhs: TaskGateError, rhs: TaskGateError) -> Bool { lhs.code == rhs.code }

    /// Hashes the code.
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    /// The task failed; `taskError` says how.
    public static let taskFailed = TaskGateError(.taskFailed, "the task failed")
    /// The task was cancelled.
    public static let cancelled = TaskGateError(.cancelled, "the task was cancelled")
    /// The server does not know the task.
    public static let taskNotFound = TaskGateError(.taskNotFound, "the server does not know the task")
    /// The task's record expired on the server before its outcome was read.
    public static let taskExpired = TaskGateError(.taskExpired, "the task expired on the server")
    /// A wait ran out.
    public static let timeout = TaskGateError(.timeout, "the wait ran out")
    /// The client was shut down.
    public static let clientClosed = TaskGateError(.clientClosed, "the client was shut down")
    /// The server could not be reached.
    public static let disconnected = TaskGateError(.disconnected, "the server could not be reached")
    /// The server answered with a problem.
    public static let server = TaskGateError(.server, "the server refused the request")
    /// The server's answer could not be understood.
    public static let invalidResponse = TaskGateError(.invalidResponse, "the server's answer could not be read")

    /// The client's configuration cannot work (a server URL it cannot reach).
    public static let invalidConfiguration = TaskGateError(
        .invalidConfiguration, "the client's configuration cannot work")

    static func invalidConfiguration(_ reason: String) -> TaskGateError {
        TaskGateError(.invalidConfiguration, reason)
    }

    static func taskFailed(_ error: WireTaskError?) -> TaskGateError {
        TaskGateError(.taskFailed, error.map { "\($0.code): \($0.detail)" } ?? "the task failed", taskError: error)
    }

    static func server(_ problem: WireProblem) -> TaskGateError {
        TaskGateError(.server, "\(problem.status) \(problem.code): \(problem.detail)", problem: problem)
    }

    static func disconnected(_ reason: String) -> TaskGateError {
        TaskGateError(.disconnected, "the server could not be reached: \(reason)")
    }

    static func invalidResponse(_ reason: String) -> TaskGateError {
        TaskGateError(.invalidResponse, "the server's answer could not be read: \(reason)")
    }
}
