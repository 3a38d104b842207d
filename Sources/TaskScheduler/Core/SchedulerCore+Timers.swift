import HeapModule

struct TimerEntry: Comparable, Sendable {
    enum Kind: Hashable, Sendable {
        case waiter(WaiterID)
        case taskTimeout(TaskID, attempt: Int)
        case lease(WorkerID)
        case callback(TaskID, attempts: Int)
    }
    var at: Timestamp
    var kind: Kind

    static func < (lhs: TimerEntry, rhs: TimerEntry) -> Bool { lhs.at < rhs.at }
    static func == (lhs: TimerEntry, rhs: TimerEntry) -> Bool { lhs.at == rhs.at && lhs.kind == rhs.kind }
}

extension SchedulerCore {
    mutating func addTimer(at deadline: Timestamp, _ kind: TimerEntry.Kind) {
        timers.insert(TimerEntry(at: deadline, kind: kind))
        // Timers are removed lazily; rebuild when stale ones dominate so the heap stays bounded.
        if timers.count > 4096
            && timers.count > 4 * (waiters.count + leaseDeadlines.count + stateCounts[1] + pendingCallbacks)
        {
            timers = Heap(timers.unordered.filter(isLive))
        }
    }

    private func isLive(_ timer: TimerEntry) -> Bool {
        switch timer.kind {
        case .waiter(let id): waiters[id] != nil
        case .taskTimeout(let id, let attempt): tasks[id].map { $0.state == .running && $0.attempt == attempt } ?? false
        case .lease(let id): leaseDeadlines[id] != nil
        case .callback(let id, let attempts):
            tasks[id]?.callback.map { $0.state == .pending && $0.attempts == attempts } ?? false
        }
    }

    /// Fires everything due at `now`: waiter deadlines, execution deadlines (`timeout`), worker leases, result
    /// retention and tombstone expiry.
    package mutating func tick(now: Timestamp, effects: inout Effects) {
        while let timer = timers.min, timer.at <= now {
            timers.removeMin()
            switch timer.kind {
            case .waiter(let id):
                resolveWaiter(id, except: nil, effects: &effects)
            case .taskTimeout(let id, let attempt):
                timeOut(id, attempt: attempt, now: now, effects: &effects)
            case .lease(let workerID):
                guard let deadline = leaseDeadlines[workerID] else { continue }
                if deadline <= now {
                    removeWorker(workerID, reason: .died("no poll within its lease"), now: now, effects: &effects)
                } else {
                    addTimer(at: deadline, .lease(workerID))
                }
            case .callback(let id, let attempts):
                dueCallback(id, attempts: attempts, effects: &effects)
            }
        }
        while let id = finished.first, let expiresAt = tasks[id]?.expiresAt, expiresAt <= now {
            evictOldestFinished(now: now, effects: &effects)
        }
        while let id = tombstoneOrder.first, tombstones[id]!.expiresAt <= now {
            dropOldestTombstone(effects: &effects)
        }
    }

    private mutating func timeOut(_ id: TaskID, attempt: Int, now: Timestamp, effects: inout Effects) {
        guard let record = tasks[id], record.state == .running, record.attempt == attempt,
            let workerID = record.holder,
            // A task that went back to the queue undelivered keeps its attempt: only its current run's deadline counts.
            let startedAt = record.startedAt, let timeout = record.timeout, startedAt + timeout <= now
        else { return }
        let limit = timeout.seconds
        transition(id, to: .failed, now: now, effects: &effects) { record in
            record.error = .timeout("the task ran longer than its timeout_s of \(limit) s")
        }
        if record.delivered {
            // The worker keeps the capacity until it confirms the stop or reports; its report changes nothing.
            requestStop(id, on: workerID, effects: &effects)
        } else {
            workers[registered: workerID].outbox.removeAll { $0 == id }
            workers[registered: workerID].held.remove(id)
            fill(workerID, now: now, effects: &effects)
        }
    }

    /// Evicts the oldest finished record to a tombstone.
    mutating func evictOldestFinished(now: Timestamp, effects: inout Effects) {
        guard let id = finished.popFirst(), let record = tasks.remove(id) else { return }
        finishedBytes -= record.retainedBytes
        stateCounts[record.state.index] -= 1
        if record.callback?.state == .pending {
            // Retention outran the webhook's retries: the delivery is given up with the record.
            pendingCallbacks -= 1
            counters.callbacksAbandoned += 1
        }
        counters.evicted += 1
        let until = now + configuration.tombstoneTTL
        tombstones[id] = Tombstone(expiresAt: until, idempotencyKey: record.idempotencyKey)
        tombstoneOrder.append(id)
        if persisting { store(.evicted(id, until: until), effects: &effects) }
        if tombstoneOrder.count > configuration.maxTombstones { dropOldestTombstone(effects: &effects) }
        for waiter in record.waiters {
            resolveWaiter(waiter, except: id, effects: &effects)
        }
    }

    mutating func dropOldestTombstone(effects: inout Effects) {
        guard let id = tombstoneOrder.popFirst(), let tombstone = tombstones.removeValue(forKey: id) else { return }
        if persisting { store(.forgotten(id), effects: &effects) }
        if let key = tombstone.idempotencyKey, idempotency[key]?.taskID == id {
            idempotency[key] = nil
        }
    }
}
