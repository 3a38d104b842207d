import TaskGateAPI
import TaskScheduler

extension Gateway {
    /// `/workers…`: register, list, read, leave, poll.
    func routeWorkers(_ request: HTTPRequest, deferring deferred: inout DeferredWork) throws(Problem) -> HandlerResult {
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
        case "DELETE": return .respond(try leave(raw))
        default: throw .methodNotAllowed(method, allowed: ["DELETE", "GET"])
        }
    }

    /// `POST /workers` `{name, functions, capacity, lease_s}`: 201 + Location with the worker.
    func registerWorker(_ request: HTTPRequest) throws(Problem) -> HandlerResult {
        let body = try RequestParsing.jsonBody(request, maxBytes: configuration.maxBodyBytes)
        let registration = try RequestParsing.registration(
            body, defaultLease: configuration.defaultLease, leaseRange: configuration.leaseRange)
        guard !draining.load(ordering: .relaxed) else {
            throw Problem(SchedulerError(.shuttingDown, "the server is draining and takes no new workers"))
        }
        let id: WorkerID
        do {
            id = try scheduler.registerWorker(registration)
        } catch {
            throw Problem(error)
        }
        guard let worker = scheduler.worker(id) else { throw missingWorker(id) }
        var writer = JSONWriter(capacity: 256)
        WorkerJSON.write(worker, pollWait: maxPollWait(worker), into: &writer)
        return .respond(
            .json(201, writer.bytes, headers: [("Location", "/workers/\(id)"), ("Cache-Control", "no-store")]))
    }

    /// `GET /workers`: every registered worker with its load, in registration order.
    func listWorkers() -> HTTPResponse {
        let workers = scheduler.workers
        var writer = JSONWriter(capacity: 64 + 256 * workers.count)
        writer.beginObject()
        writer.key("workers")
        writer.beginArray()
        for worker in workers { WorkerJSON.write(worker, pollWait: maxPollWait(worker), into: &writer) }
        writer.endArray()
        writer.endObject()
        return .json(200, writer.bytes, headers: [("Cache-Control", "no-store")])
    }

    /// `GET /workers/{id}`.
    func getWorker(_ raw: String) throws(Problem) -> HTTPResponse {
        let id = try workerID(raw)
        guard let worker = scheduler.worker(id) else { throw missingWorker(id) }
        var writer = JSONWriter(capacity: 256)
        WorkerJSON.write(worker, pollWait: maxPollWait(worker), into: &writer)
        return .json(200, writer.bytes, headers: [("Cache-Control", "no-store")])
    }

    /// `DELETE /workers/{id}`: the worker leaves; what it still holds goes back to the queue (attempt+1, within
    /// `max_retries`), its canceling tasks become canceled. 204.
    func leave(_ raw: String) throws(Problem) -> HTTPResponse {
        let id = try workerID(raw)
        try requireRemote(id, raw: raw)
        guard scheduler.removeWorker(id, reason: .left) else { throw missingWorker(id) }
        return HTTPResponse(status: 204, headers: [], body: [])
    }

    /// `POST /workers/{id}/poll`: take the worker's results and confirms, then answer with new tasks and cancel
    /// requests — at once if there are any, else when some arrive or `wait_s` passes.
    func poll(_ request: HTTPRequest, worker raw: String, deferring deferred: inout DeferredWork) throws(Problem)
        -> HandlerResult
    {
        let id = try workerID(raw)
        // One look at the worker serves the in-process check and the clamps.
        let worker = scheduler.worker(id)
        if let worker, worker.lease == nil { throw .inProcessWorker(raw) }
        let body: [UInt8]
        if request.body.isEmpty && !request.bodyTooLarge {
            body = []
        } else {
            body = try RequestParsing.jsonBody(request, maxBytes: configuration.maxBodyBytes)
        }
        var poll = try RequestParsing.poll(body, maxWait: configuration.maxWait)
        if let limit = worker.flatMap(maxPollWait) {
            poll.wait = min(poll.wait, limit)
            // An answer is read within the longest wait plus 10 s (the client's timeout rule) or not at all.
            poll.reconcileAfter = limit + .seconds(10)
        }
        // Reports are taken whatever happens next: with no room to park, or while draining, answer at once.
        let draining = draining.load(ordering: .relaxed)
        let parks = poll.wait > .zero && !draining && reserveParkedSlot()
        if !parks { poll.wait = .zero }
        let start: PollStart
        let work: Scheduler.PendingWork
        do {
            (start, work) = try scheduler.poll(worker: id, poll)
        } catch {
            if parks { parkedCount.subtract(1, ordering: .relaxed) }
            throw Problem(error)
        }
        if !work.isEmpty { deferred.add(work.run) }
        switch start {
        case .answered(let mail):
            if parks { parkedCount.subtract(1, ordering: .relaxed) }
            // While the server drains it answers polls at once: Retry-After keeps workers from spinning.
            return .respond(
                WorkerJSON.pollResponse(
                    mail, results: { poll.results[$0].taskID }, confirms: { poll.confirms[$0].taskID },
                    retryAfter: draining))
        case .parked(let waiter):
            // Only the reports' ids wait with the request, not their payloads.
            let results = poll.results.map(\.taskID)
            let confirms = poll.confirms.map(\.taskID)
            return .deferred { [self] responder in
                scheduler.whenAnswered(waiter) { answer in
                    self.parkedCount.subtract(1, ordering: .relaxed)
                    switch answer {
                    case .mail(let mail):
                        responder.complete(
                            WorkerJSON.pollResponse(mail, results: { results[$0] }, confirms: { confirms[$0] }))
                    case .workerGone:
                        let problem = Problem(self.scheduler.missingWorkerError(id))
                        responder.complete(problem.response(instance: "/workers/\(raw)/poll"))
                    }
                }
            }
        }
    }

    /// The longest a worker's poll may park: half its lease, so a worker that died while parked is found out
    /// within one and a half leases of its last answer. `nil` for in-process workers.
    func maxPollWait(_ worker: WorkerRecord) -> Duration? {
        worker.lease.map { min($0 / 2, configuration.maxWait) }
    }

    /// In-process workers belong to the server: the worker API neither polls for them nor removes them.
    private func requireRemote(_ id: WorkerID, raw: String) throws(Problem) {
        if let worker = scheduler.worker(id), worker.lease == nil { throw .inProcessWorker(raw) }
    }

    private func workerID(_ raw: String) throws(Problem) -> WorkerID {
        guard let id = WorkerID(raw) else { throw .workerNotFound(raw) }
        return id
    }

    private func missingWorker(_ id: WorkerID) -> Problem {
        Problem(scheduler.missingWorkerError(id))
    }
}
