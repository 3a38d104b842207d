import Synchronization
import TaskGateTesting
import Testing

@testable import TaskScheduler

/// Thousands of tasks with results, cancels, confirms, cancel failures and worker deaths delivered from several
/// concurrent Swift tasks in random interleavings, through the locked `Scheduler`.
@Suite struct SchedulerRaceTests {
    enum Phase { case running, cancelRequested, mustFinish }

    struct Observed: Sendable {
        var waited: TaskLookup?
        var cancel: CancelOutcome?
    }

    @Test(.timeLimit(.minutes(2)), arguments: 0..<3)
    func everyTaskSettlesExactlyOnceAndEveryAnswerAgrees(round: Int) async throws {
        let total = 3000
        let clients = 6
        var configuration = SchedulerConfiguration()
        configuration.queueLimit = 1_000_000
        configuration.maxRetainedTasks = 1_000_000
        // A manual clock that never moves: every wait ends by an event, never by a deadline.
        let scheduler = Scheduler(configuration: configuration, clock: ManualClock(), logger: quietLogger)
        scheduler.declareFunction("f")
        let observed = Shared([TaskID: Observed]())
        let submittedCount = Shared(0)
        let badAcks = Shared(0)
        let staleRefused = Shared(0)

        await withTaskGroup(of: Void.self) { group in
            for client in 0..<clients {
                group.addTask {
                    await withTaskGroup(of: Void.self) { tasks in
                        // Seeded choices (the interleaving itself is the scheduler's), so a failing round can be
                        // re-run with the same decisions.
                        var rng = SplitMix(seed: UInt64(round) << 32 | UInt64(client))
                        var mine: [TaskID] = []
                        for index in 0..<(total / clients) {
                            let retries = (client + index) % 4
                            let id = try! scheduler.submit(SubmitRequest(function: "f", maxRetries: retries)).taskID
                            mine.append(id)
                            submittedCount.withLock { $0 += 1 }
                            tasks.addTask {
                                let lookup = await scheduler.waitForTerminal(id, timeout: .seconds(3600))
                                observed.withLock { $0[id, default: Observed()].waited = lookup }
                            }
                            if Bool.random(using: &rng) {
                                // Mostly cancel once the task is on a worker, to race the worker's answers.
                                let waitForWorker = Int.random(in: 0..<4, using: &rng) > 0
                                let yields = Int.random(in: 0..<20, using: &rng)
                                tasks.addTask {
                                    if waitForWorker {
                                        _ = await scheduler.waitForChange(id, after: 1, timeout: .seconds(3600))
                                    }
                                    for _ in 0..<yields { await Task.yield() }
                                    let outcome = await scheduler.cancel(id, wait: .seconds(3600))
                                    observed.withLock { $0[id, default: Observed()].cancel = outcome }
                                }
                            }
                            if index % 50 == 0 { await Task.yield() }
                        }
                        let all = await scheduler.wait(for: mine, mode: .all, timeout: .seconds(3600))
                        #expect(all.allSatisfy { $0.record?.done == true })
                    }
                }
            }
            for driver in 0..<4 {
                group.addTask {
                    var rng = SplitMix(seed: UInt64(round) << 32 | UInt64(100 + driver))
                    await drive(
                        scheduler, total: total, submitted: submittedCount, badAcks: badAcks,
                        staleRefused: staleRefused, rng: &rng)
                }
            }
        }

        #expect(badAcks.current == 0)
        #expect(scheduler.isQuiescent)
        #expect(scheduler.invariantViolations() == [])
        let counters = scheduler.stats.counters
        #expect(counters.submitted == total)
        #expect(counters.succeeded + counters.failed + counters.canceled == total)
        #expect(counters.illegalTransitions == 0)
        let results = observed.current
        #expect(results.count == total)
        let finals = results.keys.compactMap { scheduler.task($0).record }
        // The run reached every path it is meant to race (each is seen dozens of times per run).
        #expect(finals.contains { $0.cancel?.workerFinished == true })
        #expect(finals.contains { $0.cancel?.confirm == .cancelNotFound })
        #expect(finals.contains { $0.cancel?.confirm == .cancelFailed })
        #expect(counters.requeued > 0)
        #expect(staleRefused.current > 0)
        for (id, seen) in results {
            guard let final = scheduler.task(id).record else {
                Issue.record("task \(id) lost")
                continue
            }
            #expect(final.done)
            // The waiter saw the one terminal state, and nothing changed after it.
            #expect(seen.waited?.record?.state == final.state)
            #expect(seen.waited?.record?.version == final.version)
            switch seen.cancel {
            case .canceled(let record)?:
                #expect(final.state == .canceled)
                #expect(record.state == .canceled)
            case .cancelFailed(let record)?:
                #expect(final.state != .canceled)
                if record.done { #expect(record.version == final.version) }
            case .stillCanceling?, .notFound?, .expired?:
                Issue.record("unexpected cancel answer for \(id): \(String(describing: seen.cancel))")
            case nil:
                #expect(final.state != .canceled)
            }
        }
    }

    /// A fake remote worker: takes tasks, answers results and confirms at random, and dies now and then.
    func drive(
        _ scheduler: Scheduler, total: Int, submitted: Shared<Int>, badAcks: Shared<Int>, staleRefused: Shared<Int>,
        rng: inout SplitMix
    ) async {
        func register(_ rng: inout SplitMix) -> (WorkerID, Int) {
            let capacity = Int.random(in: 1...8, using: &rng)
            let id = try! scheduler.registerWorker(
                WorkerRegistration(name: "fake", functions: ["f"], capacity: capacity))
            return (id, capacity)
        }
        var (worker, capacity) = register(&rng)
        var held: [TaskID: Phase] = [:]
        for _ in 0..<5_000_000 {
            let counters = scheduler.stats.counters
            if submitted.current == total && counters.succeeded + counters.failed + counters.canceled == total { break }
            var results: [WorkerResult] = []
            var confirms: [WorkerConfirm] = []
            for (id, phase) in held where Int.random(in: 0..<10, using: &rng) < 2 {
                switch phase {
                case .running, .mustFinish:
                    let outcome: WorkerOutcome =
                        Bool.random(using: &rng) ? .success(Payload(json: "1")) : .failure(message: "x")
                    results.append(WorkerResult(taskID: id, outcome: outcome))
                    held[id] = nil
                case .cancelRequested:
                    switch Int.random(in: 0..<4, using: &rng) {
                    case 0: confirms.append(WorkerConfirm(taskID: id, kind: .canceled))
                    case 1: confirms.append(WorkerConfirm(taskID: id, kind: .cancelNotFound))
                    case 2:
                        confirms.append(WorkerConfirm(taskID: id, kind: .cancelFailed))
                        held[id] = .mustFinish
                        continue
                    default: results.append(WorkerResult(taskID: id, outcome: .success(Payload(json: "2"))))
                    }
                    held[id] = nil
                }
            }
            do {
                let mail = try scheduler.exchange(
                    worker: worker, results: results, confirms: confirms,
                    maxAssignments: Int.random(in: 0...capacity, using: &rng))
                let refused = (mail.resultAcks + mail.confirmAcks).filter { $0 != .accepted }.count
                if refused > 0 { badAcks.withLock { $0 += refused } }
                for assignment in mail.assignments { held[assignment.taskID] = .running }
                for id in mail.cancelRequests where held[id] != nil { held[id] = .cancelRequested }
            } catch {
                Issue.record("exchange failed: \(error)")
            }
            if Int.random(in: 0..<300, using: &rng) == 0 {
                scheduler.removeWorker(worker, reason: .died("random death"))
                // Its late reports are refused: it is no longer registered.
                let late = held.keys.map { WorkerResult(taskID: $0, outcome: .success(.null)) }
                if (try? scheduler.exchange(worker: worker, results: late, maxAssignments: 0)) == nil {
                    staleRefused.withLock { $0 += 1 }
                }
                held.removeAll()
                (worker, capacity) = register(&rng)
            }
            await Task.yield()
        }
        // Drain what is left in the mailbox, then leave.
        _ = try? scheduler.exchange(worker: worker, maxAssignments: 0)
        scheduler.removeWorker(worker, reason: .left)
    }
}
