/// What a caller asks the scheduler to run.
public struct SubmitRequest: Hashable, Sendable {
    /// The function name; some worker must offer (or have offered) it.
    public var function: String
    /// The arguments, opaque JSON.
    public var args: Payload
    /// Higher runs first; FIFO within one priority.
    public var priority: Int
    /// Execution deadline, counted from assignment to a worker; `nil` for none.
    public var timeout: Duration?
    /// How often the task is re-queued when its worker dies; `nil` takes the configured default.
    public var maxRetries: Int?
    /// Free-form labels, returned as given.
    public var tags: [String]
    /// Same key and same request give the same task; same key and another request is an error.
    public var idempotencyKey: String?
    /// The W3C trace context of the submitter (`traceparent`), kept with the task and handed to its worker. Not part
    /// of the request an idempotency key compares: a replay from another trace is the same task.
    public var traceparent: String?
    /// Where to POST the task once it finished (a completion webhook); the HTTP gateway checks it against its
    /// allow-list. Part of the request an idempotency key compares.
    public var callbackURL: String?

    /// Creates a request.
    public init(
        function: String, args: Payload = .null, priority: Int = 0, timeout: Duration? = nil,
        maxRetries: Int? = nil, tags: [String] = [], idempotencyKey: String? = nil, traceparent: String? = nil,
        callbackURL: String? = nil
    ) {
        self.callbackURL = callbackURL
        self.traceparent = traceparent
        self.function = function
        self.args = args
        self.priority = priority
        self.timeout = timeout
        self.maxRetries = maxRetries
        self.tags = tags
        self.idempotencyKey = idempotencyKey
    }
}
