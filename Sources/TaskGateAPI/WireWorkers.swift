/// The wire types of the worker API (`POST /workers`, `POST /workers/{id}/poll`, `GET /workers`).

/// `WorkerRegistration`: the body of `POST /workers`.
public struct WireWorkerRegistration: Codable, Sendable, Hashable {
    /// A human-readable name (shown in `GET /workers`).
    public var name: String
    /// The functions this worker runs.
    public var functions: [String]
    /// How many tasks it runs at once.
    public var capacity: Int
    /// How long it may go without polling before the server declares it dead; nil for the server's default.
    public var leaseSeconds: Double?

    /// A registration.
    public init(name: String, functions: [String], capacity: Int, leaseSeconds: Double? = nil) {
        self.name = name
        self.functions = functions
        self.capacity = capacity
        self.leaseSeconds = leaseSeconds
    }

    enum CodingKeys: String, CodingKey {
        case name, functions, capacity
        case leaseSeconds = "lease_s"
    }
}

/// `Worker`: a registered worker as the server reports it.
public struct WireWorker: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    /// `remote` or `in-process`.
    public var kind: String
    public var functions: [String]
    public var capacity: Int
    /// Tasks it holds now.
    public var load: Int
    public var draining: Bool
    /// Remote workers only.
    public var leaseSeconds: Double?
    /// The longest a poll of this worker may wait (half its lease); remote workers only.
    public var maxWaitSeconds: Double?
    public var registeredAt: String
    public var lastSeenAt: String

    enum CodingKeys: String, CodingKey {
        case id, name, kind, functions, capacity, load, draining
        case leaseSeconds = "lease_s"
        case maxWaitSeconds = "max_wait_s"
        case registeredAt = "registered_at"
        case lastSeenAt = "last_seen_at"
    }
}

/// `WorkerList`: the answer of `GET /workers`.
public struct WireWorkerList: Codable, Sendable, Hashable {
    public var workers: [WireWorker]
}

/// `WorkerResult`: a finished task, reported in a poll.
public struct WireWorkerResult: Codable, Sendable, Hashable {
    /// How the function ended.
    public enum Outcome: Sendable, Hashable {
        /// It returned this value (`null` included).
        case success(JSONValue)
        /// It failed; the message becomes the task's error detail.
        case failure(message: String)
    }

    public var id: String
    public var outcome: Outcome

    /// A report.
    public init(id: String, outcome: Outcome) {
        self.id = id
        self.outcome = outcome
    }

    private struct Failure: Codable, Hashable {
        var message: String
    }

    enum CodingKeys: String, CodingKey {
        case id, result, error
    }

    /// Decodes `{id, result}` or `{id, error: {message}}`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        if let failure = try container.decodeIfPresent(Failure.self, forKey: .error) {
            outcome = .failure(message: failure.message)
        } else {
            outcome = .success(try container.decode(JSONValue.self, forKey: .result))
        }
    }

    /// Encodes `{id, result}` or `{id, error: {message}}`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        switch outcome {
        case .success(let value): try container.encode(value, forKey: .result)
        case .failure(let message): try container.encode(Failure(message: message), forKey: .error)
        }
    }
}

/// `WorkerConfirm`: the answer to a cancel request, reported in a poll.
public struct WireWorkerConfirm: Codable, Sendable, Hashable {
    public var id: String
    /// `canceled`, `cancel_not_found` or `cancel_failed`.
    public var confirm: String

    /// A confirm.
    public init(id: String, confirm: String) {
        self.id = id
        self.confirm = confirm
    }
}

/// `PollRequest`: the body of `POST /workers/{id}/poll`.
public struct WirePollRequest: Codable, Sendable, Hashable {
    public var results: [WireWorkerResult]
    public var confirms: [WireWorkerConfirm]
    /// How long to wait when there is nothing to hand over (clamped to the worker's `max_wait_s`).
    public var waitSeconds: Double
    /// The most new tasks to take (nil: up to the worker's free capacity).
    public var maxTasks: Int?
    /// Take no new tasks from now on.
    public var drain: Bool

    /// A poll.
    public init(
        results: [WireWorkerResult] = [], confirms: [WireWorkerConfirm] = [], waitSeconds: Double = 0,
        maxTasks: Int? = nil, drain: Bool = false
    ) {
        self.results = results
        self.confirms = confirms
        self.waitSeconds = waitSeconds
        self.maxTasks = maxTasks
        self.drain = drain
    }

    enum CodingKeys: String, CodingKey {
        case results, confirms, drain
        case waitSeconds = "wait_s"
        case maxTasks = "max_tasks"
    }
}

/// `Assignment`: a task handed to a worker.
public struct WireAssignment: Codable, Sendable, Hashable {
    public var id: String
    public var function: String
    public var args: JSONValue
    /// 1 for the first run, 2 after a worker died running it, ...
    public var attempt: Int
    /// When the server fails the task with `timeout` (RFC 3339), if it has a timeout.
    public var deadline: String?

    /// Decodes an assignment; absent `args` read as `null`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        function = try container.decode(String.self, forKey: .function)
        args = try container.decodeIfPresent(JSONValue.self, forKey: .args) ?? .null
        attempt = try container.decode(Int.self, forKey: .attempt)
        deadline = try container.decodeIfPresent(String.self, forKey: .deadline)
    }

    /// An assignment.
    public init(id: String, function: String, args: JSONValue, attempt: Int, deadline: String? = nil) {
        self.id = id
        self.function = function
        self.args = args
        self.attempt = attempt
        self.deadline = deadline
    }
}

/// `Refusal`: a report the server did not take because the worker does not hold the task (any more).
public struct WireRefusal: Codable, Sendable, Hashable {
    public var id: String
    /// `result` or `confirm`.
    public var report: String
    /// `not_holder`.
    public var code: String
}

/// `PollResponse`: the answer of `POST /workers/{id}/poll`.
public struct WirePollResponse: Codable, Sendable, Hashable {
    /// Tasks to run.
    public var tasks: [WireAssignment]
    /// Ids of tasks to stop; answer each with a confirm.
    public var cancel: [String]
    /// Reports of this poll that changed nothing.
    public var refused: [WireRefusal]
}
