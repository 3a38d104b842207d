import TaskGateAPI
import TaskScheduler

extension Gateway {
    /// `POST /tasks`: 202 + Location; with `Prefer: wait=N`, 200 once finished within N seconds.
    func submit(_ request: HTTPRequest, deferring deferred: inout WakeupQueue) throws(Problem) -> HandlerResult {
        let body = try RequestParsing.jsonBody(request)
        let members = try RequestParsing.object(body)
        var submit = try RequestParsing.submitRequest(
            body, members, pointer: "", idempotencyKey: request.header(.idempotencyKey))
        submit.traceparent = RequestParsing.traceparent(request.headers[.traceparent])
        try checkCallback(submit, pointer: "/callback_url")
        // Everything that can be refused is checked before the task is accepted.
        let wait = try RequestParsing.wait(request, max: configuration.maxWait)
        try checkStoreAccepts()
        let outcome: SubmitOutcome
        var work = Scheduler.Wakeups()
        do {
            outcome = try scheduler.submit(submit, deferringInto: &work)
        } catch {
            throw Problem(error)
        }
        if !work.isEmpty { deferred.add(work.run) }
        var headers: [(name: String, value: String)] = []
        let record: TaskRecord
        switch outcome {
        case .created(let created):
            record = created
        case .existing(.found(let existing)):
            record = existing
            headers.append(("Idempotent-Replayed", "true"))
        case .existing(.expired(let id)), .existing(.notFound(let id)):
            throw .taskExpired(id)
        }
        headers.append(("Location", "/tasks/\(record.id)"))
        guard let wait else {
            return .respond(TaskJSON.response(record.done ? 200 : 202, record, headers: headers, attempts: false))
        }
        let applied = headers + [("Preference-Applied", "wait=\(RequestParsing.seconds(wait))")]
        guard wait > .zero, !record.done else {
            return .respond(TaskJSON.response(record.done ? 200 : 202, record, headers: applied, attempts: false))
        }
        let parked = parkIfRoom(.terminal(record.id), timeout: wait) { result in
            guard let current = result.lookup?.record else {
                return TaskJSON.response(202, record, headers: applied, attempts: false)
            }
            return TaskJSON.response(current.done ? 200 : 202, current, headers: applied, attempts: false)
        }
        // The task is accepted: when too many requests are parked, answer 202 now (no wait applied), not 503.
        return parked ?? .respond(TaskJSON.response(202, record, headers: headers, attempts: false))
    }

    /// `POST /tasks/batch`: an array of task objects, all accepted or none; 202 with the tasks in order (each task's
    /// status only with `Prefer: return=minimal`).
    func submitBatch(_ request: HTTPRequest, deferring deferred: inout WakeupQueue) throws(Problem) -> HandlerResult {
        let body = try RequestParsing.jsonBody(request)
        let elements: [(range: Range<Int>, kind: JSONKind)]?
        do {
            elements = try JSONScanner.elements(body[...])
        } catch {
            throw .malformedJSON(error.description)
        }
        guard let elements else { throw .invalidRequest("the body must be a JSON array of tasks", pointer: "") }
        var requests: [SubmitRequest] = []
        requests.reserveCapacity(elements.count)
        let traceparent = RequestParsing.traceparent(request.headers[.traceparent])
        for (index, element) in elements.enumerated() {
            guard element.kind == .object else {
                throw .invalidRequest("each task must be a JSON object", pointer: "/\(index)")
            }
            let slice = Array(body[element.range])
            let members = try RequestParsing.object(slice, pointer: "/\(index)")
            var task = try RequestParsing.submitRequest(slice, members, pointer: "/\(index)", idempotencyKey: nil)
            task.traceparent = traceparent
            try checkCallback(task, pointer: "/\(index)/callback_url")
            requests.append(task)
        }
        try checkStoreAccepts()
        let outcomes: [SubmitOutcome]
        var work = Scheduler.Wakeups()
        do {
            outcomes = try scheduler.submitBatch(requests, deferringInto: &work)
        } catch {
            throw Problem(error)
        }
        if !work.isEmpty { deferred.add(work.run) }
        let minimal = request.header(.prefer).map(RequestParsing.prefersMinimal) ?? false
        var writer = JSONWriter(capacity: (minimal ? 96 : 256) * outcomes.count)
        writer.beginObject()
        writer.key("tasks")
        writer.beginArray()
        for outcome in outcomes {
            if case .created(let record) = outcome {
                TaskJSON.write(record, minimal: minimal, attempts: false, into: &writer)
            }
        }
        writer.endArray()
        writer.endObject()
        var headers: [(name: String, value: String)] = [("Cache-Control", "no-store")]
        if minimal { headers.append(("Preference-Applied", "return=minimal")) }
        var response = HTTPResponse.json(202, writer.bytes, headers: headers)
        response.storeSeq = outcomes.reduce(work.storeSeq) { seq, outcome in
            if case .existing(.found(let record)) = outcome { return max(seq, record.storeSeq) }
            return seq
        }
        return .respond(response)
    }

    /// Refuses a `callback_url` the server does not allow (`Configuration.callbackAllow`).
    func checkCallback(_ submit: SubmitRequest, pointer: String) throws(Problem) {
        guard let url = submit.callbackURL, !configuration.callbackAllow.allows(url) else { return }
        throw .callbackNotAllowed(url, pointer: pointer, enabled: !configuration.callbackAllow.isEmpty)
    }
}
