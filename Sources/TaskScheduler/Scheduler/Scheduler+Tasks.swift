extension Scheduler {
    /// Accepts one task; throws `queue_full`, `unknown_function`, `invalid_argument`, `idempotency_conflict` or
    /// `shutting_down` and then creates nothing.
    public func submit(_ request: SubmitRequest) throws(SchedulerError) -> SubmitOutcome {
        var work = Wakeups()
        defer { work.run() }
        return try submit(request, deferringInto: &work)
    }

    /// Accepts one task like `submit(_:)`, but leaves the wake-ups it causes in `work` for the caller to run (an
    /// event loop runs them once per batch of requests instead of once per request).
    public func submit(
        _ request: SubmitRequest, deferringInto work: inout Wakeups
    ) throws(SchedulerError) -> SubmitOutcome {
        let (outcome, wakeups) = try performDeferred { (core, now, effects) throws(SchedulerError) in
            try core.submit(request, now: now, effects: &effects)
        }
        work.append(wakeups)
        return outcome
    }

    /// Accepts a batch, all or nothing.
    public func submitBatch(_ requests: [SubmitRequest]) throws(SchedulerError) -> [SubmitOutcome] {
        var work = Wakeups()
        defer { work.run() }
        return try submitBatch(requests, deferringInto: &work)
    }

    /// Accepts a batch like `submitBatch(_:)`, leaving the wake-ups in `work` for the caller to run.
    public func submitBatch(
        _ requests: [SubmitRequest], deferringInto work: inout Wakeups
    ) throws(SchedulerError) -> [SubmitOutcome] {
        let (outcomes, wakeups) = try performDeferred { (core, now, effects) throws(SchedulerError) in
            try core.submitBatch(requests, now: now, effects: &effects)
        }
        work.append(wakeups)
        return outcomes
    }

    /// The current record of a task, or why there is none.
    public func task(_ id: TaskID) -> TaskLookup {
        read { $0.lookup(id) }
    }

    /// Asks to cancel a task and returns the core's immediate decision.
    public func requestCancel(_ id: TaskID) -> CancelDecision {
        perform { core, now, effects in core.cancel(id, now: now, effects: &effects) }
    }

    /// The cancel protocol for one caller: request the cancel, then wait up to `wait` for the worker's confirm.
    public func cancel(_ id: TaskID, wait: Duration) async -> CancelOutcome {
        let decision = requestCancel(id)
        if let outcome = CancelOutcome(decision) { return outcome }
        guard case .inProgress(let record) = decision else { preconditionFailure("handled above") }
        let result = await self.wait(for: .changed(id, after: record.version), timeout: wait)
        return CancelOutcome(settled: result.lookup!)
    }

    /// A page of tasks in submission order.
    public func list(_ filter: TaskFilter, after cursor: TaskID?, limit: Int) -> (tasks: [TaskRecord], next: TaskID?) {
        read { $0.list(filter, after: cursor, limit: limit) }
    }

    /// The summary.
    public var stats: SchedulerStats {
        read { $0.stats }
    }

    /// Per-function counts and the latest failures, for status screens.
    public func overview(maxFunctions: Int = 1_000) -> SchedulerOverview {
        read { $0.overview(maxFunctions: maxFunctions) }
    }

    /// What the metrics read at scrape time (one pass under the lock).
    public var metricsSnapshot: SchedulerMetricsSnapshot {
        read { $0.metricsSnapshot }
    }

    /// Checks the internal indexes against each other (tests).
    public func invariantViolations() -> [String] {
        read { $0.invariantViolations() }
    }

    /// Whether no work is left anywhere (tests).
    public var isQuiescent: Bool {
        state.withLock { $0.core.isQuiescent && $0.continuations.isEmpty && $0.early.isEmpty }
    }

    /// Whether a function can be submitted.
    public func isKnownFunction(_ name: String) -> Bool {
        read { $0.isKnownFunction(name) }
    }

    /// Declares a function known before any worker offers it; its tasks queue until one registers.
    public func declareFunction(_ name: String) {
        state.withLock { $0.core.declareFunction(name) }
    }

    /// Fires every deadline that has passed (the timer loop calls this; tests call it after moving a manual clock).
    public func processTimers() {
        perform { core, now, effects in core.tick(now: now, effects: &effects) }
    }

    /// Stops accepting submissions and releases every parked waiter with the current state.
    public func drain() {
        perform { core, _, effects in
            core.stopAccepting()
            drainingFlag.store(true, ordering: .relaxed)
            core.releaseAllWaiters(effects: &effects)
        }
    }
}
