import TaskGateAPI
import TaskGateStore
import TaskScheduler

/// An RFC 9457 problem: every error answer of the gateway, with a stable `code`. The status for each code is
/// decided here and nowhere else.
public struct Problem: Error, Sendable {
    /// The HTTP status.
    public var status: Int
    /// The stable machine-readable code (also the last segment of `type`).
    public var code: String
    /// A summary that depends only on the code.
    public var title: String
    /// What happened in this request.
    public var detail: String
    /// A JSON pointer to the offending body field.
    public var pointer: String?
    /// The offending query parameter or header.
    public var parameter: String?
    /// The task concerned, in full (cancel_failed carries the finished task and its result).
    public var task: TaskRecord?
    /// Extra headers (`Retry-After`, `Allow`).
    public var headers: [(name: String, value: String)] = []

    init(_ status: Int, _ code: String, _ title: String, _ detail: String) {
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
    }

    static func malformedJSON(_ detail: String) -> Problem {
        Problem(400, "malformed_json", "The body is not valid JSON", detail)
    }

    static func invalidRequest(_ detail: String, pointer: String) -> Problem {
        var problem = Problem(422, "invalid_request", "A field is missing or has the wrong type", detail)
        problem.pointer = pointer
        return problem
    }

    static func invalidParameter(_ name: String, _ detail: String) -> Problem {
        var problem = Problem(400, "invalid_parameter", "A query parameter or header is invalid", detail)
        problem.parameter = name
        return problem
    }

    static func callbackNotAllowed(_ url: String, pointer: String, enabled: Bool) -> Problem {
        var problem = Problem(
            422, "callback_not_allowed", "The callback URL is not allowed",
            enabled
                ? "callback_url '\(url)' is not under a prefix or host the server allows (--callback-allow)"
                : "completion webhooks are off on this server (no --callback-allow)")
        problem.pointer = pointer
        return problem
    }

    static func payloadTooLarge(_ limit: Int) -> Problem {
        Problem(
            413, "payload_too_large", "The body is too large", "the body is larger than the limit of \(limit) bytes")
    }

    static func unsupportedMediaType(_ contentType: String?) -> Problem {
        Problem(
            415, "unsupported_media_type", "The body must be JSON",
            "Content-Type must be application/json, got \(contentType.map { "'\($0)'" } ?? "none")")
    }

    static func routeNotFound(_ path: String) -> Problem {
        Problem(404, "route_not_found", "No such endpoint", "there is no endpoint at \(path)")
    }

    static func methodNotAllowed(_ method: String, allowed: [String]) -> Problem {
        var problem = Problem(
            405, "method_not_allowed", "Method not allowed here",
            "\(method) is not allowed here; allowed: \(allowed.joined(separator: ", "))")
        let listed = allowed + (allowed.contains("GET") ? ["HEAD"] : []) + ["OPTIONS"]
        problem.headers = [("Allow", listed.joined(separator: ", "))]
        return problem
    }

    /// A request the HTTP layer found malformed.
    init(_ defect: RequestDefect) {
        switch defect {
        case .path(let detail):
            self.init(400, "invalid_path", "The request path is malformed", detail)
        case .query(let name, let detail):
            self = .invalidParameter(name, detail)
        case .framing(let detail):
            self.init(400, "invalid_framing", "The request's body framing is ambiguous", detail)
            headers = [("Connection", "close")]
        }
    }

    static func taskNotFound(_ id: String) -> Problem {
        Problem(404, "task_not_found", "No such task", "no task has the id '\(id)'")
    }

    static func taskExpired(_ id: TaskID) -> Problem {
        Problem(410, "task_expired", "The task has expired", "task \(id) finished and its record was evicted")
    }

    static func cancelFailed(_ record: TaskRecord) -> Problem {
        let detail =
            record.done
            ? "task \(record.id) had already \(record.state.rawValue) when the cancel arrived"
            : "the worker running task \(record.id) cannot stop it; it will finish normally"
        var problem = Problem(409, "cancel_failed", "The task could not be cancelled", detail)
        problem.task = record
        return problem
    }

    static func workerNotFound(_ id: String) -> Problem {
        Problem(404, "unknown_worker", "No such worker", "'\(id)' is not a worker id (w followed by digits)")
    }

    static func unauthorized(presented: Bool) -> Problem {
        var problem = Problem(
            401, "unauthorized", "A valid bearer token is required",
            presented
                ? "the Authorization header does not carry a valid token (expected 'Bearer <token>')"
                : "this server requires 'Authorization: Bearer <token>'")
        problem.headers = [
            (
                "WWW-Authenticate",
                presented ? #"Bearer realm="taskgate", error="invalid_token""# : #"Bearer realm="taskgate""#
            )
        ]
        return problem
    }

    static func forbidden(_ roles: [AccessTokens.Role]) -> Problem {
        Problem(
            403, "forbidden", "The token's role may not use this endpoint",
            "this endpoint needs a \(roles.map(\.rawValue).joined(separator: " or ")) token")
    }

    static func workerSecretMismatch(_ id: WorkerID) -> Problem {
        var problem = Problem(
            403, "worker_secret_mismatch", "Only the worker itself may report for it",
            "the TaskGate-Worker-Secret header is missing or is not the secret POST /workers gave worker \(id)")
        problem.parameter = "TaskGate-Worker-Secret"
        return problem
    }

    /// The store cannot write: new submissions are refused until it can (507 for a full disk, else 503).
    static func storeRefusing(_ error: StoreError) -> Problem {
        var problem =
            error.kind == .full
            ? Problem(
                507, "insufficient_storage", "The server's disk is full",
                "the server cannot store new tasks until space is freed; nothing of this request was accepted")
            : Problem(
                503, "store_unavailable", "The server cannot store tasks right now",
                "the server's store is failing (\(error.kind)); nothing of this request was accepted")
        problem.headers = [("Retry-After", "5")]
        return problem
    }

    /// The change this answer reports was not stored in time: it may still be (when the store recovers), so the
    /// request is safe to retry only with its Idempotency-Key.
    static func notStored(_ error: StoreError) -> Problem {
        var problem = Problem(
            503, "not_stored", "The change was not stored in time",
            "the server could not store this change yet (\(error.kind == .full ? "disk full" : "store failing")); "
                + "it may still be stored when the store recovers: retry with the same Idempotency-Key")
        problem.headers = [("Retry-After", "5")]
        return problem
    }

    static func tooManyStreams(_ limit: Int) -> Problem {
        .unavailable(
            "too_many_streams", "Too many event streams",
            "the server already serves \(limit) event streams; retry shortly", retryAfter: 5)
    }

    static func tooManyWaiters(_ limit: Int) -> Problem {
        .unavailable(
            "too_many_waiters", "Too many parked requests",
            "the server already holds \(limit) waiting requests; retry shortly or wait less", retryAfter: 1)
    }

    /// A 503 with `Retry-After`.
    private static func unavailable(_ code: String, _ title: String, _ detail: String, retryAfter seconds: Int)
        -> Problem
    {
        var problem = Problem(503, code, title, detail)
        problem.headers = [("Retry-After", "\(seconds)")]
        return problem
    }

    /// A body the wire codecs refused: 400 when it is not JSON, 422 with the field's pointer otherwise.
    init(_ error: WireFormatError) {
        switch error {
        case .syntax(let syntax): self = .malformedJSON(syntax.description)
        case .invalid(let message, let pointer): self = .invalidRequest(message, pointer: pointer)
        }
    }

    /// The one mapping of scheduler errors to HTTP.
    init(_ error: SchedulerError) {
        let code = error.code.rawValue
        switch error.code {
        case .queueFull:
            self.init(503, code, "The queue is full", error.message)
            headers = [("Retry-After", "1")]
        case .shuttingDown:
            self.init(503, code, "The server is shutting down", error.message)
            headers = [("Retry-After", "5")]
        case .idempotencyConflict:
            self.init(422, code, "The idempotency key was used with another request", error.message)
        case .unknownFunction:
            self.init(422, code, "Unknown function", error.message)
        case .batchTooLarge:
            self.init(422, code, "The batch holds too many tasks", error.message)
        case .tooManyWorkers:
            self.init(503, code, "Too many workers", error.message)
            headers = [("Retry-After", "5")]
        case .tooManyFunctions:
            self.init(422, code, "Too many function names", error.message)
        case .unknownWorker:
            self.init(404, code, "No such worker", error.message)
        case .workerGone:
            self.init(409, code, "The worker is no longer registered", error.message)
        case .inProcessWorker:
            self.init(409, code, "The worker runs inside the server", error.message)
        default:
            self.init(422, code, "A field is invalid", error.message)
        }
        if let field = error.field {
            pointer = (error.batchIndex.map { "/\($0)" } ?? "") + "/" + field.wireName
        }
    }

    /// The problem+json response.
    func response(instance: String) -> HTTPResponse {
        var writer = JSONWriter(capacity: 256)
        writer.beginObject()
        writer.key("type")
        writer.string("/problems/\(code)")
        writer.key("title")
        writer.string(title)
        writer.key("status")
        writer.number(status)
        writer.key("detail")
        writer.string(detail)
        writer.key("code")
        writer.string(code)
        writer.key("instance")
        writer.string(instance)
        if let pointer {
            writer.key("pointer")
            writer.string(pointer)
        }
        if let parameter {
            writer.key("parameter")
            writer.string(parameter)
        }
        if let task {
            writer.key("task")
            TaskJSON.write(task, into: &writer)
        }
        writer.endObject()
        var headers: [(name: String, value: String)] = [("Content-Type", "application/problem+json")]
        if let task { headers.append(("ETag", TaskJSON.etag(task))) }
        var response = HTTPResponse(status: status, headers: headers + self.headers, body: writer.bytes)
        response.storeSeq = task?.storeSeq ?? 0
        return response
    }
}
