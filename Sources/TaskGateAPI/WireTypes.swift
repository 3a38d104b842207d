/// The wire types of the REST API, as `openapi.yaml` defines them (`components/schemas`). Field names follow the
/// wire (snake_case) through `CodingKeys`; timestamps stay RFC 3339 strings (`RFC3339.parse` reads them).

/// `TaskState`.
public enum WireTaskState: String, Codable, Sendable, CaseIterable {
    case pending, running, canceling, succeeded, failed, canceled

    /// True in a terminal state.
    public var isTerminal: Bool { self == .succeeded || self == .failed || self == .canceled }
}

/// `TaskError`: why a task failed.
public struct WireTaskError: Codable, Sendable, Hashable {
    public var type: String
    public var title: String
    public var detail: String
    /// `function_error`, `worker_died` or `timeout`.
    public var code: String

    /// An error.
    public init(type: String, title: String, detail: String, code: String) {
        self.type = type
        self.title = title
        self.detail = detail
        self.code = code
    }
}

/// `Task.cancel`: the cancel protocol's record on a task.
public struct WireCancelInfo: Codable, Sendable, Hashable {
    public var requestedAt: String
    /// `canceled`, `cancel_not_found`, `cancel_failed`, or nil while the confirm is awaited.
    public var confirm: String?
    /// The function finished after the cancel was accepted (its result was discarded).
    public var workerFinished: Bool

    enum CodingKeys: String, CodingKey {
        case confirm
        case requestedAt = "requested_at"
        case workerFinished = "worker_finished"
    }

    /// Writes `confirm` as `null` while it is awaited, as the server does (the field is always present).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(requestedAt, forKey: .requestedAt)
        try container.encode(confirm, forKey: .confirm)
        try container.encode(workerFinished, forKey: .workerFinished)
    }
}

/// `Task`: one task's representation.
public struct WireTask: Codable, Sendable, Hashable {
    public var id: String
    public var function: String
    public var args: JSONValue
    public var state: WireTaskState
    public var done: Bool
    public var version: Int
    /// The result of a succeeded task (`.null` when it returned null); nil otherwise.
    public var result: JSONValue?
    public var error: WireTaskError?
    public var attempt: Int
    public var maxRetries: Int
    public var priority: Int
    public var timeoutSeconds: Double?
    public var tags: [String]
    public var createdAt: String
    public var updatedAt: String
    public var startedAt: String?
    public var finishedAt: String?
    public var expiresAt: String?
    public var cancel: WireCancelInfo?
    /// The completion webhook's URL, if one was given.
    public var callbackURL: String?
    /// Its delivery, once the task finished.
    public var callback: WireCallbackDelivery?
    /// Where the task's time went, once it was assigned (nil before).
    public var attempts: [WireTaskAttempt]?

    enum CodingKeys: String, CodingKey {
        case id, function, args, state, done, version, result, error, attempt, priority, tags, cancel, callback,
            attempts
        case callbackURL = "callback_url"
        case maxRetries = "max_retries"
        case timeoutSeconds = "timeout_s"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case expiresAt = "expires_at"
    }

    /// Decodes a task; a `result` that is present and `null` stays `.null` (absent is nil).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        function = try container.decode(String.self, forKey: .function)
        args = try container.decodeIfPresent(JSONValue.self, forKey: .args) ?? .null
        state = try container.decode(WireTaskState.self, forKey: .state)
        done = try container.decode(Bool.self, forKey: .done)
        version = try container.decode(Int.self, forKey: .version)
        result = container.contains(.result) ? try container.decode(JSONValue.self, forKey: .result) : JSONValue?.none
        error = try container.decodeIfPresent(WireTaskError.self, forKey: .error)
        attempt = try container.decode(Int.self, forKey: .attempt)
        maxRetries = try container.decode(Int.self, forKey: .maxRetries)
        priority = try container.decode(Int.self, forKey: .priority)
        timeoutSeconds = try container.decodeIfPresent(Double.self, forKey: .timeoutSeconds)
        tags = try container.decode([String].self, forKey: .tags)
        createdAt = try container.decode(String.self, forKey: .createdAt)
        updatedAt = try container.decode(String.self, forKey: .updatedAt)
        startedAt = try container.decodeIfPresent(String.self, forKey: .startedAt)
        finishedAt = try container.decodeIfPresent(String.self, forKey: .finishedAt)
        expiresAt = try container.decodeIfPresent(String.self, forKey: .expiresAt)
        cancel = try container.decodeIfPresent(WireCancelInfo.self, forKey: .cancel)
        callbackURL = try container.decodeIfPresent(String.self, forKey: .callbackURL)
        callback = try container.decodeIfPresent(WireCallbackDelivery.self, forKey: .callback)
        attempts = try container.decodeIfPresent([WireTaskAttempt].self, forKey: .attempts)
    }
}

/// The part of a `Task` that says how far it got and how it ended: what a client's future follows. Read from any
/// task representation (the other fields are skipped), or taken from a whole `WireTask`.
public struct WireTaskStatus: Sendable, Hashable {
    public var id: String
    public var function: String
    public var state: WireTaskState
    public var done: Bool
    public var version: Int
    /// The result of a succeeded task (`.null` when it returned null); nil otherwise.
    public var result: JSONValue?
    public var error: WireTaskError?

    /// A status.
    public init(
        id: String, function: String, state: WireTaskState, done: Bool, version: Int, result: JSONValue? = nil,
        error: WireTaskError? = nil
    ) {
        self.id = id
        self.function = function
        self.state = state
        self.done = done
        self.version = version
        self.result = result
        self.error = error
    }

    /// The status of `task`.
    public init(_ task: WireTask) {
        self.init(
            id: task.id, function: task.function, state: task.state, done: task.done, version: task.version,
            result: task.result, error: task.error)
    }
}

/// The answer of `POST /tasks/batch`.
public struct WireBatchResponse: Codable, Sendable {
    public var tasks: [WireTask]
}

/// `WaitRequest`: the body of `POST /tasks/wait`.
public struct WireWaitRequest: Codable, Sendable {
    public var ids: [String]
    /// `any` or `all`.
    public var mode: String
    public var timeoutSeconds: Double

    /// Waits for `mode` of `ids`, at most `timeoutSeconds`.
    public init(ids: [String], mode: String = "any", timeoutSeconds: Double) {
        self.ids = ids
        self.mode = mode
        self.timeoutSeconds = timeoutSeconds
    }

    enum CodingKeys: String, CodingKey {
        case ids, mode
        case timeoutSeconds = "timeout_s"
    }
}

/// `WaitResult`: the answer of `POST /tasks/wait`.
public struct WireWaitResult: Codable, Sendable {
    /// The finished tasks.
    public var tasks: [WireTask]
    public var pending: [String]
    public var notFound: [String]
    public var expired: [String]

    enum CodingKeys: String, CodingKey {
        case tasks, pending, expired
        case notFound = "not_found"
    }
}

/// `Problem`: an RFC 9457 error body.
public struct WireProblem: Codable, Sendable, Hashable {
    public var type: String
    public var title: String
    public var status: Int
    public var detail: String
    /// The stable error code (`task_not_found`, `cancel_failed`, ...).
    public var code: String
    public var instance: String?
    public var pointer: String?
    public var parameter: String?
    /// The task, where the problem is about one (`cancel_failed` carries it with its result).
    public var task: WireTask?

    /// A problem.
    public init(
        type: String, title: String, status: Int, detail: String, code: String, instance: String? = nil,
        pointer: String? = nil, parameter: String? = nil, task: WireTask? = nil
    ) {
        self.type = type
        self.title = title
        self.status = status
        self.detail = detail
        self.code = code
        self.instance = instance
        self.pointer = pointer
        self.parameter = parameter
        self.task = task
    }
}

/// `TaskPage`: the answer of `GET /tasks`.
public struct WireTaskPage: Codable, Sendable, Hashable {
    public var tasks: [WireTask]
    /// The cursor of the next page; nil on the last one.
    public var nextCursor: String?

    enum CodingKeys: String, CodingKey {
        case tasks
        case nextCursor = "next_cursor"
    }
}

/// `Stats`: the answer of `GET /stats`.
public struct WireStats: Codable, Sendable, Hashable {
    /// Retained tasks by state (`pending`, `running`, ...).
    public var tasks: [String: Int]
    public var queued: Int
    public var queueLimit: Int
    public var workers: Int
    /// Of `workers`, those connected over the worker API.
    public var remoteWorkers: Int?
    public var capacity: Int
    public var load: Int
    public var waiters: Int
    public var parkedRequests: Int
    public var tombstones: Int
    /// Counters since start (`submitted`, `succeeded`, `failed`, `canceled`, `requeued`, `evicted`).
    public var totals: [String: Int]
    /// Open event streams.
    public var eventStreams: Int?
    /// Finished tasks whose completion webhook is still to be delivered.
    public var callbacksPending: Int?
    /// Live and total counts per function.
    public var functions: [WireFunctionStats]?
    /// The latest failed tasks still retained, newest first.
    public var recentFailures: [WireFailure]?

    enum CodingKeys: String, CodingKey {
        case tasks, queued, workers, capacity, load, waiters, tombstones, totals, functions
        case queueLimit = "queue_limit"
        case parkedRequests = "parked_requests"
        case remoteWorkers = "remote_workers"
        case eventStreams = "event_streams"
        case callbacksPending = "callbacks_pending"
        case recentFailures = "recent_failures"
    }
}

/// One function in `/stats`: tasks held now by live state, and totals since start.
public struct WireFunctionStats: Codable, Sendable, Hashable {
    public var name: String
    public var pending: Int
    public var running: Int
    public var canceling: Int
    public var submitted: Int
    public var succeeded: Int
    public var failed: Int
    public var canceled: Int
}

/// A failed task in `/stats`' `recent_failures`.
public struct WireFailure: Codable, Sendable, Hashable {
    public var id: String
    public var function: String
    public var attempt: Int
    public var code: String?
    public var detail: String?
    public var finishedAt: String?

    enum CodingKeys: String, CodingKey {
        case id, function, attempt, code, detail
        case finishedAt = "finished_at"
    }
}

/// `CallbackDelivery`: where a finished task's completion webhook stands.
public struct WireCallbackDelivery: Codable, Sendable, Hashable {
    /// `pending`, `delivered`, `failed` or `gone`.
    public var state: String
    public var attempts: Int
    public var lastStatus: Int?
    public var lastError: String?
    public var nextAttemptAt: String?
    public var finishedAt: String?

    enum CodingKeys: String, CodingKey {
        case state, attempts
        case lastStatus = "last_status"
        case lastError = "last_error"
        case nextAttemptAt = "next_attempt_at"
        case finishedAt = "finished_at"
    }
}

/// `TaskAttempt`: one assignment of a task to a worker, with its wait, its run and how it ended.
public struct WireTaskAttempt: Codable, Sendable, Hashable {
    public var attempt: Int
    public var worker: String
    public var workerName: String
    public var queuedAt: String
    public var startedAt: String
    public var queueWaitSeconds: Double
    public var endedAt: String?
    public var runSeconds: Double?
    public var outcome: String?

    enum CodingKeys: String, CodingKey {
        case attempt, worker, outcome
        case workerName = "worker_name"
        case queuedAt = "queued_at"
        case startedAt = "started_at"
        case queueWaitSeconds = "queue_wait_s"
        case endedAt = "ended_at"
        case runSeconds = "run_s"
    }
}
