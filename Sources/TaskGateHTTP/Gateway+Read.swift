import TaskGateAPI
import TaskScheduler

extension Gateway {
    /// `GET /tasks/{id}`: the task now, or after waiting up to `wait` for a terminal state — or, with
    /// `If-None-Match`, for any change (304 when none came).
    func get(_ request: HTTPRequest, id raw: String) throws(Problem) -> HandlerResult {
        let id = try taskID(raw)
        let wait = try RequestParsing.wait(request, max: configuration.maxWait)
        var headers: [(name: String, value: String)] = []
        if let wait { headers.append(("Preference-Applied", "wait=\(RequestParsing.seconds(wait))")) }
        let record: TaskRecord
        switch scheduler.task(id) {
        case .found(let found): record = found
        case .expired: throw .taskExpired(id)
        case .notFound: throw .taskNotFound(raw)
        }
        if let ifNoneMatch = request.header(.ifNoneMatch) {
            let versions = RequestParsing.etagVersions(ifNoneMatch)
            let matches = versions?.contains(record.version) ?? true
            guard matches else { return .respond(TaskJSON.response(200, record, headers: headers)) }
            guard let wait, wait > .zero else { return .respond(Self.notModified(record, headers: headers)) }
            return try park(.changed(id, after: record.version), timeout: wait) { [headers] result in
                Self.render(result.lookup!, unchangedFrom: record.version, headers: headers)
            }
        }
        guard let wait, wait > .zero, !record.done else {
            // Without a wait there is no Preference-Applied header: a finished task's stored answer fits as it is.
            if headers.isEmpty { return .respond(rendered.response(of: record)) }
            return .respond(TaskJSON.response(200, record, headers: headers))
        }
        return try park(.terminal(id), timeout: wait) { [headers] result in
            Self.render(result.lookup!, unchangedFrom: nil, headers: headers)
        }
    }

    /// `GET /tasks/{id}/logs`: the log lines workers sent with the task's reports, and its attempts.
    func logs(id raw: String) throws(Problem) -> HandlerResult {
        let id = try taskID(raw)
        switch scheduler.task(id) {
        case .found(let record): return .respond(TaskJSON.logs(record))
        case .expired: throw .taskExpired(id)
        case .notFound: throw .taskNotFound(raw)
        }
    }

    static func notModified(_ record: TaskRecord, headers: [(name: String, value: String)]) -> HTTPResponse {
        HTTPResponse(status: 304, headers: [("ETag", TaskJSON.etag(record))] + headers)
    }

    static func render(_ lookup: TaskLookup, unchangedFrom version: UInt64?, headers: [(name: String, value: String)])
        -> HTTPResponse
    {
        switch lookup {
        case .found(let record):
            if let version, record.version == version { return notModified(record, headers: headers) }
            return TaskJSON.response(200, record, headers: headers)
        case .expired(let id):
            return Problem.taskExpired(id).response(instance: "/tasks/\(id)")
        case .notFound(let id):
            return Problem.taskNotFound(id.description).response(instance: "/tasks/\(id)")
        }
    }

    /// `POST /tasks/wait` `{ids, mode, timeout_s}`: waits for any or all, then lists what is done (each task's status
    /// only with `Prefer: return=minimal`).
    func waitMany(_ request: HTTPRequest) throws(Problem) -> HandlerResult {
        let body = try RequestParsing.jsonBody(request)
        let members = try RequestParsing.object(body)
        var ids: [TaskID] = []
        var unknown: [String] = []
        var mode = WaitMode.any
        var timeout = Duration.zero
        var hasIDs = false
        for member in members {
            let raw = Array(body[member.range])
            switch member.key {
            case "ids":
                for text in try RequestParsing.strings(raw, pointer: "/ids", what: "ids") {
                    if let id = TaskID(text) { ids.append(id) } else { unknown.append(text) }
                }
                hasIDs = true
            case "mode":
                guard member.kind == .string, let parsed = WaitMode(rawValue: RequestParsing.string(raw)) else {
                    throw .invalidRequest("mode must be \"any\" or \"all\"", pointer: "/mode")
                }
                mode = parsed
            case "timeout_s":
                guard member.kind == .number, let seconds = Double(String(decoding: raw, as: UTF8.self)),
                    seconds.isFinite, seconds >= 0
                else {
                    throw .invalidRequest("timeout_s must be a non-negative number", pointer: "/timeout_s")
                }
                timeout = .seconds(seconds, atMost: configuration.maxWait)
            default:
                throw .invalidRequest(
                    "unknown field '\(member.key)'; known: ids, mode, timeout_s", pointer: "/\(member.key)")
            }
        }
        guard hasIDs else { throw .invalidRequest("ids is required", pointer: "/ids") }
        guard ids.count + unknown.count <= scheduler.configuration.maxBatchSize else {
            throw .invalidRequest("at most \(scheduler.configuration.maxBatchSize) ids", pointer: "/ids")
        }
        let minimal = request.header(.prefer).map(RequestParsing.prefersMinimal) ?? false
        let applied = "wait=\(RequestParsing.seconds(timeout))" + (minimal ? ", return=minimal" : "")
        let headers: [(name: String, value: String)] = [("Preference-Applied", applied)]
        return try park(.tasks(ids, mode: mode), timeout: timeout) { [unknown] result in
            Self.waitResponse(result.lookups, unknown: unknown, minimal: minimal, headers: headers)
        }
    }

    static func waitResponse(
        _ lookups: [TaskLookup], unknown: [String], minimal: Bool, headers: [(name: String, value: String)]
    ) -> HTTPResponse {
        var writer = JSONWriter(capacity: 512)
        writer.beginObject()
        writer.key("tasks")
        writer.beginArray()
        var pending: [String] = []
        var notFound = unknown
        var expired: [String] = []
        var seen = Set<TaskID>()
        var storeSeq: UInt64 = 0
        for lookup in lookups {
            switch lookup {
            case .found(let record):
                guard seen.insert(record.id).inserted else { continue }
                storeSeq = max(storeSeq, record.storeSeq)
                if record.done {
                    TaskJSON.write(record, minimal: minimal, into: &writer)
                } else {
                    pending.append(record.id.description)
                }
            case .expired(let id): expired.append(id.description)
            case .notFound(let id): notFound.append(id.description)
            }
        }
        writer.endArray()
        for (key, values) in [("pending", pending), ("not_found", notFound), ("expired", expired)] {
            writer.dynamicKey(key)
            writer.beginArray()
            for value in values { writer.string(value) }
            writer.endArray()
        }
        writer.endObject()
        var response = HTTPResponse.json(200, writer.bytes, headers: [("Cache-Control", "no-store")] + headers)
        response.storeSeq = storeSeq
        return response
    }

    /// `GET /tasks?state=&function=&limit=&cursor=`: a page in submission order.
    func list(_ request: HTTPRequest) throws(Problem) -> HandlerResult {
        var filter = TaskFilter()
        if let state = request.query["state"] {
            guard let parsed = TaskState(rawValue: state) else {
                throw .invalidParameter(
                    "state", "state must be one of \(TaskState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            filter.state = parsed
        }
        filter.function = request.query["function"]
        var limit = 100
        if let value = request.query["limit"] {
            // Any positive integer is fine; large ones (even past Int) mean "as many as allowed".
            guard !value.isEmpty, value.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), value.contains(where: { $0 != "0" })
            else {
                throw .invalidParameter("limit", "limit must be a positive integer")
            }
            limit = min(Int(value) ?? .max, configuration.maxListLimit)
        }
        var cursor: TaskID?
        if let value = request.query["cursor"] {
            guard let parsed = TaskID(value) else { throw .invalidParameter("cursor", "cursor must be a task id") }
            cursor = parsed
        }
        let page = scheduler.list(filter, after: cursor, limit: limit)
        var writer = JSONWriter(capacity: 256 * page.tasks.count + 64)
        writer.beginObject()
        writer.key("tasks")
        writer.beginArray()
        for record in page.tasks { TaskJSON.write(record, into: &writer) }
        writer.endArray()
        writer.key("next_cursor")
        if let next = page.next { writer.string(next.description) } else { writer.null() }
        writer.endObject()
        var response = HTTPResponse.json(200, writer.bytes, headers: [("Cache-Control", "no-store")])
        response.storeSeq = page.tasks.reduce(0) { max($0, $1.storeSeq) }
        return .respond(response)
    }
}
