extension Scheduler {
    /// Registers a worker. `onSignal` is called (outside every lock, on whatever thread caused it) each time
    /// new assignments or cancel requests (then its argument is true) wait in its mailbox.
    public func registerWorker(
        _ registration: WorkerRegistration, onSignal: @escaping @Sendable (_ cancelRequests: Bool) -> Void = { _ in }
    ) throws(SchedulerError) -> WorkerID {
        try register(registration, onSignal: onSignal).id
    }

    /// Registers a worker and answers its record as the same locked step left it.
    private func register(
        _ registration: WorkerRegistration, onSignal: @escaping @Sendable (_ cancelRequests: Bool) -> Void
    ) throws(SchedulerError) -> WorkerRecord {
        let now = clock.now()
        let (record, work) = try state.withLock { (state) throws(SchedulerError) -> (WorkerRecord, Wakeups) in
            var effects = Effects()
            // The handler must be in place before the first fill signals it.
            let id = WorkerID(rawValue: state.core.nextWorkerID)
            state.signalHandlers[id] = onSignal
            do throws(SchedulerError) {
                let registered = try state.core.registerWorker(registration, now: now, effects: &effects)
                assert(registered == id)
            } catch {
                state.signalHandlers[id] = nil
                throw error
            }
            let work = state.collect(effects, now: now)
            return (state.core.worker(id)!, work)
        }
        work.run()
        return record
    }

    /// One round trip with a worker (see `SchedulerCore.exchange`).
    public func exchange(
        worker: WorkerID, results: [WorkerResult] = [], confirms: [WorkerConfirm] = [], maxAssignments: Int,
        takeCancelRequests: Bool = true
    ) throws(SchedulerError) -> WorkerMail {
        let (mail, work) = try exchangeDeferred(
            worker: worker, results: results, confirms: confirms, maxAssignments: maxAssignments,
            takeCancelRequests: takeCancelRequests)
        work.run()
        return mail
    }

    /// `exchange`, leaving the released work to the caller: for a worker runtime that holds its own lock.
    package func exchangeDeferred(
        worker: WorkerID, results: [WorkerResult] = [], confirms: [WorkerConfirm] = [], maxAssignments: Int,
        takeCancelRequests: Bool = true
    ) throws(SchedulerError) -> (WorkerMail, Wakeups) {
        try performDeferred { (core, now, effects) throws(SchedulerError) in
            try core.exchange(
                worker: worker, results: results, confirms: confirms, maxAssignments: maxAssignments,
                takeCancelRequests: takeCancelRequests, now: now, effects: &effects)
        }
    }

    /// Takes the cancel requests waiting for a worker.
    public func takeCancelRequests(worker: WorkerID) -> [TaskID] {
        state.withLock { $0.core.takeCancelRequests(worker: worker) }
    }

    /// Whether a worker has assignments or cancel requests waiting.
    public func hasMail(worker: WorkerID) -> Bool {
        read { $0.hasMail(worker: worker) }
    }

    /// Removes a worker: it left, or it died. Its tasks are re-queued or failed, its canceling tasks canceled.
    @discardableResult
    public func removeWorker(_ worker: WorkerID, reason: WorkerExit) -> Bool {
        let (removed, work) = performDeferred { core, now, effects in
            core.removeWorker(worker, reason: reason, now: now, effects: &effects)
        }
        state.withLock { _ = $0.signalHandlers.removeValue(forKey: worker) }
        work.run()
        return removed
    }

    /// A registered worker.
    public func worker(_ id: WorkerID) -> WorkerRecord? {
        read { $0.worker(id) }
    }

    /// The error for a worker that is not registered: `worker_gone` if this run registered it once (it left or
    /// died), else `unknown_worker` — the same one a poll of it throws.
    public func missingWorkerError(_ id: WorkerID) -> SchedulerError {
        read { $0.missingWorker(id) }
    }

    /// All registered workers.
    public var workers: [WorkerRecord] {
        read { $0.allWorkers }
    }
}

extension Scheduler {
    /// A remote worker's poll (see `SchedulerCore.poll`), with the worker API's policy: the server's own workers
    /// are refused (`in_process_worker`), the wait is capped at the worker's longest (`maxPollWait(of:)`), and
    /// while the scheduler drains the poll is answered at once (`draining` says so). The work it released is the
    /// caller's to run; a parked poll is answered through `whenAnswered`.
    public func poll(
        worker: WorkerID, _ request: PollRequest
    ) throws(SchedulerError) -> (start: PollStart, draining: Bool, work: Wakeups) {
        let ((start, draining), work) = try performDeferred {
            (core, now, effects) throws(SchedulerError) -> (PollStart, Bool) in
            guard let record = core.worker(worker) else { throw core.missingWorker(worker) }
            guard let limit = maxPollWait(of: record) else { throw Self.inProcessRefusal(worker) }
            var request = request
            request.wait = core.accepting ? min(request.wait, limit) : .zero
            // An answer is read within the longest wait plus 10 s (the client's timeout rule) or not at all.
            request.reconcileAfter = limit + .seconds(10)
            let waiter = core.reserveWaiterID()
            return (
                try core.poll(worker: worker, request, waiter: waiter, now: now, effects: &effects), !core.accepting
            )
        }
        return (start, draining, work)
    }

    /// A remote worker joins (`POST /workers`): refused while the scheduler drains (the core refuses a worker with
    /// a lease then); answers its record.
    public func join(_ registration: WorkerRegistration) throws(SchedulerError) -> WorkerRecord {
        try register(registration) { _ in }
    }

    /// A remote worker leaves (`DELETE /workers/{id}`): what it still holds goes back to the queue. The server's
    /// own workers are refused.
    public func leave(_ worker: WorkerID) throws(SchedulerError) {
        let (_, work) = try performDeferred { (core, now, effects) throws(SchedulerError) -> Void in
            guard let record = core.worker(worker) else { throw core.missingWorker(worker) }
            guard record.lease != nil else { throw Self.inProcessRefusal(worker) }
            core.removeWorker(worker, reason: .left, now: now, effects: &effects)
        }
        state.withLock { _ = $0.signalHandlers.removeValue(forKey: worker) }
        work.run()
    }

    /// A registered worker, or the error saying why there is none (`worker_gone` or `unknown_worker`).
    public func registeredWorker(_ id: WorkerID) throws(SchedulerError) -> WorkerRecord {
        try read { (core) throws(SchedulerError) -> WorkerRecord in
            guard let record = core.worker(id) else { throw core.missingWorker(id) }
            return record
        }
    }

    /// The longest a worker's poll may park: half its lease, at most `maxPollWait`; nil for in-process workers.
    public func maxPollWait(of worker: WorkerRecord) -> Duration? {
        worker.lease.map { min($0 / 2, configuration.maxPollWait) }
    }

    /// Whether the scheduler drains: it takes no new tasks or workers, and answers long-polls at once.
    public var isDraining: Bool {
        drainingFlag.load(ordering: .relaxed)
    }

    private static func inProcessRefusal(_ worker: WorkerID) -> SchedulerError {
        SchedulerError(
            .inProcessWorker,
            "worker \(worker) is one of the server's in-process workers; only remote workers poll and leave")
    }

    /// Runs `callback` exactly once with the answer of a parked poll: at once if it was answered already, else
    /// on whichever thread answers it.
    public func whenAnswered(_ waiter: WaiterID, then callback: @escaping @Sendable (PollAnswer) -> Void) {
        let resumer = Resumer.callback { result in
            guard case .poll(let answer) = result else { return callback(.mail(WorkerMail())) }
            callback(answer)
        }
        let early = state.withLock { state -> WaitResult? in
            if let result = state.early.removeValue(forKey: waiter) { return result }
            state.continuations[waiter] = resumer
            return nil
        }
        if let early { resumer.resume(early) }
    }
}
