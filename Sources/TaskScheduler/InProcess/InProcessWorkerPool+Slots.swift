extension InProcessWorkerPool {
    /// One slot: report the last outcome and take the next task in one exchange; run it; repeat.
    func slotLoop(_ index: Int) async {
        let slot = slots[index]
        var results: [WorkerResult] = []
        var confirms: [WorkerConfirm] = []
        var retire = false
        while true {
            // The slot's lock is held across the exchange, so a cancel for the task it takes cannot slip in
            // between the hand-over and `current` being set.
            let (assignment, work, generation, stop) = slot.state.withLock { state in
                // A cancel that reached this slot after its function returned still cancelled its Swift task.
                if state.cancelRequested || Task.isCancelled { retire = true }
                let stop = state.stopping || retire
                state.current = nil
                var assignment: Assignment?
                var work = Scheduler.Wakeups()
                if let worker = state.workerID,
                    let (mail, wakeups) = try? scheduler.exchangeDeferred(
                        worker: worker, results: results, confirms: confirms, maxAssignments: stop ? 0 : 1,
                        takeCancelRequests: false)
                {
                    assignment = mail.assignments.first
                    work = wakeups
                }
                if let assignment {
                    state.current = assignment.taskID
                    state.cancellable = true
                }
                return (assignment, work, state.generation, stop)
            }
            work.run()
            results.removeAll(keepingCapacity: true)
            confirms.removeAll(keepingCapacity: true)
            if let assignment {
                await execute(assignment, slot: index, results: &results, confirms: &confirms)
                continue
            }
            if stop { break }
            await waitForSignal(slot, after: generation)
        }
        slotExited(index, retired: retire)
    }

    /// Runs one assignment and queues its outcome for the next exchange.
    private func execute(
        _ assignment: Assignment, slot index: Int, results: inout [WorkerResult], confirms: inout [WorkerConfirm]
    ) async {
        let id = assignment.taskID
        guard let function = registry[assignment.function] else {
            results.append(WorkerResult(taskID: id, outcome: .failure(message: "no function '\(assignment.function)'")))
            return
        }
        let context = TaskContext(
            taskID: id, function: assignment.function, attempt: assignment.attempt, deadline: assignment.deadline,
            pool: self, slot: index)
        let outcome: WorkerOutcome
        var threw = false
        do {
            outcome = .success(try await function(assignment.args, context))
        } catch let error as FunctionError {
            outcome = .failure(message: error.message)
            threw = true
        } catch {
            outcome = .failure(message: String(describing: error))
            threw = true
        }
        if threw && Task.isCancelled {
            // Stopped by a cancel (or a stop past its grace): the function gave up.
            confirms.append(WorkerConfirm(taskID: id, kind: .canceled))
        } else {
            // Finished, even if a cancel came meanwhile: the scheduler then discards the result and records that
            // the function ran.
            results.append(WorkerResult(taskID: id, outcome: outcome))
        }
    }

    private func waitForSignal(_ slot: Slot, after generation: UInt64) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = slot.state.withLock { state in
                if state.generation != generation || state.stopping { return true }
                state.idle = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// The scheduler put mail in this slot's mailbox: wake it if idle, and stop the task it asks to stop.
    func handleSignal(slot index: Int, cancelRequests: Bool) {
        var work = Scheduler.Wakeups()
        let idle = slots[index].state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.generation &+= 1
            defer { state.idle = nil }
            guard cancelRequests, let worker = state.workerID else { return state.idle }
            var confirms: [WorkerConfirm] = []
            for id in scheduler.takeCancelRequests(worker: worker) {
                guard state.current == id else {
                    confirms.append(WorkerConfirm(taskID: id, kind: .cancelNotFound))
                    continue
                }
                if state.cancellable {
                    state.cancelRequested = true
                    state.task?.cancel()
                } else {
                    confirms.append(WorkerConfirm(taskID: id, kind: .cancelFailed))
                }
            }
            if !confirms.isEmpty,
                let (_, wakeups) = try? scheduler.exchangeDeferred(
                    worker: worker, confirms: confirms, maxAssignments: 0, takeCancelRequests: false)
            {
                work = wakeups
            }
            return state.idle
        }
        idle?.resume()
        work.run()
    }
}
