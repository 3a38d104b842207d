extension Scheduler {
    /// Turns publishing on: from now on every event hands the task and worker changes it made to `sink`, under the
    /// scheduler's lock and in the core's order. `sink` must be quick and must not call back into the scheduler
    /// (queue the changes; do the work elsewhere). Call it once, before serving.
    public func publish(to sink: @escaping @Sendable ([PublishedChange]) -> Void) {
        state.withLock { state in
            precondition(state.publishSink == nil, "attach one publish sink, once")
            state.core.publishing = true
            state.publishSink = sink
        }
    }
}
