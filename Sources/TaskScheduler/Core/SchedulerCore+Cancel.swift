/// What the core decided on a cancel request (SPEC.md section 3).
public enum CancelDecision: Sendable {
    /// The task is cancelled now (it was pending, not yet handed to its worker, or already cancelled).
    case canceled(TaskRecord)
    /// The task is `canceling`: its worker was asked to stop. Wait for a change after the record's version.
    case inProgress(TaskRecord)
    /// The task had already succeeded or failed: cancel failed; the record carries the result.
    case alreadyFinished(TaskRecord)
    /// No such task.
    case notFound(TaskID)
    /// The task finished and its record was evicted.
    case expired(TaskID)
}

extension SchedulerCore {
    /// Handles a cancel request (TaskCancel).
    package mutating func cancel(_ id: TaskID, now: Timestamp, effects: inout Effects) -> CancelDecision {
        let decision = decideCancel(id, now: now, effects: &effects)
        switch decision {
        case .canceled: counters.cancelRequests.canceled += 1
        case .inProgress: break  // counted by decideCancel: forwarded now, or in progress already
        case .alreadyFinished: counters.cancelRequests.alreadyFinished += 1
        case .notFound: counters.cancelRequests.notFound += 1
        case .expired: counters.cancelRequests.expired += 1
        }
        return decision
    }

    private mutating func decideCancel(_ id: TaskID, now: Timestamp, effects: inout Effects) -> CancelDecision {
        guard let record = tasks[id] else {
            return tombstones[id] != nil ? .expired(id) : .notFound(id)
        }
        switch record.state {
        case .pending:
            transition(id, to: .canceled, now: now, effects: &effects) { record in
                record.cancel = CancelInfo(requestedAt: now, confirm: .canceled, workerFinished: false)
            }
            forgetPending(function: Int(record.functionIndex))
            return .canceled(tasks[id]!)
        case .running where !record.delivered:
            // Still in the worker's outbox: the worker never saw it, so the core cancels it alone.
            let workerID = record.holder!
            workers[registered: workerID].outbox.removeAll { $0 == id }
            workers[registered: workerID].held.remove(id)
            transition(id, to: .canceled, now: now, effects: &effects) { record in
                record.cancel = CancelInfo(requestedAt: now, confirm: .canceled, workerFinished: false)
            }
            fill(workerID, now: now, effects: &effects)
            return .canceled(tasks[id]!)
        case .running:
            let workerID = record.holder!
            transition(id, to: .canceling, now: now, effects: &effects) { record in
                record.cancel = CancelInfo(requestedAt: now, confirm: nil, workerFinished: false)
            }
            requestStop(id, on: workerID, effects: &effects)
            counters.cancelRequests.forwarded += 1
            return .inProgress(tasks[id]!)
        case .canceling:
            counters.cancelRequests.inProgress += 1
            return .inProgress(record)
        case .succeeded, .failed:
            return .alreadyFinished(record)
        case .canceled:
            return .canceled(record)
        }
    }
}

/// What a cancel caller is told once the protocol settled, or its wait ran out (SPEC.md section 3).
public enum CancelOutcome: Sendable {
    /// Confirm `canceled`: the task is cancelled (200).
    case canceled(TaskRecord)
    /// Confirm `cancel_failed`: the task finished first, or its worker cannot stop it (409).
    case cancelFailed(TaskRecord)
    /// The worker has not confirmed within the wait; the task is `canceling` (202).
    case stillCanceling(TaskRecord)
    /// Confirm `cancel_not_found`: no such task (404).
    case notFound(TaskID)
    /// Confirm `cancel_not_found`: the task's record expired (410).
    case expired(TaskID)

    /// The confirm kind this outcome reports, `nil` while still canceling.
    public var confirm: CancelConfirm? {
        switch self {
        case .canceled: .canceled
        case .cancelFailed: .cancelFailed
        case .stillCanceling: nil
        case .notFound, .expired: .cancelNotFound
        }
    }

    /// Reads the outcome off the task's state after the cancel was accepted.
    public init(settled lookup: TaskLookup) {
        switch lookup {
        case .notFound(let id): self = .notFound(id)
        case .expired(let id): self = .expired(id)
        case .found(let record):
            switch record.state {
            case .canceled: self = .canceled(record)
            case .canceling: self = .stillCanceling(record)
            case .pending, .running, .succeeded, .failed: self = .cancelFailed(record)
            }
        }
    }

    /// The immediate outcome of a decision that needs no waiting, `nil` for `inProgress`.
    public init?(_ decision: CancelDecision) {
        switch decision {
        case .canceled(let record): self = .canceled(record)
        case .alreadyFinished(let record): self = .cancelFailed(record)
        case .notFound(let id): self = .notFound(id)
        case .expired(let id): self = .expired(id)
        case .inProgress: return nil
        }
    }
}
