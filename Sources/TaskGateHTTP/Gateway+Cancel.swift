import TaskScheduler

extension Gateway {
    /// `DELETE /tasks/{id}?wait=N`: the cancel protocol; 200 canceled, 202 still canceling, 409 cancel_failed,
    /// 404 unknown, 410 expired.
    func cancel(_ request: HTTPRequest, id raw: String) throws(Problem) -> HandlerResult {
        let id = try taskID(raw)
        let wait =
            try RequestParsing.wait(request, max: configuration.maxWait)
            ?? min(configuration.defaultCancelWait, configuration.maxWait)
        let headers: [(name: String, value: String)] = [("Preference-Applied", "wait=\(RequestParsing.seconds(wait))")]
        let decision = scheduler.requestCancel(id)
        if let outcome = CancelOutcome(decision) { return .respond(Self.render(outcome, raw: raw, headers: headers)) }
        guard case .inProgress(let record) = decision else {
            return .respond(Self.render(.notFound(id), raw: raw, headers: headers))
        }
        guard wait > .zero else { return .respond(Self.render(.stillCanceling(record), raw: raw, headers: headers)) }
        // The cancel is requested: when too many requests are parked, answer 202 (still canceling), not 503.
        let parked = parkIfRoom(.changed(id, after: record.version), timeout: wait) { result in
            Self.render(CancelOutcome(settled: result.lookup!), raw: raw, headers: headers)
        }
        return parked ?? .respond(Self.render(.stillCanceling(record), raw: raw, headers: []))
    }

    static func render(_ outcome: CancelOutcome, raw: String, headers: [(name: String, value: String)]) -> HTTPResponse
    {
        switch outcome {
        case .canceled(let record):
            return TaskJSON.response(200, record, headers: headers)
        case .stillCanceling(let record):
            return TaskJSON.response(202, record, headers: [("Location", "/tasks/\(record.id)")] + headers)
        case .cancelFailed(let record):
            return Problem.cancelFailed(record).response(instance: "/tasks/\(raw)")
        case .notFound:
            return Problem.taskNotFound(raw).response(instance: "/tasks/\(raw)")
        case .expired(let id):
            return Problem.taskExpired(id).response(instance: "/tasks/\(raw)")
        }
    }
}
