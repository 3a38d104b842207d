struct WaiterEntry: Sendable {
    enum Condition: Sendable {
        case terminal(TaskID)
        case changed(TaskID, after: UInt64)
        /// `ids` in request order; `watched` are the distinct ids still unfinished at registration.
        case tasks(ids: [TaskID], watched: [TaskID], mode: WaitMode, remaining: Int)
        /// A remote worker's parked poll (see `SchedulerCore.poll`).
        case poll(WorkerID)
    }
    var condition: Condition
    var deadline: Timestamp

    var watchedTasks: [TaskID] {
        switch condition {
        case .terminal(let id), .changed(let id, _): [id]
        case .tasks(_, let watched, _, _): watched
        case .poll: []
        }
    }
}

extension SchedulerCore {
    /// Reserves an id for a waiter that is about to register (so the owner can cancel it before it parks).
    package mutating func reserveWaiterID() -> WaiterID {
        defer { nextWaiterID += 1 }
        return WaiterID(rawValue: nextWaiterID)
    }

    /// Parks a waiter until `condition` holds or `deadline` passes; answers at once when the condition
    /// already holds, the deadline has passed, or a task cannot be waited on (unknown or expired).
    package mutating func addWaiter(
        _ id: WaiterID, _ condition: WaitCondition, deadline: Timestamp, now: Timestamp
    ) -> WaiterRegistration {
        let entry: WaiterEntry
        switch condition {
        case .terminal(let taskID):
            guard let record = tasks[taskID], !record.done, deadline > now else {
                return .ready(.task(lookup(taskID)))
            }
            entry = WaiterEntry(condition: .terminal(taskID), deadline: deadline)
        case .changed(let taskID, let after):
            guard let record = tasks[taskID], record.version <= after, deadline > now else {
                return .ready(.task(lookup(taskID)))
            }
            entry = WaiterEntry(condition: .changed(taskID, after: after), deadline: deadline)
        case .tasks(let ids, let mode):
            var watched: [TaskID] = []
            var seen = Set<TaskID>()
            var finishedCount = 0
            for taskID in ids where seen.insert(taskID).inserted {
                if let record = tasks[taskID], !record.done {
                    watched.append(taskID)
                } else {
                    finishedCount += 1
                }
            }
            let satisfied = mode == .any ? finishedCount > 0 || ids.isEmpty : watched.isEmpty
            guard !satisfied, deadline > now else { return .ready(.tasks(ids.map(lookup))) }
            entry = WaiterEntry(
                condition: .tasks(ids: ids, watched: watched, mode: mode, remaining: watched.count),
                deadline: deadline)
        }
        waiters[id] = entry
        for taskID in entry.watchedTasks {
            tasks[slot: tasks.slot(of: taskID)!].waiters.append(id)
        }
        if deadline < .distantFuture { addTimer(at: deadline, .waiter(id)) }
        return .parked(id)
    }

    /// Unparks a waiter before its event or deadline (its caller went away); returns what it would have been
    /// resumed with, or `nil` when it was already resolved.
    package mutating func removeWaiter(_ id: WaiterID) -> WaitResult? {
        guard let entry = waiters.removeValue(forKey: id) else { return nil }
        detach(id, from: entry.watchedTasks, except: nil)
        return release(entry)
    }

    /// Releases every parked waiter with the current state (drain).
    package mutating func releaseAllWaiters(effects: inout Effects) {
        for id in Array(waiters.keys) {
            if let result = removeWaiter(id) { effects.resolved.append((id, result)) }
        }
    }

    /// How many waiters are parked.
    package var parkedWaiters: Int { waiters.count }

    /// What a waiter is released with: the current state of its tasks, or a parked poll's mail.
    private mutating func release(_ entry: WaiterEntry) -> WaitResult {
        switch entry.condition {
        case .terminal(let taskID), .changed(let taskID, _): .task(lookup(taskID))
        case .tasks(let ids, _, _, _): .tasks(ids.map(lookup))
        case .poll(let workerID): .poll(answerParkedPoll(of: workerID))
        }
    }

    mutating func resolveWaiter(_ id: WaiterID, except taskID: TaskID?, effects: inout Effects) {
        guard let entry = waiters.removeValue(forKey: id) else { return }
        detach(id, from: entry.watchedTasks, except: taskID)
        effects.resolved.append((id, release(entry)))
    }

    private mutating func detach(_ id: WaiterID, from taskIDs: [TaskID], except skipped: TaskID?) {
        for taskID in taskIDs where taskID != skipped {
            if let index = tasks.slot(of: taskID) {
                tasks[slot: index].waiters.removeAll { $0 == id }
            }
        }
    }

    /// Wakes the waiters of a task whose record just changed.
    mutating func notifyWaiters(of taskID: TaskID, effects: inout Effects) {
        guard let index = tasks.slot(of: taskID), !tasks[slot: index].waiters.isEmpty else { return }
        let ids = tasks[slot: index].waiters
        let done = tasks[slot: index].done
        let version = tasks[slot: index].version
        var keep: [WaiterID] = []
        for id in ids {
            guard var entry = waiters[id] else { continue }
            switch entry.condition {
            case .terminal:
                if done { resolveWaiter(id, except: taskID, effects: &effects) } else { keep.append(id) }
            case .changed(_, let after):
                if version > after { resolveWaiter(id, except: taskID, effects: &effects) } else { keep.append(id) }
            case .poll:
                keep.append(id)
            case .tasks(let all, let watched, let mode, let remaining):
                guard done else {
                    keep.append(id)
                    continue
                }
                if mode == .any || remaining == 1 {
                    resolveWaiter(id, except: taskID, effects: &effects)
                } else {
                    entry.condition = .tasks(ids: all, watched: watched, mode: mode, remaining: remaining - 1)
                    waiters[id] = entry
                }
            }
        }
        if let index = tasks.slot(of: taskID) { tasks[slot: index].waiters = keep }
    }
}
