import TaskGateTesting
import Testing

@testable import TaskScheduler

@Suite struct WorkerTests {
    @Test func aDrainingSchedulerRefusesRemoteWorkersButNotItsOwn() throws {
        var h = Harness()
        h.core.stopAccepting()
        #expect {
            try h.apply { (core, now, effects) throws(SchedulerError) in
                try core.registerWorker(
                    WorkerRegistration(name: "remote", functions: ["f"], capacity: 1, lease: .seconds(10)), now: now,
                    effects: &effects)
            }
        } throws: { error in
            (error as? SchedulerError)?.code == .shuttingDown
        }
        _ = h.register()
        #expect(h.core.allWorkers.count == 1, "an in-process worker (no lease) still registers")
    }

    @Test func deadWorkersTaskIsRequeuedWithTheNextAttemptAndRunsElsewhere() throws {
        var h = Harness()
        let first = h.register()
        let id = try h.submit()
        _ = h.take(first)
        let second = h.register()
        h.removeWorker(first)
        #expect(h.record(id).attempt == 2)
        #expect(h.take(second) == [id])
        #expect(h.succeed(second, id) == .accepted)
        #expect(h.record(id).state == .succeeded)
        #expect(h.core.counters.requeued == 1)
        h.expectConsistent()
    }

    @Test func withMaxRetriesZeroAWorkerDeathFailsTheTaskWithWorkerDied() throws {
        var h = Harness()
        let worker = h.register()
        let id = try h.submit(maxRetries: 0)
        _ = h.take(worker)
        h.removeWorker(worker)
        let record = h.record(id)
        #expect(record.state == .failed)
        #expect(record.error?.code == .workerDied)
        #expect(record.error?.title.isEmpty == false)
        h.expectConsistent()
    }

    @Test func retriesAreBoundedByMaxRetries() throws {
        var h = Harness()
        let id = try h.submit(maxRetries: 3)
        for attempt in 1...4 {
            let worker = h.register()
            #expect(h.take(worker) == [id])
            #expect(h.record(id).attempt == attempt)
            h.removeWorker(worker)
        }
        #expect(h.record(id).state == .failed)
        #expect(h.record(id).error?.code == .workerDied)
        #expect(h.record(id).attempt == 4)
    }

    @Test func workerLeavingRequeuesItsTasksAndPendingOnesWaitForTheNextWorker() throws {
        var h = Harness()
        let worker = h.register(capacity: 2)
        let a = try h.submit()
        let b = try h.submit()
        let c = try h.submit()
        #expect(h.take(worker) == [a, b])
        h.removeWorker(worker, .left)
        #expect(h.state(a) == .pending)
        #expect(h.state(b) == .pending)
        let next = h.register(capacity: 3)
        // Re-queued tasks go first, in their original order.
        #expect(h.take(next) == [a, b, c])
        h.expectConsistent()
    }

    @Test func staleHoldersLateResultIsRefusedAndChangesNothing() throws {
        var h = Harness()
        let first = h.register()
        let second = h.register()
        let id = try h.submit()
        let holder = h.core.worker(first)!.load == 1 ? first : second
        let other = holder == first ? second : first
        _ = h.take(holder)
        let before = h.record(id)
        // A worker that does not hold the task.
        #expect(h.succeed(other, id) == .notHolder)
        #expect(h.confirm(other, id, .canceled) == .notHolder)
        // The holder dies; its late result is refused because it is no longer registered.
        h.removeWorker(holder)
        #expect(throws: SchedulerError.self) {
            try h.exchange(holder, results: [WorkerResult(taskID: id, outcome: .success(.null))])
        }
        #expect(h.record(id).state != .succeeded)
        #expect(h.record(id).attempt == before.attempt + 1)
        #expect(h.core.counters.refusedReports == 2)
        h.expectConsistent()
    }

    @Test func aPollFullOfBogusReportsWritesOneLogLineWithTheCount() throws {
        var h = Harness()
        let store = RecordingLogHandler.Store()
        h.core.logger = RecordingLogHandler.logger(store)
        let worker = h.register(capacity: 4)
        let bogus = (0..<1_000).map { WorkerResult(taskID: TaskID(rawValue: UInt64($0) + 1), outcome: .success(.null)) }
        let confirms = (0..<10).map { WorkerConfirm(taskID: TaskID(rawValue: UInt64($0) + 5_000), kind: .canceled) }
        let mail = try h.exchange(worker, results: bogus, confirms: confirms)
        #expect(mail.resultAcks.allSatisfy { $0 == .notHolder })
        let refusals = store.all.filter { $0.message.contains("refused") }
        #expect(refusals.count == 1)
        #expect(refusals.first?.metadata["reports.refused_results"] == "1000")
        #expect(refusals.first?.metadata["reports.refused_confirms"] == "10")
        #expect(h.core.counters.refusedReports == 1_010)
        h.expectConsistent()
    }

    @Test func aWorkerThatMissesItsLeaseIsDeclaredDead() throws {
        var h = Harness()
        let worker = h.register(lease: .seconds(10))
        let id = try h.submit()
        _ = h.take(worker)
        h.advance(.seconds(6))
        try h.exchange(worker, max: 0)  // renews the lease
        h.advance(.seconds(6))
        #expect(h.core.worker(worker) != nil)
        h.advance(.seconds(5))
        #expect(h.core.worker(worker) == nil)
        #expect(h.state(id) == .pending)
        #expect(h.record(id).attempt == 2)
    }

    @Test func executionDeadlineFailsTheTaskWithTimeoutAndAsksTheWorkerToStop() throws {
        var h = Harness()
        let worker = h.register()
        let id = try h.submit(timeout: .seconds(5))
        let queued = try h.submit()
        _ = h.take(worker)
        h.advance(.seconds(6))
        #expect(h.record(id).state == .failed)
        #expect(h.record(id).error?.code == .timeout)
        // The worker still runs it: its capacity stays spent until it confirms the stop.
        let mail = try h.exchange(worker)
        #expect(mail.cancelRequests == [id])
        #expect(mail.assignments.isEmpty)
        #expect(h.confirm(worker, id, .canceled) == .accepted)
        #expect(h.record(id).state == .failed)
        #expect(h.take(worker) == [queued])
        h.expectConsistent()
    }

    @Test func lateResultOfATimedOutTaskIsRefusedButFreesTheSlot() throws {
        var h = Harness()
        let worker = h.register()
        let id = try h.submit(timeout: .seconds(1))
        _ = h.take(worker)
        h.advance(.seconds(2))
        #expect(h.succeed(worker, id) == .notHolder)
        #expect(h.record(id).error?.code == .timeout)
        #expect(h.core.worker(worker)!.load == 0)
    }

    @Test func assignmentGoesToTheLeastLoadedWorkerOfferingTheFunction() throws {
        var h = Harness()
        let onlyG = h.register(["g"], capacity: 4)
        let busy = h.register(["f"], capacity: 4)
        let idle = h.register(["f"], capacity: 4)
        try h.submit("f")
        try h.submit("f")
        try h.submit("f")
        #expect(h.core.worker(onlyG)!.load == 0)
        #expect(h.core.worker(busy)!.load + h.core.worker(idle)!.load == 3)
        #expect(abs(h.core.worker(busy)!.load - h.core.worker(idle)!.load) == 1)
    }

    @Test func highestPriorityFirstAndFIFOWithinAPriority() throws {
        var h = Harness()
        let low1 = try h.submit(priority: -1)
        let mid1 = try h.submit()
        let high = try h.submit("g", priority: 5)
        let mid2 = try h.submit("g")
        let low2 = try h.submit(priority: -1)
        let worker = h.register(capacity: 1)
        var order: [TaskID] = []
        for _ in 0..<5 {
            let taken = h.take(worker)
            #expect(taken.count == 1)
            order += taken
            h.succeed(worker, taken[0])
        }
        #expect(order == [high, mid1, mid2, low1, low2])
        h.expectConsistent()
    }

    @Test func tasksOfAFunctionNoCurrentWorkerOffersWaitWithoutBlockingOthers() throws {
        var h = Harness()
        let worker = h.register(["g"])
        let f = try h.submit("f", priority: 10)
        let g = try h.submit("g")
        #expect(h.take(worker) == [g])
        #expect(h.state(f) == .pending)
    }

    @Test func registrationIsValidated() {
        var h = Harness()
        #expect(throws: SchedulerError.self) {
            try h.apply { (core, now, effects) throws(SchedulerError) in
                try core.registerWorker(
                    WorkerRegistration(name: "x", functions: ["f"], capacity: 0), now: now, effects: &effects)
            }
        }
    }
}
