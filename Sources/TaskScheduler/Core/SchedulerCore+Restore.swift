extension SchedulerCore {
    /// Loads what the durable store held at start, before any worker registers or task is submitted.
    ///
    /// Finished tasks are readable again (the retention limits in force apply to them now; their TTL on the next
    /// tick). Pending tasks are queued again in priority order, FIFO by id within a priority. A task that was running
    /// lost its worker with the old process: it is queued again with its next attempt while `max_retries` allows
    /// (so work in flight at a crash runs at least once more), else it fails with `worker_died`. A task whose cancel
    /// waited for its worker's confirm is canceled, as when that worker dies. Tombstones answer as expired until their
    /// time, and idempotency keys stay bound to their tasks. Changes made here are listed for the store as usual.
    package mutating func restore(
        _ recovered: RecoveredTasks, now: Timestamp, effects: inout Effects
    ) -> RecoverySummary {
        restore(
            tombstones: recovered.tombstones, expectedRecords: recovered.records.count,
            records: { add in recovered.records.forEach(add) }, now: now, effects: &effects)
    }

    /// `restore`, with the records streamed: `records` calls `add` once per stored record (each id once), in any order, so that a
    /// large store is not held twice in memory while it loads. `expectedRecords` sizes the tables in advance.
    package mutating func restore<E: Error>(
        tombstones stored: [StoredTombstone], expectedRecords: Int,
        records: (_ add: (TaskRecord) -> Void) throws(E) -> Void, now: Timestamp, effects: inout Effects
    ) throws(E) -> RecoverySummary {
        var summary = RecoverySummary()
        var highestID: UInt64 = 0
        for tombstone in stored.sorted(by: { ($0.until, $0.id) < ($1.until, $1.id) }) {
            highestID = max(highestID, tombstone.id.rawValue)
            tombstones[tombstone.id] = Tombstone(expiresAt: tombstone.until, idempotencyKey: tombstone.idempotencyKey)
            tombstoneOrder.append(tombstone.id)
            if let key = tombstone.idempotencyKey {
                idempotency[key] = IdempotencyEntry(taskID: tombstone.id, fingerprint: tombstone.fingerprint)
            }
        }
        summary.tombstones = tombstoneOrder.count
        var finishedRecords: [(at: Timestamp, id: TaskID)] = []
        finishedRecords.reserveCapacity(expectedRecords)
        var queued: [TaskID] = []
        var inFlight: [TaskID] = []
        tasks.reserve(expectedRecords)
        // Each id comes once (the store's primary key); the table is new, so no lookup guards the insert.
        try records { (record: TaskRecord) in
            var record = record
            highestID = max(highestID, record.id.rawValue)
            record.functionIndex = Int32(intern(record.function))
            record.holder = nil
            record.deliveredAt = nil
            record.queueSeq = 0
            record.waiters = []
            record.storeSeq = 0
            let slot = tasks.insert(record)
            stateCounts[record.state.index] += 1
            functionCounts[Int(record.functionIndex)].move(from: nil, to: record.state)
            if let key = record.idempotencyKey {
                idempotency[key] = IdempotencyEntry(taskID: record.id, fingerprint: record.fingerprint)
            }
            switch record.state {
            case .pending: queued.append(record.id)
            case .running, .canceling: inFlight.append(record.id)
            case .succeeded, .failed, .canceled:
                finishedRecords.append((record.finishedAt ?? record.updatedAt, record.id))
                finishedBytes += tasks[slot: slot].retainedBytes
                if record.callback?.state == .pending { pendingCallbacks += 1 }
            }
        }
        queued.sort()
        inFlight.sort()
        let finishOrder = { (a: (at: Timestamp, id: TaskID), b: (at: Timestamp, id: TaskID)) in
            (a.at, a.id) < (b.at, b.id)
        }
        if !zip(finishedRecords, finishedRecords.dropFirst()).allSatisfy(finishOrder) {
            finishedRecords.sort(by: finishOrder)
        }
        finished.reserveCapacity(finished.count + finishedRecords.count)
        for (_, id) in finishedRecords { finished.append(id) }
        summary.finished = finished.count
        summary.pending = queued.count
        nextTaskID = max(nextTaskID, highestID &+ 1)
        var retried: [TaskID] = []
        for id in inFlight {
            let record = tasks[id]!
            switch record.state {
            case .canceling:
                transition(id, to: .canceled, now: now, effects: &effects) { $0.cancel?.confirm = .canceled }
                summary.canceled += 1
            case .running where record.attempt <= record.maxRetries:
                unassign(id, nextAttempt: true, now: now, effects: &effects)
                counters.requeued += 1
                counters.retriesWorkerDied += 1
                retried.append(id)
            default:
                transition(id, to: .failed, now: now, effects: &effects) { record in
                    record.error = .workerDied(
                        "the server stopped while attempt \(record.attempt) of \(record.maxRetries + 1) ran")
                }
                summary.failedWorkerDied += 1
            }
        }
        summary.retried = retried.count
        // Work that was in flight goes first, as after a worker's death; then the queue as it was.
        for id in retried + queued { schedule(id, now: now, effects: &effects) }
        while finished.count > 1
            && (finished.count > configuration.maxRetainedTasks || finishedBytes > configuration.maxRetainedBytes)
        {
            evictOldestFinished(now: now, effects: &effects)
        }
        while tombstoneOrder.count > configuration.maxTombstones { dropOldestTombstone(effects: &effects) }
        return summary
    }
}
