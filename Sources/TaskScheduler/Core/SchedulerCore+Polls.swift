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
    /// When it parked: what it hands over counts as handed over then (no later than the real answer).
    var parkedAt: Timestamp
}

extension SchedulerCore {
    /// A remote worker's poll: take its reports (as `exchange` does), then answer with its mail, or — when
    /// there is none and `wait` is positive — park until mail arrives or `wait` passes. A worker has at most
    /// one parked poll: a new one answers the older one at once with its acks only. While a poll is parked the
    /// worker's lease cannot run out; it runs again from the answer.
    ///
    /// The owner must call `settleParkedPolls` after every event, which answers the parked polls of the
    /// workers the event gave mail.
    package mutating func poll(
        worker workerID: WorkerID, _ request: PollRequest, waiter: WaiterID, now: Timestamp, effects: inout Effects
    ) throws(SchedulerError) -> PollStart {
        guard let index = workers.slot(of: workerID) else { throw missingWorker(workerID) }
        if let previous = workers[slot: index].parkedPoll {
            workers[slot: index].parkedPoll!.superseded = true
            resolveWaiter(previous.waiter, except: nil, effects: &effects)
        }
        if request.drain { startDraining(workerID, now: now, effects: &effects) }
        let mail = try exchange(
            worker: workerID, results: request.results, confirms: request.confirms,
            maxAssignments: request.maxAssignments, now: now, effects: &effects)
        if let running = request.running {
            // After the reports (a reported task is no longer held) and the new handovers (too recent to touch).
            reconcile(
                workerID, running: running, handedOverBefore: now + (.zero - request.reconcileAfter), now: now,
                effects: &effects)
        }
        guard mail.assignments.isEmpty, mail.cancelRequests.isEmpty, request.wait > .zero else {
            return .answered(mail)
        }
        let deadline = now + request.wait
        waiters[waiter] = WaiterEntry(condition: .poll(workerID), deadline: deadline)
        addTimer(at: deadline, .waiter(waiter))
        workers[registered: workerID].parkedPoll = ParkedPoll(
            waiter: waiter, maxAssignments: request.maxAssignments, mail: mail, parkedAt: now)
        if let lease = workers[registered: workerID].lease { leaseDeadlines[workerID] = deadline + lease }
        return .parked(waiter)
    }

    /// Answers the parked polls of the workers `effects` signalled, when they have mail the poll may take.
    package mutating func settleParkedPolls(now: Timestamp, effects: inout Effects) {
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
            if let lease = workers[registered: workerID].lease { leaseDeadlines[workerID] = now + lease }
            resolveWaiter(waiter, except: nil, effects: &effects)
        }
        effects.signaledWorkers.removeAll { signal in
            answered.contains { $0.0 == signal.worker } && !(workers[signal.worker]?.hasMail ?? false)
        }
    }

    /// The answer of a worker's parked poll, taking its mail; called when its waiter is released.
    mutating func answerParkedPoll(of workerID: WorkerID) -> PollAnswer {
        guard let index = workers.slot(of: workerID) else { return .workerGone }
        guard let parked = workers[slot: index].parkedPoll else { return .mail(WorkerMail()) }
        workers[slot: index].parkedPoll = nil
        var mail = parked.mail
        if !parked.superseded {
            deliver(index, into: &mail, maxAssignments: parked.maxAssignments, at: parked.parkedAt)
        }
        return .mail(mail)
    }

    /// Stops giving a worker new tasks (graceful drain): the tasks in its outbox, which it never saw, go back
    /// to the queue with their attempt unchanged. It keeps running, confirming and reporting what it holds.
    package mutating func startDraining(_ workerID: WorkerID, now: Timestamp, effects: inout Effects) {
        guard let index = workers.slot(of: workerID), !workers[slot: index].draining else { return }
        workers[slot: index].draining = true
        for function in workers[slot: index].functionIndexes {
            workersByFunction[function].removeAll { $0 == workerID }
        }
        let undelivered = Array(workers[slot: index].outbox)
        workers[slot: index].outbox.removeAll()
        for id in undelivered { workers[slot: index].held.remove(id) }
        logger.info(
            "worker draining", metadata: ["worker.id": "\(workerID)", "worker.returned": "\(undelivered.count)"])
        for id in undelivered { unassign(id, now: now, effects: &effects) }
        requeueAtFront(undelivered, now: now, effects: &effects)
    }
}

extension SchedulerCore {
    /// Takes back what a worker holds but does not know of: an answer that carried it never reached the worker
    /// (it gave up on the request, its connection broke). Only tasks handed over before `cutoff` are touched, so
    /// an answer still on its way is never mistaken for a lost one. A running task goes back to the queue with
    /// its attempt unchanged (it never ran there); a canceling one is canceled (`cancel_not_found`); a task whose
    /// outcome was already decided only frees the capacity it held.
    mutating func reconcile(
        _ workerID: WorkerID, running: Set<TaskID>, handedOverBefore cutoff: Timestamp, now: Timestamp,
        effects: inout Effects
    ) {
        guard let worker = workers[workerID] else { return }
        var requeued: [TaskID] = []
        for id in worker.held.sorted() where !running.contains(id) {
            guard let record = tasks[id] else {
                workers[registered: workerID].held.remove(id)
                continue
            }
            guard let at = record.deliveredAt, at < cutoff else { continue }
            if record.holder != workerID {
                // Decided while the worker held it (timeout): only the capacity was still spent.
                workers[registered: workerID].held.remove(id)
                continue
            }
            switch record.state {
            case .running:
                workers[registered: workerID].held.remove(id)
                unassign(id, now: now, effects: &effects)
                requeued.append(id)
            case .canceling:
                workers[registered: workerID].held.remove(id)
                workers[registered: workerID].cancelRequests.removeAll { $0 == id }
                transition(id, to: .canceled, now: now, effects: &effects) { $0.cancel?.confirm = .cancelNotFound }
            default:
                continue
            }
            counters.reconciled += 1
            logger.warning(
                "task handed to a worker that does not know it; taken back",
                metadata: ["task.id": "\(id)", "worker.id": "\(workerID)"])
        }
        requeueAtFront(requeued, now: now, effects: &effects)
        fill(workerID, now: now, effects: &effects)
    }
}
