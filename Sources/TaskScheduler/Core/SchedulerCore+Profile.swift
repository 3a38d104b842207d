extension SchedulerCore {
    /// Closes the running attempt of the task in `slot` as it leaves `running`/`canceling` for `next`.
    mutating func closeAttempt(at slot: Int, next: TaskState, now: Timestamp) {
        guard let last = tasks[slot: slot].attempts.indices.last, tasks[slot: slot].attempts[last].endedAt == nil
        else { return }
        let outcome: String =
            switch next {
            case .pending: "requeued"
            case .failed: tasks[slot: slot].error?.code.rawValue ?? "failed"
            default: next.rawValue
            }
        tasks[slot: slot].attempts[last].endedAt = now
        tasks[slot: slot].attempts[last].outcome = outcome
    }
}

extension TaskRecord {
    /// Starts an attempt on `worker` (the task is being assigned; it has been pending since `updatedAt`).
    mutating func beginAttempt(on worker: WorkerID, name: String, now: Timestamp) {
        attempts.append(
            TaskAttempt(attempt: attempt, worker: worker, workerName: name, queuedAt: updatedAt, startedAt: now))
        if attempts.count > TaskAttempt.maxKept { attempts.removeFirst(attempts.count - TaskAttempt.maxKept) }
    }

    /// Adds a run's log lines (split at newlines, each cut to the limit) and keeps the tail within `limits`.
    mutating func appendLogs(_ lines: [String], at now: Timestamp, limits: TaskLogLimits) {
        guard !lines.isEmpty else { return }
        for line in lines {
            for piece in line.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
                let text = String(piece)
                logs.append(
                    TaskLogLine(at: now, attempt: attempt, text: SchedulerCore.cut(text, to: limits.maxLineBytes)))
            }
        }
        if logs.last?.text.isEmpty == true { logs.removeLast() }
        var bytes = logs.reduce(0) { $0 + $1.text.utf8.count }
        var drop = 0
        while drop < logs.count && (logs.count - drop > limits.maxLines || bytes > limits.maxBytes) {
            bytes -= logs[drop].text.utf8.count
            drop += 1
        }
        if drop > 0 {
            logs.removeFirst(drop)
            logsDropped += drop
        }
    }
}
