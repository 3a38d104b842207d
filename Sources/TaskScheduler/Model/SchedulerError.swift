/// An error the scheduler core answers a request with; `code` is stable and becomes the problem's `code`.
public struct SchedulerError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The stable machine-readable reason.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String {
            case queueFull = "queue_full"
            case idempotencyConflict = "idempotency_conflict"
            case unknownFunction = "unknown_function"
            case invalidArgument = "invalid_argument"
            case batchTooLarge = "batch_too_large"
            case unknownWorker = "unknown_worker"
            case workerGone = "worker_gone"
            case shuttingDown = "shutting_down"
            case inProcessWorker = "in_process_worker"
            case tooManyWorkers = "too_many_workers"
            case tooManyFunctions = "too_many_functions"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The pending queue is at its limit; nothing was created.
        public static let queueFull = Code(.queueFull)
        /// The idempotency key was used before with a different request.
        public static let idempotencyConflict = Code(.idempotencyConflict)
        /// No worker has ever offered the function.
        public static let unknownFunction = Code(.unknownFunction)
        /// A field is out of range or malformed; `field` names it.
        public static let invalidArgument = Code(.invalidArgument)
        /// A batch holds more tasks than allowed.
        public static let batchTooLarge = Code(.batchTooLarge)
        /// As many workers are registered as the server allows; nothing was registered.
        public static let tooManyWorkers = Code(.tooManyWorkers)
        /// As many distinct function names are known as the server allows; nothing was registered.
        public static let tooManyFunctions = Code(.tooManyFunctions)
        /// No worker ever had this id.
        public static let unknownWorker = Code(.unknownWorker)
        /// The worker left or was declared dead; what it reports now changes nothing.
        public static let workerGone = Code(.workerGone)
        /// The scheduler is draining and accepts no new tasks or workers.
        public static let shuttingDown = Code(.shuttingDown)
        /// The worker is one of the server's own: the worker API neither polls for it nor removes it.
        public static let inProcessWorker = Code(.inProcessWorker)

        /// The wire string, e.g. `queue_full`.
        public var rawValue: String { base.rawValue }
        /// The wire string.
        public var description: String { base.rawValue }
    }

    /// The stable reason.
    public var code: Code
    /// A human-readable explanation.
    public var message: String
    /// The request field to blame, when one is.
    public var field: Field?
    /// In a batch, the position of the request to blame.
    public var batchIndex: Int?

    /// A field of a request, in the scheduler's terms (the gateway spells each one on the wire).
    public enum Field: Hashable, Sendable, CaseIterable {
        case function, priority, timeout, maxRetries, tags, idempotencyKey, callbackURL
        case capacity, functions, lease, name
    }

    /// Creates an error.
    public init(_ code: Code, _ message: String, field: Field? = nil) {
        self.code = code
        self.message = message
        self.field = field
    }

    /// `code: message`.
    public var description: String { "\(code): \(message)" }
}
