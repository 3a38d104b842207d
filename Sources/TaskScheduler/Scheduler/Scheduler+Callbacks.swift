extension Scheduler {
    /// Turns completion webhooks on: from now on every attempt that falls due is handed to `sink` (under the
    /// scheduler's lock; queue it and deliver elsewhere), starting with the deliveries already pending (found by a
    /// restart). Report each attempt's outcome with `deliveryAttempted`. Call it once, after the store's restore.
    public func deliverCallbacks(to sink: @escaping @Sendable ([DeliveryOrder]) -> Void) {
        state.withLock { state in
            precondition(state.deliverySink == nil, "attach one delivery sink, once")
            state.deliverySink = sink
        }
        // The pending deliveries are re-armed as timers: the next tick hands them over.
        perform { core, now, _ in core.startDelivering(now: now) }
    }

    /// Records the outcome of a delivery attempt (see `SchedulerCore.deliveryAttempted`); false when the attempt was
    /// not the one due.
    @discardableResult
    public func deliveryAttempted(_ id: TaskID, attempt: Int, outcome: DeliveryOutcome) -> Bool {
        perform { core, now, effects in
            core.deliveryAttempted(id, attempt: attempt, outcome: outcome, now: now, effects: &effects)
        }
    }
}
