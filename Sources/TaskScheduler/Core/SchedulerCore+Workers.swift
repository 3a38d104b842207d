import Logging

/// Why a worker is removed.
public enum WorkerExit: Sendable {
    /// It said goodbye.
    case left
    /// It stopped polling within its lease, or its connection died; the text says how.
    case died(String)
}

extension SchedulerCore {
    /// Registers a worker; its functions become known for good, and queued work is handed to it at once.
    package mutating func registerWorker(
        _ registration: WorkerRegistration, now: Timestamp, effects: inout Effects
    ) throws(SchedulerError) -> WorkerID {
        guard registration.capacity >= 1 else {
            throw SchedulerError(.invalidArgument, "capacity must be at least 1", field: .capacity)
        }
        guard !registration.functions.isEmpty else {
            throw SchedulerError(.invalidArgument, "a worker must offer at least one function", field: .functions)
        }
        // Remote workers (those with a lease) come to take tasks; a draining scheduler has none for them.
        guard registration.lease == nil || accepting else {
            throw SchedulerError(.shuttingDown, "the server is draining and takes no new workers")
        }
        if let lease = registration.lease, lease <= .zero {
            throw SchedulerError(.invalidArgument, "the lease must be positive", field: .lease)
        }
        try validateNames(registration)
        guard workers.count < configuration.maxWorkers else {
            throw SchedulerError(
                .tooManyWorkers, "\(workers.count) workers are registered, the most this server takes")
        }
        let id = WorkerID(rawValue: nextWorkerID)
        nextWorkerID += 1
        var indexes: [Int] = []
        for name in registration.functions {
            let index = intern(name)
            indexes.append(index)
            workersByFunction[index].append(id)
        }
        var worker = WorkerRecord(
            id: id, name: registration.name, functions: Set(indexes.map { functionNames[$0] }),
            capacity: registration.capacity, lease: registration.lease, registeredAt: now, lastSeenAt: now)
        worker.functionIndexes = indexes.sorted()
        workers.insert(worker)
        if announces() { effects.published.append(.workerJoined(WorkerSummary(worker))) }
        if let lease = registration.lease {
            leaseDeadlines[id] = now + lease
            addTimer(at: now + lease, .lease(id))
        }
        logger.info("worker registered", metadata: ["worker.id": "\(id)", "worker.name": "\(registration.name)"])
        fill(id, now: now, effects: &effects)
        return id
    }

    /// Refuses a worker name with control characters (it would forge log lines) or too long, function names that
    /// break the submission rule, too many functions, or more new names than the scheduler has room for.
    private func validateNames(_ registration: WorkerRegistration) throws(SchedulerError) {
        let name = registration.name
        guard name.unicodeScalars.count <= configuration.maxWorkerNameLength,
            !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            throw SchedulerError(
                .invalidArgument,
                "a worker name must be at most \(configuration.maxWorkerNameLength) characters, none a control character",
                field: .name)
        }
        guard registration.functions.count <= configuration.maxFunctionsPerWorker else {
            throw SchedulerError(
                .invalidArgument, "a worker may offer at most \(configuration.maxFunctionsPerWorker) functions",
                field: .functions)
        }
        var new = Set<String>()
        for function in registration.functions {
            guard isValidFunctionName(function) else {
                throw SchedulerError(.invalidArgument, functionNameRule, field: .functions)
            }
            if functionIndex[function] == nil { new.insert(function) }
        }
        guard functionNames.count + new.count <= configuration.maxFunctions else {
            throw SchedulerError(
                .tooManyFunctions,
                "the server knows \(functionNames.count) function names and takes at most \(configuration.maxFunctions)"
            )
        }
    }

    /// Whether a function has ever been offered by a worker (only those can be submitted).
    package func isKnownFunction(_ name: String) -> Bool {
        functionIndex[name] != nil
    }

    /// Declares a function known without a worker yet: its tasks queue until a worker offering it registers.
    package mutating func declareFunction(_ name: String) {
        _ = intern(name)
    }

    /// One round trip with a worker: take its results and confirms, renew its lease, and hand it up to
    /// `maxAssignments` new tasks and (when `takeCancelRequests`) the cancel requests waiting for it.
    package mutating func exchange(
        worker workerID: WorkerID, results: [WorkerResult] = [], confirms: [WorkerConfirm] = [],
        maxAssignments: Int, takeCancelRequests: Bool = true, now: Timestamp, effects: inout Effects
    ) throws(SchedulerError) -> WorkerMail {
        guard let worker = workers.slot(of: workerID) else { throw missingWorker(workerID) }
        workers[slot: worker].lastSeenAt = now
        if let lease = workers[slot: worker].lease { leaseDeadlines[workerID] = now + lease }
        var mail = WorkerMail()
        if !results.isEmpty { mail.resultAcks.reserveCapacity(results.count) }
        for result in results {
            mail.resultAcks.append(handleResult(result, from: workerID, now: now, effects: &effects))
        }
        for confirm in confirms {
            mail.confirmAcks.append(handleConfirm(confirm, from: workerID, now: now, effects: &effects))
        }
        noteRefusals(mail, results: results, confirms: confirms, from: workerID)
        fill(workerID, now: now, effects: &effects)
        deliver(
            worker, into: &mail, maxAssignments: maxAssignments, takeCancelRequests: takeCancelRequests, at: now)
        if !effects.signaledWorkers.isEmpty && !workers[slot: worker].hasMail {
            // The worker is here and took everything: no need to signal it.
            effects.signaledWorkers.removeAll { $0.worker == workerID }
        }
        return mail
    }

    /// Moves up to `maxAssignments` tasks from the worker's outbox, and its cancel requests, into `mail`.
    mutating func deliver(
        _ worker: Int, into mail: inout WorkerMail, maxAssignments: Int,
        takeCancelRequests: Bool = true, at time: Timestamp
    ) {
        while mail.assignments.count < maxAssignments, let id = workers[slot: worker].outbox.popFirst() {
            let task = tasks.slot(of: id)!
            tasks[slot: task].deliveredAt = time
            let timeout = tasks[slot: task].timeout
            mail.assignments.append(
                Assignment(
                    taskID: id, function: tasks[slot: task].function, args: tasks[slot: task].args,
                    attempt: tasks[slot: task].attempt,
                    deadline: timeout.map { tasks[slot: task].startedAt! + $0 },
                    traceparent: tasks[slot: task].traceparent))
        }
        if takeCancelRequests && !workers[slot: worker].cancelRequests.isEmpty {
            mail.cancelRequests.append(contentsOf: workers[slot: worker].cancelRequests)
            workers[slot: worker].cancelRequests.removeAll()
        }
    }

    /// Takes the cancel requests waiting for a worker without reporting anything.
    package mutating func takeCancelRequests(worker workerID: WorkerID) -> [TaskID] {
        guard let requests = workers[workerID]?.cancelRequests, !requests.isEmpty else { return [] }
        workers[registered: workerID].cancelRequests.removeAll()
        return requests
    }

    /// The error for a worker id that is not registered: `worker_gone` if it was once, else `unknown_worker`.
    func missingWorker(_ workerID: WorkerID) -> SchedulerError {
        if wasRegistered(workerID) {
            return SchedulerError(
                .workerGone,
                "worker \(workerID) is no longer registered: it left or missed its lease, and its tasks went back to "
                    + "the queue; register again")
        }
        return SchedulerError(.unknownWorker, "no worker has the id \(workerID)")
    }

    /// Whether this run ever registered the worker (it may have left or died since).
    func wasRegistered(_ workerID: WorkerID) -> Bool {
        workerID.rawValue >= firstWorkerID && workerID.rawValue < nextWorkerID
    }

    /// Whether a worker has assignments or cancel requests waiting.
    package func hasMail(worker workerID: WorkerID) -> Bool {
        workers[workerID]?.hasMail ?? false
    }

    /// A registered worker's record.
    package func worker(_ id: WorkerID) -> WorkerRecord? {
        workers[id]
    }

    /// All registered workers, in registration order.
    package var allWorkers: [WorkerRecord] {
        workers.all.sorted { $0.id < $1.id }
    }

    private mutating func handleResult(
        _ result: WorkerResult, from workerID: WorkerID, now: Timestamp, effects: inout Effects
    ) -> ReportAck {
        let id = result.taskID
        guard let task = tasks.slot(of: id), tasks[slot: task].holder == workerID else {
            // A task whose outcome was decided while this worker ran it (timeout): it only frees capacity.
            releaseZombie(id, from: workerID)
            return .notHolder
        }
        // A report on a task still in the worker's outbox cannot come from a run of it: the worker never got it.
        guard tasks[slot: task].delivered else { return .notHolder }
        let state = tasks[slot: task].state
        workers[registered: workerID].held.remove(id)
        let limits = configuration.logs
        switch state {
        case .running:
            switch result.outcome {
            case .success(let payload):
                transition(id, to: .succeeded, now: now, effects: &effects) { record in
                    record.result = payload
                    record.appendLogs(result.logs, at: now, limits: limits)
                }
            case .failure(let message):
                transition(id, to: .failed, now: now, effects: &effects) { record in
                    record.error = .functionError(message)
                    record.appendLogs(result.logs, at: now, limits: limits)
                }
            }
        case .canceling:
            // Once a cancel is accepted the task is canceled (Scaler semantics); the record says the function ran.
            transition(id, to: .canceled, now: now, effects: &effects) { record in
                record.appendLogs(result.logs, at: now, limits: limits)
                record.cancel?.confirm = .canceled
                record.cancel?.workerFinished = true
            }
        default:
            logger.warning("task result in an unexpected state", metadata: ["task.id": "\(id)"])
        }
        return .accepted
    }

    private mutating func handleConfirm(
        _ confirm: WorkerConfirm, from workerID: WorkerID, now: Timestamp, effects: inout Effects
    ) -> ReportAck {
        let id = confirm.taskID
        guard let record = tasks[id], record.holder == workerID else {
            if releaseZombie(id, from: workerID) { return .accepted }
            return .notHolder
        }
        guard record.state == .canceling else {
            logger.info("cancel confirm without a pending cancel ignored", metadata: ["task.id": "\(id)"])
            return .accepted
        }
        if observing, let requested = record.cancel?.requestedAt {
            effects.observations.append(.cancelConfirm(now - requested))
        }
        switch confirm.kind {
        case .canceled, .cancelNotFound:
            workers[registered: workerID].held.remove(id)
            transition(id, to: .canceled, now: now, effects: &effects) { $0.cancel?.confirm = confirm.kind }
        case .cancelFailed:
            transition(id, to: .running, now: now, effects: &effects) { $0.cancel?.confirm = .cancelFailed }
        }
        return .accepted
    }

    /// Frees the capacity a worker spent on a task that is no longer its own; false if it held no such task.
    @discardableResult
    private mutating func releaseZombie(_ id: TaskID, from workerID: WorkerID) -> Bool {
        guard workers[registered: workerID].held.remove(id) != nil else { return false }
        return true
    }

    /// Counts the reports of one exchange that were refused (the worker did not hold the task) and logs them as one
    /// line with counts and the first task id: a poll carrying 20,000 bogus reports must not write 20,000 lines.
    private mutating func noteRefusals(
        _ mail: WorkerMail, results: [WorkerResult], confirms: [WorkerConfirm], from workerID: WorkerID
    ) {
        let refusedResults = mail.resultAcks.indices.filter { mail.resultAcks[$0] == .notHolder }
        let refusedConfirms = mail.confirmAcks.indices.filter { mail.confirmAcks[$0] == .notHolder }
        guard
            let first = refusedResults.first.map({ results[$0].taskID })
                ?? refusedConfirms.first.map({ confirms[$0].taskID })
        else { return }
        counters.refusedReports += refusedResults.count + refusedConfirms.count
        logger.info(
            "worker reports refused: the worker does not hold the tasks",
            metadata: [
                "worker.id": "\(workerID)", "reports.refused_results": "\(refusedResults.count)",
                "reports.refused_confirms": "\(refusedConfirms.count)", "task.id": "\(first)",
            ])
    }

    /// Removes a worker. Its running tasks are re-queued with attempt+1 while `max_retries` allows, else they
    /// fail with `worker_died`; its canceling tasks become canceled.
    @discardableResult
    package mutating func removeWorker(
        _ workerID: WorkerID, reason: WorkerExit, now: Timestamp, effects: inout Effects
    ) -> Bool {
        guard let worker = workers.remove(workerID) else { return false }
        if announces() { effects.published.append(.workerLeft(WorkerSummary(worker), reason)) }
        leaseDeadlines[workerID] = nil
        if let parked = worker.parkedPoll {
            // The worker is gone, so its parked poll is answered with that.
            resolveWaiter(parked.waiter, except: nil, effects: &effects)
        }
        for index in worker.functionIndexes {
            workersByFunction[index].removeAll { $0 == workerID }
        }
        let why: String
        switch reason {
        case .left: why = "left"
        case .died(let detail): why = "died (\(detail))"
        }
        logger.info("worker removed", metadata: ["worker.id": "\(workerID)", "worker.exit": "\(why)"])
        var requeued: [TaskID] = []
        for id in worker.held.sorted() {
            guard let record = tasks[id], record.holder == workerID else { continue }
            switch record.state {
            case .running where !record.delivered:
                // Never handed over, so never run: back to the queue with the same attempt.
                unassign(id, now: now, effects: &effects)
                requeued.append(id)
            case .running where record.attempt <= record.maxRetries:
                unassign(id, nextAttempt: true, now: now, effects: &effects)
                counters.requeued += 1
                if case .left = reason { counters.retriesWorkerLeft += 1 } else { counters.retriesWorkerDied += 1 }
                requeued.append(id)
            case .running:
                transition(id, to: .failed, now: now, effects: &effects) { record in
                    record.error = .workerDied(
                        "worker \(workerID) \(why) while running attempt \(record.attempt) of "
                            + "\(record.maxRetries + 1)")
                }
            case .canceling:
                transition(id, to: .canceled, now: now, effects: &effects) { $0.cancel?.confirm = .canceled }
            default:
                break
            }
        }
        requeueAtFront(requeued, now: now, effects: &effects)
        return true
    }

    /// Takes a running task off its worker and makes it pending again (the caller re-queues it); with
    /// `nextAttempt` the run it had counts as spent.
    mutating func unassign(_ id: TaskID, nextAttempt: Bool = false, now: Timestamp, effects: inout Effects) {
        transition(id, to: .pending, now: now, effects: &effects) { record in
            if nextAttempt { record.attempt += 1 }
            record.holder = nil
            record.deliveredAt = nil
            record.startedAt = nil
        }
    }

    /// Schedules tasks that were taken back, ahead of the rest of their priority and in their original order.
    mutating func requeueAtFront(_ ids: [TaskID], now: Timestamp, effects: inout Effects) {
        for id in ids.reversed() {
            schedule(id, now: now, effects: &effects, requeued: true)
        }
    }
}
