extension Scheduler {
    /// Attaches the sink of the changes for those following the work: while publishing is on (`setPublishing`),
    /// every event hands the task and worker changes it made to `sink`, under the scheduler's lock and in the core's
    /// order. `sink` must be quick and must not call back into the scheduler (queue the changes; do the work
    /// elsewhere). Call it once, before serving.
    public func publish(to sink: @escaping @Sendable ([PublishedChange]) -> Void) {
        state.withLock { state in
            precondition(state.publishSink == nil, "attach one publish sink, once")
            state.publishSink = sink
        }
    }

    /// Turns publishing on (someone follows the work) or off (nobody does: events then only count their changes,
    /// and copy no record for the sink). Returns how many changes were passed over since this was last called, so
    /// the follower can number what comes next after them. Without a sink, publishing stays off.
    public func setPublishing(_ on: Bool) -> Int {
        state.withLock { state in
            state.core.publishing = on && state.publishSink != nil
            defer { state.core.unpublished = 0 }
            return state.core.unpublished
        }
    }
}
