import HeapModule

/// A point-in-time summary of the scheduler.
public struct SchedulerStats: Hashable, Sendable {
    /// Retained tasks per state.
    public var tasksByState: [TaskState: Int]
    /// Live pending tasks (the queue the limit applies to).
    public var queued: Int
    /// The queue limit.
    public var queueLimit: Int
    /// Registered workers.
    public var workers: Int
    /// How many of them are remote (they hold a lease).
    public var remoteWorkers: Int = 0
    /// Sum of worker capacities.
    public var capacity: Int
    /// Sum of worker loads.
    public var load: Int
    /// Parked waiters.
    public var waiters: Int
    /// Tombstones of evicted tasks.
    public var tombstones: Int
    /// Idempotency keys held.
    public var idempotencyKeys: Int
    /// Finished tasks whose completion webhook is not yet delivered, failed or gone.
    public var pendingCallbacks = 0
    /// Totals since start.
    public var counters: SchedulerCounters
}

/// One function in `SchedulerOverview`.
public struct FunctionOverview: Sendable, Hashable {
    /// Its name.
    public var name: String
    /// Its live and total counts.
    public var counts: FunctionCounts
}

/// Per-function counts and the latest failures (`SchedulerCore.overview`).
public struct SchedulerOverview: Sendable {
    /// Functions with any task, by name.
    public var functions: [FunctionOverview]
    /// The latest failed tasks still retained, newest first.
    public var recentFailures: [TaskRecord]
}

/// What the metrics read at scrape time.
public struct SchedulerMetricsSnapshot: Sendable {
    /// The summary.
    public var stats: SchedulerStats
    /// Counts per function name, in the order the names were learned.
    public var functions: [(name: String, counts: FunctionCounts)]
    /// When the longest-waiting pending task became pending; nil when none is.
    public var oldestPendingSince: Timestamp?
}

/// Which tasks a listing returns.
public struct TaskFilter: Sendable {
    /// Only tasks in this state.
    public var state: TaskState?
    /// Only tasks of this function.
    public var function: String?

    /// Creates a filter; `nil` fields match everything.
    public init(state: TaskState? = nil, function: String? = nil) {
        self.state = state
        self.function = function
    }
}

extension SchedulerCore {
    /// The summary.
    package var stats: SchedulerStats {
        var byState: [TaskState: Int] = [:]
        for state in TaskState.allCases { byState[state] = stateCounts[state.index] }
        var stats = SchedulerStats(
            tasksByState: byState, queued: pending.count, queueLimit: configuration.queueLimit,
            workers: workers.count, remoteWorkers: workers.all.count { $0.lease != nil },
            capacity: workers.all.reduce(0) { $0 + $1.capacity },
            load: workers.all.reduce(0) { $0 + $1.load }, waiters: waiters.count, tombstones: tombstones.count,
            idempotencyKeys: idempotency.count, counters: counters)
        stats.pendingCallbacks = pendingCallbacks
        return stats
    }

    /// What the metrics read at scrape time: counts per function, and since when the longest-waiting pending task
    /// has waited (the first live entry of each priority lane is the oldest of its lane).
    package var metricsSnapshot: SchedulerMetricsSnapshot {
        var oldest: Timestamp?
        for queue in pending.queues {
            for lane in queue.lanes {
                for entry in lane.entries {
                    guard let record = tasks[entry.id], record.state == .pending, record.queueSeq == entry.seq
                    else { continue }
                    if oldest.map({ record.updatedAt < $0 }) ?? true { oldest = record.updatedAt }
                    break
                }
            }
        }
        return SchedulerMetricsSnapshot(
            stats: stats, functions: Array(zip(functionNames, functionCounts)), oldestPendingSince: oldest)
    }

    /// What `taskgate status`, `top` and the dashboard show besides the totals: per function (those with any task,
    /// at most `maxFunctions`, busiest first) its live and total counts, and the latest failed tasks still retained
    /// (newest first).
    package func overview(maxFunctions: Int) -> SchedulerOverview {
        var functions: [(name: String, counts: FunctionCounts)] = []
        for (index, counts) in functionCounts.enumerated() where counts.submitted > 0 || counts.pending > 0 {
            functions.append((functionNames[index], counts))
        }
        if functions.count > maxFunctions {
            functions.sort {
                ($0.counts.pending + $0.counts.running, $0.counts.submitted) > (
                    $1.counts.pending + $1.counts.running, $1.counts.submitted
                )
            }
            functions.removeLast(functions.count - maxFunctions)
        }
        functions.sort { $0.name < $1.name }
        return SchedulerOverview(
            functions: functions.map { FunctionOverview(name: $0.name, counts: $0.counts) },
            recentFailures: recentFailures.reversed().compactMap { tasks[$0] }.filter { $0.state == .failed })
    }

    /// A page of tasks in id (submission) order, after `cursor`, with the cursor of the next page when more
    /// match. It scans the table: listing is an operator's tool, not a hot path.
    package func list(_ filter: TaskFilter, after cursor: TaskID?, limit: Int) -> (tasks: [TaskRecord], next: TaskID?) {
        let limit = max(1, limit)
        var smallest = Heap<TaskID>()
        for record in tasks.all {
            let id = record.id
            if let cursor, id <= cursor { continue }
            if let state = filter.state, record.state != state { continue }
            if let function = filter.function, record.function != function { continue }
            smallest.insert(id)
            if smallest.count > limit + 1 { smallest.removeMax() }
        }
        var ids = smallest.unordered.sorted()
        var next: TaskID?
        if ids.count > limit {
            ids.removeLast()
            next = ids.last
        }
        return (ids.map { tasks[$0]! }, next)
    }

    /// Checks the internal indexes against each other; an empty answer means they agree. For tests.
    package func invariantViolations() -> [String] {
        var problems: [String] = []
        var counted = [Int](repeating: 0, count: TaskState.allCases.count)
        for record in tasks.all {
            let id = record.id
            counted[record.state.index] += 1
            switch record.state {
            case .running, .canceling:
                guard let holder = record.holder, let worker = workers[holder], worker.held.contains(id) else {
                    problems.append("task \(id) is \(record.state) but no worker holds it")
                    continue
                }
            case .pending, .succeeded, .failed, .canceled:
                if record.holder != nil { problems.append("task \(id) is \(record.state) with a holder") }
            }
            for waiter in record.waiters where waiters[waiter] == nil {
                problems.append("task \(id) lists a resolved waiter")
            }
            if record.done && !record.waiters.isEmpty { problems.append("finished task \(id) still has waiters") }
        }
        if counted != stateCounts { problems.append("state counts \(stateCounts) != table \(counted)") }
        if pending.count != counted[TaskState.pending.index] {
            problems.append("queue count \(pending.count) != pending tasks \(counted[TaskState.pending.index])")
        }
        let terminal = counted[3] + counted[4] + counted[5]
        if finished.count != terminal { problems.append("retention queue \(finished.count) != finished \(terminal)") }
        let weight = finished.reduce(0) { $0 + (tasks[$1]?.retainedBytes ?? 0) }
        if weight != finishedBytes { problems.append("retained bytes \(finishedBytes) != finished records' \(weight)") }
        var live = [[Int]](repeating: [0, 0, 0], count: functionCounts.count)
        for record in tasks.all where !record.done {
            live[Int(record.functionIndex)][record.state.index] += 1
        }
        for (index, counts) in functionCounts.enumerated()
        where live[index] != [counts.pending, counts.running, counts.canceling] {
            problems.append("function \(functionNames[index]) live counts differ from the table: \(live[index])")
        }
        let callbacks = tasks.all.reduce(0) { $0 + ($1.callback?.state == .pending ? 1 : 0) }
        if callbacks != pendingCallbacks {
            problems.append("pending callbacks \(pendingCallbacks) != records' \(callbacks)")
        }
        if tasks.all.contains(where: { ($0.callback != nil) != ($0.done && $0.callbackURL != nil) }) {
            problems.append("a callback delivery on a task without a callback URL or not finished")
        }
        for worker in workers.all {
            if worker.held.count > worker.capacity { problems.append("worker \(worker.id) is over capacity") }
            if let parked = worker.parkedPoll {
                if case .poll(worker.id) = waiters[parked.waiter]?.condition {
                } else {
                    problems.append("worker \(worker.id) has a parked poll without its waiter")
                }
                if (!worker.outbox.isEmpty && parked.maxAssignments > 0) || !worker.cancelRequests.isEmpty {
                    problems.append("worker \(worker.id) has mail while its poll is parked")
                }
            }
            if worker.draining && !worker.outbox.isEmpty {
                problems.append("draining worker \(worker.id) has undelivered tasks")
            }
            for id in worker.outbox where tasks[id]?.state != .running || tasks[id]?.delivered == true {
                problems.append("worker \(worker.id) outbox holds task \(id) that is not waiting for it")
            }
        }
        for (id, entry) in waiters where entry.watchedTasks.contains(where: { tasks[$0] == nil }) {
            problems.append("waiter \(id.rawValue) watches an evicted task")
        }
        return problems
    }

    /// Whether every index is empty of work: no pending, running or canceling task, no waiter, no worker load,
    /// no mail. For tests.
    package var isQuiescent: Bool {
        stateCounts[0] == 0 && stateCounts[1] == 0 && stateCounts[2] == 0 && pending.count == 0
            && waiters.isEmpty && workers.all.allSatisfy { $0.held.isEmpty && !$0.hasMail }
    }
}
