import TaskGateAPI
import TaskScheduler

extension Gateway {
    /// `/workers…`: register, list, read, leave, poll.
    func routeWorkers(_ request: HTTPRequest, deferring deferred: inout WakeupQueue) throws(Problem) -> HandlerResult {
        let path = request.path
        let method = request.method
        if path == "/workers" {
            switch method {
            case "POST": return try registerWorker(request)
            case "GET": return .respond(listWorkers())
            default: throw .methodNotAllowed(method, allowed: ["GET", "POST"])
            }
        }
        // `/workers/{id}` or `/workers/{id}/poll`.
        let segments = path.utf8.dropFirst(9).split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        guard let first = segments.first, !first.isEmpty, segments.count <= 2 else { throw .routeNotFound(path) }
        let raw = String(Substring(first))
        if segments.count == 2 {
            guard String(Substring(segments[1])) == "poll" else { throw .routeNotFound(path) }
            guard method == "POST" else { throw .methodNotAllowed(method, allowed: ["POST"]) }
            return try poll(request, worker: raw, deferring: &deferred)
        }
        switch method {
        case "GET": return .respond(try getWorker(raw))
        case "DELETE": return .respond(try leave(request, raw))
        default: throw .methodNotAllowed(method, allowed: ["DELETE", "GET"])
        }
    }

    /// `POST /workers` `{name, functions, capacity, lease_s}`: 201 + Location with the worker.
    func registerWorker(_ request: HTTPRequest) throws(Problem) -> HandlerResult {
        let body = try RequestParsing.jsonBody(request)
        let registration = try RequestParsing.registration(
            body, defaultLease: configuration.defaultLease, leaseRange: configuration.leaseRange)
        let worker = try scheduled { () throws(SchedulerError) in try scheduler.join(registration) }
        var writer = JSONWriter(capacity: 256)
        WorkerJSON.write(
            worker, pollWait: scheduler.maxPollWait(of: worker), secret: workerSecrets.secret(of: worker.id),
            into: &writer)
        return .respond(
            .json(201, writer.bytes, headers: [("Location", "/workers/\(worker.id)"), ("Cache-Control", "no-store")]))
    }

    /// `GET /workers`: every registered worker with its load, in registration order.
    func listWorkers() -> HTTPResponse {
        let workers = scheduler.workers
        var writer = JSONWriter(capacity: 64 + 256 * workers.count)
        writer.beginObject()
        writer.key("workers")
        writer.beginArray()
        for worker in workers { WorkerJSON.write(worker, pollWait: scheduler.maxPollWait(of: worker), into: &writer) }
        writer.endArray()
        writer.endObject()
        return .json(200, writer.bytes, headers: [("Cache-Control", "no-store")])
    }

    /// `GET /workers/{id}`.
    func getWorker(_ raw: String) throws(Problem) -> HTTPResponse {
        let id = try workerID(raw)
        let worker = try scheduled { () throws(SchedulerError) in try scheduler.registeredWorker(id) }
        var writer = JSONWriter(capacity: 256)
        WorkerJSON.write(worker, pollWait: scheduler.maxPollWait(of: worker), into: &writer)
        return .json(200, writer.bytes, headers: [("Cache-Control", "no-store")])
    }

    /// `DELETE /workers/{id}`: the worker leaves; what it still holds goes back to the queue (attempt+1, within
    /// `max_retries`), its canceling tasks become canceled. 204.
    func leave(_ request: HTTPRequest, _ raw: String) throws(Problem) -> HTTPResponse {
        let id = try workerID(raw)
        try checkSecret(request, of: id)
        try scheduled { () throws(SchedulerError) in try scheduler.leave(id) }
        return HTTPResponse(status: 204, headers: [], body: [])
    }

    /// `POST /workers/{id}/poll`: take the worker's results and confirms, then answer with new tasks and cancel
    /// requests — at once if there are any, else when some arrive or `wait_s` passes.
    func poll(_ request: HTTPRequest, worker raw: String, deferring deferred: inout WakeupQueue) throws(Problem)
        -> HandlerResult
    {
        let id = try workerID(raw)
        try checkSecret(request, of: id)
        let body: [UInt8]
        if request.body.isEmpty {
            body = []
        } else {
            body = try RequestParsing.jsonBody(request)
        }
        var poll = try RequestParsing.poll(body, maxWait: configuration.maxWait)
        // Reports are taken whatever happens next: with no room to park, answer at once.
        let parks = poll.wait > .zero && reserveParkedSlot()
        if !parks { poll.wait = .zero }
        let (start, draining, work): (PollStart, Bool, Scheduler.Wakeups)
        do {
            (start, draining, work) = try scheduler.poll(worker: id, poll)
        } catch {
            if parks { parkedCount.subtract(1, ordering: .relaxed) }
            throw Problem(error)
        }
        if !work.isEmpty { deferred.add(work.run) }
        switch start {
        case .answered(let mail):
            if parks { parkedCount.subtract(1, ordering: .relaxed) }
            // While the server drains it answers polls at once: Retry-After keeps workers from spinning.
            var response = WorkerJSON.pollResponse(
                mail, results: { poll.results[$0].taskID }, confirms: { poll.confirms[$0].taskID },
                retryAfter: draining)
            // The reports are acknowledged only once their outcomes are stored.
            response.storeSeq = work.storeSeq
            return .respond(response)
        case .parked(let waiter):
            // Only the reports' ids wait with the request, not their payloads.
            let results = poll.results.map(\.taskID)
            let confirms = poll.confirms.map(\.taskID)
            let reported = work.storeSeq
            let instance = request.path
            return .park { [self] responder in
                scheduler.whenAnswered(waiter) { answer in
                    self.parkedCount.subtract(1, ordering: .relaxed)
                    switch answer {
                    case .mail(let mail):
                        var response = WorkerJSON.pollResponse(
                            mail, results: { results[$0] }, confirms: { confirms[$0] })
                        response.storeSeq = reported
                        self.complete(responder, with: response, instance: instance)
                    case .workerGone:
                        let problem = Problem(self.scheduler.missingWorkerError(id))
                        responder.complete(problem.response(instance: "/workers/\(raw)/poll"))
                    }
                }
            }
        }
    }

    /// Refuses a poll or leave without the worker's registration secret (403 `worker_secret_mismatch`). When the
    /// secret does not match, a worker that is not registered (any more) answers as it always did (404
    /// `unknown_worker`, 409 `worker_gone`) so that it registers again, and an in-process worker's 409 stays.
    func checkSecret(_ request: HTTPRequest, of id: WorkerID) throws(Problem) {
        if workerSecrets.verify(request.headers[.workerSecret], for: id) { return }
        let worker = try scheduled { () throws(SchedulerError) in try scheduler.registeredWorker(id) }
        if worker.lease == nil { return }
        throw .workerSecretMismatch(id)
    }

    /// Runs one scheduler call, turning its error into the problem that answers the request.
    private func scheduled<R>(_ call: () throws(SchedulerError) -> R) throws(Problem) -> R {
        do {
            return try call()
        } catch {
            throw Problem(error)
        }
    }

    private func workerID(_ raw: String) throws(Problem) -> WorkerID {
        guard let id = WorkerID(raw) else { throw .workerNotFound(raw) }
        return id
    }
}
