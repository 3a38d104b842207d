import TaskGateTesting
import Testing

@testable import TaskScheduler

/// Many seeded random interleavings of every event on the core value, checking the indexes after each step.
@Suite struct CoreRandomizedTests {
    @Test(arguments: 0..<200)
    func randomInterleavingKeepsEveryInvariant(seed: UInt64) throws {
        var rng = SplitMix(seed: seed)
        var h = Harness {
            $0.queueLimit = 60
            $0.maxRetainedTasks = 1_000
        }
        h.core.publishing = true
        var workers: [WorkerID] = [h.register(capacity: 2)]
        var held: [WorkerID: Set<TaskID>] = [:]
        var submitted: [TaskID] = []
        var cancelAnswers: [TaskID: [CancelDecision]] = [:]
        var waiterTask: [WaiterID: TaskID] = [:]
        var parkedPolls: [WaiterID: WorkerID] = [:]
        for _ in 0..<400 {
            // Parked polls answered by the last step hand their tasks over.
            for (waiter, worker) in parkedPolls {
                guard let result = h.released[waiter] else { continue }
                parkedPolls[waiter] = nil
                if case .poll(.mail(let mail)) = result {
                    held[worker, default: []].formUnion(mail.assignments.map(\.taskID))
                }
            }
            switch Int.random(in: 0..<100, using: &rng) {
            case 0..<25:
                if let id = try? h.submit(
                    Bool.random(using: &rng) ? "f" : "g", maxRetries: Int.random(in: 0...2, using: &rng),
                    timeout: Int.random(in: 0..<10, using: &rng) == 0 ? .seconds(3) : nil)
                {
                    submitted.append(id)
                    if let waiter = h.wait(.terminal(id), timeout: .seconds(3600)).parkedID { waiterTask[waiter] = id }
                }
            case 25..<40:
                if let id = submitted.randomElement(using: &rng) { cancelAnswers[id, default: []].append(h.cancel(id)) }
            case 40..<75:
                guard let worker = workers.randomElement(using: &rng) else { continue }
                var results: [WorkerResult] = []
                var confirms: [WorkerConfirm] = []
                for id in held[worker, default: []] where Bool.random(using: &rng) {
                    let state = h.state(id)
                    if state == .canceling, Bool.random(using: &rng) {
                        let kind: CancelConfirm = [.canceled, .cancelFailed, .cancelNotFound].randomElement(
                            using: &rng)!
                        confirms.append(WorkerConfirm(taskID: id, kind: kind))
                        if kind == .cancelFailed { continue }
                    } else {
                        results.append(
                            WorkerResult(
                                taskID: id,
                                outcome: Bool.random(using: &rng) ? .success(.null) : .failure(message: "x")))
                    }
                    held[worker]!.remove(id)
                }
                let max = Int.random(in: 0...2, using: &rng)
                if Int.random(in: 0..<3, using: &rng) == 0 {
                    // A long-poll: answered now, or parked until mail, its deadline or a newer poll.
                    // The worker lists what it holds, truthfully: reconciliation must never take anything back.
                    let request = PollRequest(
                        results: results, confirms: confirms, maxAssignments: max,
                        wait: .milliseconds(Int64.random(in: 0..<3000, using: &rng)),
                        drain: Int.random(in: 0..<20, using: &rng) == 0, running: held[worker, default: []],
                        reconcileAfter: .seconds(5))
                    switch try h.poll(worker, request) {
                    case .answered(let mail): held[worker, default: []].formUnion(mail.assignments.map(\.taskID))
                    case .parked(let waiter): parkedPolls[waiter] = worker
                    }
                } else {
                    let mail = try h.exchange(worker, results: results, confirms: confirms, max: max)
                    held[worker, default: []].formUnion(mail.assignments.map(\.taskID))
                }
            case 75..<80:
                if workers.count > 1 || Bool.random(using: &rng), let worker = workers.randomElement(using: &rng) {
                    h.removeWorker(worker, Bool.random(using: &rng) ? .left : .died("random"))
                    workers.removeAll { $0 == worker }
                    held[worker] = nil
                }
            case 80..<85:
                // A worker that stopped taking tasks cannot finish the run; others join to replace it.
                workers.append(
                    h.register(
                        Bool.random(using: &rng) ? ["f", "g"] : ["f"], capacity: Int.random(in: 1...3, using: &rng)))
            default:
                h.advance(.milliseconds(Int64.random(in: 0..<2000, using: &rng)))
            }
            h.expectConsistent()
        }
        // Settle: one worker for everything answers every outstanding request and finishes all work.
        for worker in workers { h.removeWorker(worker, .left) }
        for (waiter, _) in parkedPolls {
            #expect(h.released[waiter] != nil, "a parked poll of a removed worker was never answered")
        }
        let finisher = h.register(capacity: 1000)
        for _ in 0..<5 {
            let mail = try h.exchange(finisher, max: 1000)
            try h.exchange(
                finisher, results: mail.assignments.map { WorkerResult(taskID: $0.taskID, outcome: .success(.null)) },
                confirms: mail.cancelRequests.map { WorkerConfirm(taskID: $0, kind: .canceled) }, max: 0)
        }
        h.removeWorker(finisher, .left)
        #expect(h.core.isQuiescent)
        h.expectConsistent()
        for id in submitted {
            guard let record = h.core.lookup(id).record else { continue }
            #expect(record.done)
            // Every cancel answer agrees with the final state.
            for answer in cancelAnswers[id, default: []] {
                switch answer {
                case .canceled: #expect(record.state == .canceled)
                case .alreadyFinished(let then): #expect(then.state == record.state && then.version == record.version)
                case .inProgress, .notFound, .expired: break
                }
            }
            if record.state == .canceled { #expect(record.result == nil) }
            if record.state == .succeeded { #expect(record.cancel?.confirm != .canceled) }
        }
        // Every waiter was released exactly once (double releases are caught by the harness), with a final state
        // or at its deadline.
        for (waiter, id) in waiterTask {
            #expect(h.released[waiter] != nil, "waiter for \(id) never released")
        }
        let counters = h.core.counters
        #expect(counters.succeeded + counters.failed + counters.canceled == counters.submitted)
        #expect(counters.illegalTransitions == 0)
        #expect(counters.reconciled == 0, "a truthful running list had something taken back")
        expectPublishedEveryChange(h, submitted: submitted)
    }

    /// The published changes tell each task's whole story in order, once each: versions 1, 2, 3, ... up to the
    /// record's, the first pending, the last the record's final state; every worker that joined left once, after.
    func expectPublishedEveryChange(_ h: Harness, submitted: [TaskID]) {
        var versions: [TaskID: [UInt64]] = [:]
        var last: [TaskID: TaskRecord] = [:]
        var joined: Set<WorkerID> = []
        var left: Set<WorkerID> = []
        for change in h.published {
            switch change {
            case .task(let record):
                versions[record.id, default: []].append(record.version)
                if versions[record.id]!.count == 1 { #expect(record.state == .pending && record.version == 1) }
                last[record.id] = record
            case .workerJoined(let worker):
                #expect(joined.insert(worker.id).inserted, "worker \(worker.id) joined twice")
            case .workerLeft(let worker, _):
                #expect(joined.contains(worker.id), "worker \(worker.id) left before it joined")
                #expect(left.insert(worker.id).inserted, "worker \(worker.id) left twice")
            }
        }
        #expect(joined == left, "every worker was removed at the end")
        for id in submitted {
            guard let record = h.core.lookup(id).record else { continue }
            #expect(versions[id] == Array(1...record.version), "task \(id): versions \(versions[id] ?? [])")
            #expect(last[id]?.state == record.state)
        }
    }
}
