extension InProcessWorkerPool {
    /// One slot: report the last outcome and take the next task in one exchange; run it; repeat.
    func slotLoop(_ index: Int) async {
        var results: [WorkerResult] = []
        var confirms: [WorkerConfirm] = []
        var retire = false
        while true {
            let (assignment, work, generation, stop) = state.withLock { state in
                // A cancel that reached this slot after its function returned still cancelled its Swift task.
                if state.slots[index].cancelRequested || Task.isCancelled { retire = true }
                let stop = state.stopping || retire
                state.slots[index].current = nil
                var assignment: Assignment?
                var work = Scheduler.PendingWork()
                if let worker = state.workerID,
                    let (mail, pending) = try? scheduler.exchangeDeferred(
                        worker: worker, results: results, confirms: confirms, maxAssignments: stop ? 0 : 1,
                        takeCancelRequests: false)
                {
                    assignment = mail.assignments.first
                    work = pending
                }
                if let assignment {
                    state.slots[index].current = assignment.taskID
                    state.slots[index].cancellable = true
                    state.slots[index].cancelRequested = false
                }
                return (assignment, work, state.generation, stop)
            }
            work.run()
            results.removeAll(keepingCapacity: true)
            confirms.removeAll(keepingCapacity: true)
            if let assignment {
                let cancelled = await execute(assignment, slot: index, results: &results, confirms: &confirms)
                retire = retire || cancelled
                continue
            }
            if stop { break }
            await waitForSignal(after: generation)
        }
        let finished = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.liveSlots -= 1
            if retire && !state.stopping {
                spawnSlotAfterRetire(index, in: &state)
                return nil
            }
            if state.liveSlots == 0 {
                defer { state.stopped = nil }
                return state.stopped
            }
            return nil
        }
        finished?.resume()
    }

    private func spawnSlotAfterRetire(_ index: Int, in state: inout State) {
        state.liveSlots += 1
        state.slots[index] = Slot()
        state.slots[index].task = Task { await self.slotLoop(index) }
    }

    /// Runs one assignment; returns true when a cancel stopped it (the slot's Swift task is then cancelled).
    private func execute(
        _ assignment: Assignment, slot index: Int, results: inout [WorkerResult], confirms: inout [WorkerConfirm]
    ) async -> Bool {
        let id = assignment.taskID
        guard let function = registry[assignment.function] else {
            results.append(WorkerResult(taskID: id, outcome: .failure(message: "no function '\(assignment.function)'")))
            return false
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
        let cancelRequested = state.withLock { $0.slots[index].cancelRequested }
        guard cancelRequested || Task.isCancelled else {
            results.append(WorkerResult(taskID: id, outcome: outcome))
            return false
        }
        // Stopped by a cancel: if the function gave up, confirm; if it finished anyway, report the result (the
        // scheduler discards it and records that the function ran).
        if threw {
            confirms.append(WorkerConfirm(taskID: id, kind: .canceled))
        } else {
            results.append(WorkerResult(taskID: id, outcome: outcome))
        }
        return true
    }

    private func waitForSignal(after generation: UInt64) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state in
                if state.generation != generation || state.stopping { return true }
                state.idle.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// The scheduler put mail in this worker's mailbox: wake idle slots, and stop the tasks it asks to stop.
    func handleSignal(cancelRequests: Bool) {
        var work = Scheduler.PendingWork()
        let idle = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.generation &+= 1
            defer { state.idle.removeAll() }
            guard cancelRequests, let worker = state.workerID else { return state.idle }
            var confirms: [WorkerConfirm] = []
            for id in scheduler.takeCancelRequests(worker: worker) {
                guard let slot = state.slots.firstIndex(where: { $0.current == id }) else {
                    confirms.append(WorkerConfirm(taskID: id, kind: .cancelNotFound))
                    continue
                }
                if state.slots[slot].cancellable {
                    state.slots[slot].cancelRequested = true
                    state.slots[slot].task?.cancel()
                } else {
                    confirms.append(WorkerConfirm(taskID: id, kind: .cancelFailed))
                }
            }
            if !confirms.isEmpty,
                let (_, pending) = try? scheduler.exchangeDeferred(
                    worker: worker, confirms: confirms, maxAssignments: 0, takeCancelRequests: false)
            {
                work = pending
            }
            return state.idle
        }
        for continuation in idle { continuation.resume() }
        work.run()
    }
}
