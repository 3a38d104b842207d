/// A remote worker's long-poll held by the core until mail arrives, its deadline passes, a newer poll of the
/// same worker supersedes it, or the worker is removed.
struct ParkedPoll: Sendable {
    /// The waiter that answers the request.
    var waiter: WaiterID
    /// The most tasks the answer may carry.
    var maxAssignments: Int
    /// The acks of the reports the poll carried; the answer adds the mail.
    var mail: WorkerMail
    /// A newer poll arrived: this one is answered with its acks only, so no mail is lost to it.
    var superseded = false
}

/// One long-poll of a remote worker: its reports in, and how it waits for mail.
public struct PollRequest: Sendable {
    /// Finished tasks.
    public var results: [WorkerResult] = []
    /// Answers to cancel requests.
    public var confirms: [WorkerConfirm] = []
    /// The most new tasks to hand over (the core never assigns past the worker's capacity anyway).
    public var maxAssignments = Int.max
    /// How long to park when there is no mail; zero answers at once.
    public var wait: Duration = .zero
    /// The worker takes no new tasks from now on; tasks assigned but not yet handed over go back to the queue.
    public var drain = false

    /// Creates a poll.
    public init(
        results: [WorkerResult] = [], confirms: [WorkerConfirm] = [], maxAssignments: Int = .max,
        wait: Duration = .zero, drain: Bool = false
    ) {
        self.results = results
        self.confirms = confirms
        self.maxAssignments = maxAssignments
        self.wait = wait
        self.drain = drain
    }
}

/// How a poll began.
public enum PollStart: Sendable {
    /// Answered at once: there was mail, or the poll asked not to wait.
    case answered(WorkerMail)
    /// Parked; the waiter is released with a `WaitResult.poll`.
    case parked(WaiterID)
}

/// What a parked poll is answered with.
public enum PollAnswer: Sendable {
    /// The acks of its reports and the mail that arrived (empty at the deadline or when superseded).
    case mail(WorkerMail)
    /// The worker was removed while the poll was parked (it left, or the server declared it dead).
    case workerGone
}

extension SchedulerCore {
    /// A remote worker's poll: take its reports (as `exchange` does), then answer with its mail, or — when
    /// there is none and `wait` is positive — park until mail arrives or `wait` passes. A worker has at most
    /// one parked poll: a new one answers the older one at once with its acks only. While a poll is parked the
    /// worker's lease cannot run out; it runs again from the answer.
    ///
    /// The owner must call `settleParkedPolls` after every event, which answers the parked polls of the
    /// workers the event gave mail.
    public mutating func poll(
        worker workerID: WorkerID, _ request: PollRequest, waiter: WaiterID, now: Timestamp, effects: inout Effects
    ) throws(SchedulerError) -> PollStart {
        guard let index = workers.index(forKey: workerID) else { throw missingWorker(workerID) }
        if let previous = workers.values[index].parkedPoll {
            workers.values[index].parkedPoll!.superseded = true
            resolveWaiter(previous.waiter, except: nil, effects: &effects)
        }
        if request.drain { startDraining(workerID, now: now, effects: &effects) }
        let mail = try exchange(
            worker: workerID, results: request.results, confirms: request.confirms,
            maxAssignments: request.maxAssignments, now: now, effects: &effects)
        guard mail.assignments.isEmpty, mail.cancelRequests.isEmpty, request.wait > .zero else {
            return .answered(mail)
        }
        let deadline = now + request.wait
        waiters[waiter] = WaiterEntry(condition: .poll(workerID), deadline: deadline)
        addTimer(at: deadline, .waiter(waiter))
        workers[workerID]!.parkedPoll = ParkedPoll(
            waiter: waiter, maxAssignments: request.maxAssignments, mail: mail)
        if let lease = workers[workerID]!.lease { leaseDeadlines[workerID] = deadline + lease }
        return .parked(waiter)
    }

    /// Answers the parked polls of the workers `effects` signalled, when they have mail the poll may take.
    public mutating func settleParkedPolls(now: Timestamp, effects: inout Effects) {
        guard !effects.signaledWorkers.isEmpty else { return }
        var answered: [(WorkerID, WaiterID)] = []
        for signal in effects.signaledWorkers {
            guard let worker = workers[signal.worker], let parked = worker.parkedPoll else { continue }
            let hasTasks = !worker.outbox.isEmpty && parked.maxAssignments > 0
            guard hasTasks || !worker.cancelRequests.isEmpty else { continue }
            answered.append((signal.worker, parked.waiter))
        }
        guard !answered.isEmpty else { return }
        for (workerID, waiter) in answered {
            if let lease = workers[workerID]!.lease { leaseDeadlines[workerID] = now + lease }
            resolveWaiter(waiter, except: nil, effects: &effects)
        }
        effects.signaledWorkers.removeAll { signal in
            answered.contains { $0.0 == signal.worker } && !(workers[signal.worker]?.hasMail ?? false)
        }
    }

    /// The answer of a worker's parked poll, taking its mail; called when its waiter is released.
    mutating func answerParkedPoll(of workerID: WorkerID) -> PollAnswer {
        guard let index = workers.index(forKey: workerID) else { return .workerGone }
        guard let parked = workers.values[index].parkedPoll else { return .mail(WorkerMail()) }
        workers.values[index].parkedPoll = nil
        var mail = parked.mail
        if !parked.superseded { deliver(index, into: &mail, maxAssignments: parked.maxAssignments) }
        return .mail(mail)
    }

    /// Stops giving a worker new tasks (graceful drain): the tasks in its outbox, which it never saw, go back
    /// to the queue with their attempt unchanged. It keeps running, confirming and reporting what it holds.
    public mutating func startDraining(_ workerID: WorkerID, now: Timestamp, effects: inout Effects) {
        guard let index = workers.index(forKey: workerID), !workers.values[index].draining else { return }
        workers.values[index].draining = true
        for function in workers.values[index].functionIndexes {
            workersByFunction[function].removeAll { $0 == workerID }
        }
        let undelivered = Array(workers.values[index].outbox)
        workers.values[index].outbox.removeAll()
        for id in undelivered { workers.values[index].held.remove(id) }
        logger.info(
            "worker draining", metadata: ["worker.id": "\(workerID)", "worker.returned": "\(undelivered.count)"])
        for id in undelivered {
            transition(id, to: .pending, now: now, effects: &effects) { record in
                record.holder = nil
                record.delivered = false
                record.startedAt = nil
            }
        }
        for id in undelivered.reversed() {
            schedule(id, now: now, effects: &effects, requeued: true)
        }
    }
}
