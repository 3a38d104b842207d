extension Scheduler {
    /// Waits until `condition` holds or `timeout` passes, and returns the state at that moment. Never hangs: an
    /// unknown or expired task answers at once, and cancelling the calling Swift task releases the wait with the
    /// current state.
    public func wait(for condition: WaitCondition, timeout: Duration) async -> WaitResult {
        let (id, ready) = register(condition, timeout: timeout, resumer: nil)
        if let ready { return ready }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<WaitResult, Never>) in
                let immediate = state.withLock { state -> WaitResult? in
                    if let result = state.early.removeValue(forKey: id) { return result }
                    if Task.isCancelled, let result = state.core.removeWaiter(id) { return result }
                    state.continuations[id] = .continuation(continuation)
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            release(id)
        }
    }

    /// Waits like `wait(for:timeout:)` but without a Swift task: `callback` runs exactly once — at once on this
    /// thread if the condition already holds, else later on whichever thread releases the waiter. Returns the
    /// parked waiter, for `release(_:)`, or nil when it was answered at once.
    @discardableResult
    public func wait(
        for condition: WaitCondition, timeout: Duration, then callback: @escaping @Sendable (WaitResult) -> Void
    ) -> WaiterID? {
        let (id, ready) = register(condition, timeout: timeout, resumer: .callback(callback))
        guard let ready else { return id }
        callback(ready)
        return nil
    }

    /// Releases a parked waiter before its event or deadline (its caller went away): its callback runs now with
    /// the current state. Does nothing if it was released already.
    public func release(_ waiter: WaiterID) {
        let resume = state.withLock { state -> (Resumer, WaitResult)? in
            guard let resumer = state.continuations.removeValue(forKey: waiter),
                let result = state.core.removeWaiter(waiter)
            else { return nil }
            return (resumer, result)
        }
        if let (resumer, result) = resume { resumer.resume(result) }
    }

    /// Parks a waiter (with `resumer` when it is known already), or returns the answer when it is ready.
    private func register(_ condition: WaitCondition, timeout: Duration, resumer: Resumer?) -> (
        id: WaiterID, ready: WaitResult?
    ) {
        state.withLock { state in
            let now = clock.now()
            let id = state.core.reserveWaiterID()
            switch state.core.addWaiter(id, condition, deadline: now + timeout, now: now) {
            case .ready(let result):
                return (id, result)
            case .parked:
                if let resumer { state.continuations[id] = resumer }
                return (id, nil)
            }
        }
    }

    /// Waits for a task to finish; returns its record then, or at the timeout whatever its state.
    public func waitForTerminal(_ id: TaskID, timeout: Duration) async -> TaskLookup {
        await wait(for: .terminal(id), timeout: timeout).lookup!
    }

    /// Waits for a task's version to pass `version` (any change); returns its record then, or at the timeout.
    public func waitForChange(_ id: TaskID, after version: UInt64, timeout: Duration) async -> TaskLookup {
        await wait(for: .changed(id, after: version), timeout: timeout).lookup!
    }

    /// Waits for any or all of the tasks to finish; returns one lookup per id, in order.
    public func wait(for ids: [TaskID], mode: WaitMode, timeout: Duration) async -> [TaskLookup] {
        await wait(for: .tasks(ids, mode: mode), timeout: timeout).lookups
    }
}
