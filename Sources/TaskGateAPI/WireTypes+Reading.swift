/// Decoding of the server's answers with `JSONReader`, in one pass and without Foundation: what the client reads
/// tasks, batches, waits, pages and problems with. Unknown fields are skipped (a newer server may add some);
/// a missing required field or one of the wrong type is an error that names it.

extension WireTask {
    /// Reads a task object; a `result` that is present and `null` is `.null` (absent is nil).
    public init(reading reader: inout JSONReader) throws(WireFormatError) {
        var id: String?
        var function: String?
        var args = JSONValue.null
        var state: WireTaskState?
        var done: Bool?
        var version: Int?
        var result: JSONValue?
        var error: WireTaskError?
        var attempt: Int?
        var maxRetries: Int?
        var priority: Int?
        var timeoutSeconds: Double?
        var tags: [String] = []
        var createdAt: String?
        var updatedAt: String?
        var startedAt: String?
        var finishedAt: String?
        var expiresAt: String?
        var cancel: WireCancelInfo?
        var callbackURL: String?
        var callback: WireCallbackDelivery?
        var attempts: [WireTaskAttempt]?
        try reader.members { (reader: inout JSONReader, key: JSONReader.Key) throws(WireFormatError) in
            switch key {
            case "id": id = try reader.string()
            case "function": function = try reader.string()
            case "args": args = try reader.value()
            case "state":
                let text = try reader.string()
                guard let known = WireTaskState(rawValue: text) else { throw reader.invalid("unknown state '\(text)'") }
                state = known
            case "done": done = try reader.bool()
            case "version": version = try reader.int()
            case "result": result = try reader.value()
            case "error": error = try reader.readNull() ? nil : WireTaskError(reading: &reader)
            case "attempt": attempt = try reader.int()
            case "max_retries": maxRetries = try reader.int()
            case "priority": priority = try reader.int()
            case "timeout_s": timeoutSeconds = try reader.readNull() ? nil : reader.double()
            case "tags": tags = try reader.strings()
            case "created_at": createdAt = try reader.string()
            case "updated_at": updatedAt = try reader.string()
            case "started_at": startedAt = try reader.optionalString()
            case "finished_at": finishedAt = try reader.optionalString()
            case "expires_at": expiresAt = try reader.optionalString()
            case "cancel": cancel = try reader.readNull() ? nil : WireCancelInfo(reading: &reader)
            case "callback_url": callbackURL = try reader.optionalString()
            case "callback": callback = try reader.readNull() ? nil : WireCallbackDelivery(reading: &reader)
            case "attempts":
                var list: [WireTaskAttempt] = []
                try reader.array { (reader: inout JSONReader) throws(WireFormatError) in
                    list.append(try WireTaskAttempt(reading: &reader))
                }
                attempts = list
            default: try reader.skip()
            }
        }
        guard let id, let function, let state, let done, let version, let attempt, let maxRetries, let priority,
            let createdAt, let updatedAt
        else {
            throw reader.invalid(
                "a task needs id, function, state, done, version, attempt, max_retries, priority, created_at and"
                    + " updated_at")
        }
        self.id = id
        self.function = function
        self.args = args
        self.state = state
        self.done = done
        self.version = version
        self.result = result
        self.error = error
        self.attempt = attempt
        self.maxRetries = maxRetries
        self.priority = priority
        self.timeoutSeconds = timeoutSeconds
        self.tags = tags
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.expiresAt = expiresAt
        self.cancel = cancel
        self.callbackURL = callbackURL
        self.callback = callback
        self.attempts = attempts
    }

    /// Reads one task from a whole JSON text.
    public init(json: [UInt8]) throws(WireFormatError) {
        self = try JSONReader.read(json, readTask)
    }

}

/// An array of tasks, each read by `read`.
private func list<T>(
    _ reader: inout JSONReader, _ read: (inout JSONReader) throws(WireFormatError) -> T
) throws(WireFormatError) -> [T] {
    var tasks: [T] = []
    try reader.array { (reader: inout JSONReader) throws(WireFormatError) in tasks.append(try read(&reader)) }
    return tasks
}

/// `{tasks}`, each task read by `read`.
private func batch<T>(
    _ json: [UInt8], _ read: (inout JSONReader) throws(WireFormatError) -> T
) throws(WireFormatError) -> [T] {
    try JSONReader.read(json) { (reader: inout JSONReader) throws(WireFormatError) in
        var tasks: [T]?
        try reader.members { (reader: inout JSONReader, key: JSONReader.Key) throws(WireFormatError) in
            switch key {
            case "tasks": tasks = try list(&reader, read)
            default: try reader.skip()
            }
        }
        guard let tasks else { throw reader.invalid("a batch answer needs tasks") }
        return tasks
    }
}

/// `{tasks, pending, not_found, expired}`, each task read by `read`.
private func waitResult<T>(
    _ json: [UInt8], _ read: (inout JSONReader) throws(WireFormatError) -> T
) throws(WireFormatError) -> (tasks: [T], pending: [String], notFound: [String], expired: [String]) {
    try JSONReader.read(json) { (reader: inout JSONReader) throws(WireFormatError) in
        var tasks: [T]?
        var pending: [String] = []
        var notFound: [String] = []
        var expired: [String] = []
        try reader.members { (reader: inout JSONReader, key: JSONReader.Key) throws(WireFormatError) in
            switch key {
            case "tasks": tasks = try list(&reader, read)
            case "pending": pending = try reader.strings()
            case "not_found": notFound = try reader.strings()
            case "expired": expired = try reader.strings()
            default: try reader.skip()
            }
        }
        guard let tasks else { throw reader.invalid("a wait result needs tasks") }
        return (tasks, pending, notFound, expired)
    }
}

private func readTask(_ reader: inout JSONReader) throws(WireFormatError) -> WireTask {
    try WireTask(reading: &reader)
}

private func readStatus(_ reader: inout JSONReader) throws(WireFormatError) -> WireTaskStatus {
    try WireTaskStatus(reading: &reader)
}

extension WireTaskStatus {
    /// Reads the status fields of a task object and skips the rest (arguments, timestamps, tags are scanned, not
    /// built).
    public init(reading reader: inout JSONReader) throws(WireFormatError) {
        var id: String?
        var function: String?
        var state: WireTaskState?
        var done: Bool?
        var version: Int?
        var result: JSONValue?
        var error: WireTaskError?
        try reader.members { (reader: inout JSONReader, key: JSONReader.Key) throws(WireFormatError) in
            switch key {
            case "id": id = try reader.string()
            case "function": function = try reader.string()
            case "state":
                let text = try reader.string()
                guard let known = WireTaskState(rawValue: text) else { throw reader.invalid("unknown state '\(text)'") }
                state = known
            case "done": done = try reader.bool()
            case "version": version = try reader.int()
            case "result": result = try reader.value()
            case "error": error = try reader.readNull() ? nil : WireTaskError(reading: &reader)
            default: try reader.skip()
            }
        }
        guard let id, let function, let state, let done, let version else {
            throw reader.invalid("a task needs id, function, state, done and version")
        }
        self.init(id: id, function: function, state: state, done: done, version: version, result: result, error: error)
    }

    /// Reads one task's status from a whole JSON text.
    public init(json: [UInt8]) throws(WireFormatError) {
        self = try JSONReader.read(json, readStatus)
    }

    /// The statuses in a `POST /tasks/batch` answer, in order.
    public static func batch(json: [UInt8]) throws(WireFormatError) -> [WireTaskStatus] {
        try TaskGateAPI.batch(json, readStatus)
    }

    /// A `POST /tasks/wait` answer, with the finished tasks' statuses.
    public static func waitResult(
        json: [UInt8]
    ) throws(WireFormatError) -> (tasks: [WireTaskStatus], pending: [String], notFound: [String], expired: [String]) {
        try TaskGateAPI.waitResult(json, readStatus)
    }
}

extension WireWaitRequest {
    /// `{ids, mode, timeout_s}`.
    public func encoded() -> [UInt8] {
        var writer = JSONWriter(capacity: 48 + ids.count * 19)
        writer.beginObject()
        writer.key("ids")
        writer.beginArray()
        for id in ids { writer.string(id) }
        writer.endArray()
        writer.key("mode")
        writer.string(mode)
        writer.key("timeout_s")
        writer.number(timeoutSeconds)
        writer.endObject()
        return writer.bytes
    }
}

extension WireTaskError {
    /// Reads `{type, title, detail, code}`.
    public init(reading reader: inout JSONReader) throws(WireFormatError) {
        var type: String?
        var title: String?
        var detail: String?
        var code: String?
        try reader.members { (reader: inout JSONReader, key: JSONReader.Key) throws(WireFormatError) in
            switch key {
            case "type": type = try reader.string()
            case "title": title = try reader.string()
            case "detail": detail = try reader.string()
            case "code": code = try reader.string()
            default: try reader.skip()
            }
        }
        guard let type, let title, let detail, let code else {
            throw reader.invalid("a task error needs type, title, detail and code")
        }
        self.init(type: type, title: title, detail: detail, code: code)
    }
}

extension WireCancelInfo {
    /// Reads `{requested_at, confirm, worker_finished}`.
    public init(reading reader: inout JSONReader) throws(WireFormatError) {
        var requestedAt: String?
        var confirm: String?
        var workerFinished = false
        try reader.members { (reader: inout JSONReader, key: JSONReader.Key) throws(WireFormatError) in
            switch key {
            case "requested_at": requestedAt = try reader.string()
            case "confirm": confirm = try reader.optionalString()
            case "worker_finished": workerFinished = try reader.bool()
            default: try reader.skip()
            }
        }
        guard let requestedAt else { throw reader.invalid("a cancel block needs requested_at") }
        self.requestedAt = requestedAt
        self.confirm = confirm
        self.workerFinished = workerFinished
    }
}

extension WireBatchResponse {
    /// Reads `{tasks}`.
    public init(json: [UInt8]) throws(WireFormatError) {
        self.init(tasks: try batch(json, readTask))
    }
}

extension WireWaitResult {
    /// Reads `{tasks, pending, not_found, expired}`.
    public init(json: [UInt8]) throws(WireFormatError) {
        let result = try waitResult(json, readTask)
        self.init(tasks: result.tasks, pending: result.pending, notFound: result.notFound, expired: result.expired)
    }
}

extension WireTaskPage {
    /// Reads `{tasks, next_cursor}`.
    public init(json: [UInt8]) throws(WireFormatError) {
        self = try JSONReader.read(json) { (reader: inout JSONReader) throws(WireFormatError) in
            var tasks: [WireTask]?
            var cursor: String?
            try reader.members { (reader: inout JSONReader, key: JSONReader.Key) throws(WireFormatError) in
                switch key {
                case "tasks": tasks = try list(&reader, readTask)
                case "next_cursor": cursor = try reader.optionalString()
                default: try reader.skip()
                }
            }
            guard let tasks else { throw reader.invalid("a task page needs tasks") }
            return WireTaskPage(tasks: tasks, nextCursor: cursor)
        }
    }
}

extension WireProblem {
    /// Reads an RFC 9457 problem; throws when the text is not one (no `code` or `status`).
    public init(json: [UInt8]) throws(WireFormatError) {
        self = try JSONReader.read(json) { (reader: inout JSONReader) throws(WireFormatError) in
            var problem = WireProblem(type: "about:blank", title: "", status: 0, detail: "", code: "")
            var hasCode = false
            var hasStatus = false
            try reader.members { (reader: inout JSONReader, key: JSONReader.Key) throws(WireFormatError) in
                switch key {
                case "type": problem.type = try reader.string()
                case "title": problem.title = try reader.string()
                case "status":
                    problem.status = try reader.int()
                    hasStatus = true
                case "detail": problem.detail = try reader.string()
                case "code":
                    problem.code = try reader.string()
                    hasCode = true
                case "instance": problem.instance = try reader.optionalString()
                case "pointer": problem.pointer = try reader.optionalString()
                case "parameter": problem.parameter = try reader.optionalString()
                case "task": problem.task = try reader.readNull() ? nil : WireTask(reading: &reader)
                default: try reader.skip()
                }
            }
            guard hasCode, hasStatus else { throw reader.invalid("a problem needs status and code") }
            return problem
        }
    }
}

extension WireCallbackDelivery {
    /// Reads `{state, attempts, last_status?, last_error?, next_attempt_at?, finished_at?}`.
    public init(reading reader: inout JSONReader) throws(WireFormatError) {
        var state: String?
        var attempts: Int?
        var lastStatus: Int?
        var lastError: String?
        var nextAttemptAt: String?
        var finishedAt: String?
        try reader.members { (reader: inout JSONReader, key: JSONReader.Key) throws(WireFormatError) in
            switch key {
            case "state": state = try reader.string()
            case "attempts": attempts = try reader.int()
            case "last_status": lastStatus = try reader.readNull() ? nil : reader.int()
            case "last_error": lastError = try reader.optionalString()
            case "next_attempt_at": nextAttemptAt = try reader.optionalString()
            case "finished_at": finishedAt = try reader.optionalString()
            default: try reader.skip()
            }
        }
        guard let state, let attempts else { throw reader.invalid("a callback block needs state and attempts") }
        self.init(
            state: state, attempts: attempts, lastStatus: lastStatus, lastError: lastError,
            nextAttemptAt: nextAttemptAt, finishedAt: finishedAt)
    }
}

extension WireTaskAttempt {
    /// Reads one entry of a task's `attempts`.
    public init(reading reader: inout JSONReader) throws(WireFormatError) {
        var attempt: Int?
        var worker: String?
        var workerName = ""
        var queuedAt: String?
        var startedAt: String?
        var queueWait: Double = 0
        var endedAt: String?
        var run: Double?
        var outcome: String?
        try reader.members { (reader: inout JSONReader, key: JSONReader.Key) throws(WireFormatError) in
            switch key {
            case "attempt": attempt = try reader.int()
            case "worker": worker = try reader.string()
            case "worker_name": workerName = try reader.string()
            case "queued_at": queuedAt = try reader.string()
            case "started_at": startedAt = try reader.string()
            case "queue_wait_s": queueWait = try reader.double()
            case "ended_at": endedAt = try reader.optionalString()
            case "run_s": run = try reader.readNull() ? nil : reader.double()
            case "outcome": outcome = try reader.optionalString()
            default: try reader.skip()
            }
        }
        guard let attempt, let worker, let queuedAt, let startedAt else {
            throw reader.invalid("an attempt needs attempt, worker, queued_at and started_at")
        }
        self.init(
            attempt: attempt, worker: worker, workerName: workerName, queuedAt: queuedAt, startedAt: startedAt,
            queueWaitSeconds: queueWait, endedAt: endedAt, runSeconds: run, outcome: outcome)
    }
}
