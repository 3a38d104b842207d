/// A function run in process: it gets the args JSON and returns the result JSON. Throwing fails the task with
/// `function_error`; it should stop promptly when its Swift task is cancelled.
public typealias TaskFunction = @Sendable (Payload, TaskContext) async throws -> Payload

/// The functions an in-process worker pool offers, by name.
public struct FunctionRegistry: Sendable {
    private var functions: [String: TaskFunction] = [:]

    /// An empty registry.
    public init() {}

    /// Adds or replaces a function.
    public mutating func register(_ name: String, _ function: @escaping TaskFunction) {
        functions[name] = function
    }

    /// The function registered under `name`.
    public subscript(name: String) -> TaskFunction? { functions[name] }

    /// The registered names.
    public var names: Set<String> { Set(functions.keys) }
}

/// An error a function throws to fail its task with exactly this message as the detail.
public struct FunctionError: Error, CustomStringConvertible, Sendable {
    /// The failure's detail.
    public var message: String

    /// Creates an error.
    public init(_ message: String) {
        self.message = message
    }

    /// The message.
    public var description: String { message }
}

/// What a running in-process function knows about its task, and how it talks back.
public struct TaskContext: Sendable {
    /// The task.
    public let taskID: TaskID
    /// The function name it was submitted with.
    public let function: String
    /// Which run this is (1 for the first).
    public let attempt: Int
    /// When the scheduler fails the task with `timeout`, if it has a deadline.
    public let deadline: Timestamp?
    let pool: InProcessWorkerPool?
    let slot: Int

    /// A context for calling a function outside a pool (tests, tools).
    public init(taskID: TaskID, function: String, attempt: Int = 1, deadline: Timestamp? = nil) {
        self.init(taskID: taskID, function: function, attempt: attempt, deadline: deadline, pool: nil, slot: 0)
    }

    init(taskID: TaskID, function: String, attempt: Int, deadline: Timestamp?, pool: InProcessWorkerPool?, slot: Int) {
        self.taskID = taskID
        self.function = function
        self.attempt = attempt
        self.deadline = deadline
        self.pool = pool
        self.slot = slot
    }

    /// Declares whether a cancel may stop this run (default true). While false, a cancel request is answered
    /// `cancel_failed` and the task goes on to deliver its result.
    public func setCancellable(_ cancellable: Bool) {
        pool?.setCancellable(cancellable, slot: slot, task: taskID)
    }
}
