extension Scheduler {
    /// Turns persistence on: from now on every event hands its changes to `sink`, under the scheduler's lock and in
    /// the core's order, numbered from 1 (the first change `sink` receives is number 1). Call it once, before
    /// `restore` and before any other event.
    public func attachStore(_ sink: @escaping @Sendable ([StoreChange]) -> Void) {
        state.withLock { state in
            precondition(state.storeSink == nil && state.core.storeSeq == 0, "attach the store once, first")
            state.core.persisting = true
            state.storeSink = sink
        }
    }

    /// Loads a store streaming its records (see `SchedulerCore.restore(tombstones:expectedRecords:records:)`), under
    /// the scheduler's lock for the whole load: call it before serving.
    public func restore<E: Error>(
        tombstones: [StoredTombstone], expectedRecords: Int,
        records: (_ add: (TaskRecord) -> Void) throws(E) -> Void
    ) throws(E) -> RecoverySummary {
        try perform { (core, now, effects) throws(E) in
            try core.restore(
                tombstones: tombstones, expectedRecords: expectedRecords, records: records, now: now,
                effects: &effects)
        }
    }

    /// Makes new task ids start at `floor` or above (ids of an earlier run are never issued again) and returns the
    /// next id this run will issue.
    public func raiseTaskIDs(atLeast floor: UInt64) -> UInt64 {
        state.withLock { state in
            state.core.nextTaskID = max(state.core.nextTaskID, floor)
            return state.core.nextTaskID
        }
    }

    /// The number of the last change handed to the store: an answer that reflects everything the scheduler did so
    /// far (say, that a task is gone) waits until the store has committed this one.
    public var storeSeq: UInt64 {
        read { $0.storeSeq }
    }
}
