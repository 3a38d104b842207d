import Testing

@testable import TaskScheduler

/// Remote workers' long-polls in the core: parking, answering, superseding, leases and drain.
@Suite struct PollTests {
    func parked(_ start: PollStart) -> WaiterID? {
        if case .parked(let waiter) = start { return waiter }
        return nil
    }

    func mail(_ start: PollStart) -> WorkerMail? {
        if case .answered(let mail) = start { return mail }
        return nil
    }

    @Test func aPollWithMailAnswersAtOnce() throws {
        var h = Harness()
        let worker = h.register(capacity: 2)
        let id = try h.submit()
        let answer = try #require(mail(try h.poll(worker, PollRequest(wait: .seconds(5)))))
        #expect(answer.assignments.map(\.taskID) == [id])
        h.expectConsistent()
    }

    @Test func aParkedPollIsAnsweredByTheFirstTaskAssignedToTheWorker() throws {
        var h = Harness()
        let worker = h.register(capacity: 2)
        let waiter = try #require(parked(try h.poll(worker, PollRequest(wait: .seconds(5)))))
        #expect(h.released.isEmpty)
        let a = try h.submit()
        guard case .mail(let answer) = h.answer(waiter) else {
            Issue.record("the parked poll was not answered")
            return
        }
        #expect(answer.assignments.map(\.taskID) == [a])
        #expect(h.core.parkedWaiters == 0)
        h.expectConsistent()
    }

    @Test func aBatchSubmittedInOneEventReachesTheParkedPollInOneAnswer() throws {
        var h = Harness()
        let worker = h.register(capacity: 3)
        let waiter = try #require(parked(try h.poll(worker, PollRequest(wait: .seconds(5)))))
        let requests = (0..<3).map { SubmitRequest(function: "f", args: Payload(json: "\($0)"), idempotencyKey: nil) }
        let ids = try h.apply { (core, now, effects) throws(SchedulerError) in
            try core.submitBatch(requests, now: now, effects: &effects).map(\.taskID)
        }
        guard case .mail(let answer) = h.answer(waiter) else {
            Issue.record("the parked poll was not answered")
            return
        }
        #expect(answer.assignments.map(\.taskID) == ids)
    }

    @Test func theParkedPollHonoursMaxAssignmentsAndTheRestWaits() throws {
        var h = Harness()
        let worker = h.register(capacity: 3)
        let waiter = try #require(parked(try h.poll(worker, PollRequest(maxAssignments: 1, wait: .seconds(5)))))
        let a = try h.submit()
        let b = try h.submit()
        guard case .mail(let answer) = h.answer(waiter) else {
            Issue.record("the parked poll was not answered")
            return
        }
        #expect(answer.assignments.map(\.taskID) == [a])
        let next = try #require(mail(try h.poll(worker, PollRequest(wait: .seconds(5)))))
        #expect(next.assignments.map(\.taskID) == [b])
    }

    @Test func aParkedPollIsAnsweredEmptyAtItsDeadline() throws {
        var h = Harness()
        let worker = h.register()
        let waiter = try #require(parked(try h.poll(worker, PollRequest(wait: .seconds(2)))))
        h.advance(.seconds(1))
        #expect(h.answer(waiter) == nil)
        h.advance(.seconds(1))
        guard case .mail(let answer) = h.answer(waiter) else {
            Issue.record("the parked poll was not answered at its deadline")
            return
        }
        #expect(answer.assignments.isEmpty && answer.cancelRequests.isEmpty)
        h.expectConsistent()
    }

    @Test func aNewPollSupersedesTheParkedOneWhichGetsOnlyItsAcks() throws {
        var h = Harness()
        let worker = h.register(capacity: 2)
        let a = try h.submit()
        #expect(h.take(worker) == [a])
        let first = try #require(
            parked(
                try h.poll(
                    worker,
                    PollRequest(
                        results: [WorkerResult(taskID: a, outcome: .success(.null))], wait: .seconds(5)))))
        let b = try h.submit()
        // `b` went to the parked poll; a newer poll finds nothing and parks in its place.
        guard case .mail(let firstAnswer) = h.answer(first) else {
            Issue.record("the first poll was not answered")
            return
        }
        #expect(firstAnswer.resultAcks == [.accepted])
        #expect(firstAnswer.assignments.map(\.taskID) == [b])
        let second = try #require(parked(try h.poll(worker, PollRequest(wait: .seconds(5)))))
        let third = try #require(parked(try h.poll(worker, PollRequest(wait: .seconds(5)))))
        guard case .mail(let superseded) = h.answer(second) else {
            Issue.record("the superseded poll was not answered")
            return
        }
        #expect(superseded.assignments.isEmpty)
        let c = try h.submit()
        guard case .mail(let thirdAnswer) = h.answer(third) else {
            Issue.record("the newest poll was not answered")
            return
        }
        #expect(thirdAnswer.assignments.map(\.taskID) == [c])
        h.expectConsistent()
    }

    @Test func aCancelWakesTheParkedPollAndTheConfirmInTheNextPollSettlesIt() throws {
        var h = Harness()
        let worker = h.register()
        let id = try h.submit()
        #expect(h.take(worker) == [id])
        let waiter = try #require(parked(try h.poll(worker, PollRequest(wait: .seconds(5)))))
        guard case .inProgress = h.cancel(id) else {
            Issue.record("the cancel of a running task should wait for the worker")
            return
        }
        guard case .mail(let answer) = h.answer(waiter) else {
            Issue.record("the cancel did not wake the parked poll")
            return
        }
        #expect(answer.cancelRequests == [id])
        let confirm = try #require(
            mail(
                try h.poll(worker, PollRequest(confirms: [WorkerConfirm(taskID: id, kind: .canceled)], wait: .zero))))
        #expect(confirm.confirmAcks == [.accepted])
        #expect(h.state(id) == .canceled)
        h.expectConsistent()
    }

    @Test func aParkedPollKeepsTheLeaseAndTheLeaseRunsAgainFromTheAnswer() throws {
        var h = Harness()
        let worker = h.register(lease: .seconds(2))
        let id = try h.submit()
        #expect(h.take(worker) == [id])
        let waiter = try #require(parked(try h.poll(worker, PollRequest(wait: .seconds(10)))))
        h.advance(.seconds(9))
        #expect(h.core.worker(worker) != nil)
        h.advance(.seconds(1))
        #expect(h.answer(waiter) != nil)
        h.advance(.seconds(1))
        #expect(h.core.worker(worker) != nil)
        h.advance(.seconds(1))
        #expect(h.core.worker(worker) == nil)
        #expect(h.state(id) == .pending)
        #expect(h.record(id).attempt == 2)
        h.expectConsistent()
    }

    @Test func aWorkerRemovedWhileItsPollIsParkedGetsWorkerGone() throws {
        var h = Harness()
        let worker = h.register()
        let waiter = try #require(parked(try h.poll(worker, PollRequest(wait: .seconds(10)))))
        h.removeWorker(worker, .left)
        guard case .workerGone = h.answer(waiter) else {
            Issue.record("the parked poll of a removed worker should answer workerGone")
            return
        }
        h.expectConsistent()
    }

    @Test func aStaleWorkersLateResultIsRefusedAndChangesNothing() throws {
        var h = Harness()
        let stale = h.register(lease: .seconds(1))
        let id = try h.submit()
        #expect(h.take(stale) == [id])
        h.advance(.seconds(2))
        #expect(h.core.worker(stale) == nil)
        let fresh = h.register()
        #expect(h.take(fresh) == [id])
        let before = h.record(id)
        do {
            _ = try h.poll(stale, PollRequest(results: [WorkerResult(taskID: id, outcome: .success(.null))]))
            Issue.record("a stale worker's poll must be refused")
        } catch {
            #expect(error.code == .workerGone)
        }
        let after = h.record(id)
        #expect(after.state == .running && after.version == before.version && after.attempt == 2)
        #expect(h.succeed(fresh, id) == .accepted)
        #expect(h.record(id).state == .succeeded)
        h.expectConsistent()
    }

    @Test func aWorkerThatNeverExistedIsUnknownNotGone() throws {
        var h = Harness()
        do {
            _ = try h.poll(WorkerID(rawValue: 42), PollRequest())
            Issue.record("an unknown worker's poll must be refused")
        } catch {
            #expect(error.code == .unknownWorker)
        }
    }

    @Test func drainReturnsUndeliveredTasksWithTheirAttemptAndStopsAssigning() throws {
        var h = Harness()
        let draining = h.register(capacity: 2)
        let a = try h.submit()
        let b = try h.submit()
        // `a` is handed over; `b` waits in the outbox when the worker says it drains.
        let first = try #require(mail(try h.poll(draining, PollRequest(maxAssignments: 1))))
        #expect(first.assignments.map(\.taskID) == [a])
        let drained = try #require(mail(try h.poll(draining, PollRequest(drain: true))))
        #expect(drained.assignments.isEmpty)
        #expect(h.state(b) == .pending && h.record(b).attempt == 1)
        let c = try h.submit()
        #expect(h.core.worker(draining)!.held == [a])
        let other = h.register(capacity: 2)
        #expect(h.take(other) == [b, c])
        #expect(h.succeed(draining, a) == .accepted)
        #expect(h.take(draining).isEmpty)
        h.expectConsistent()
    }

    @Test func aTaskReturnedByADrainTimesOutFromItsNewStartNotItsFirst() throws {
        var h = Harness()
        let draining = h.register(capacity: 2)
        _ = try h.submit()
        let id = try h.submit(timeout: .seconds(10))
        _ = try h.poll(draining, PollRequest(maxAssignments: 1))
        h.advance(.seconds(6))
        _ = try h.poll(draining, PollRequest(drain: true))
        let other = h.register()
        #expect(h.take(other) == [id])
        h.advance(.seconds(5))
        #expect(h.state(id) == .running)
        h.advance(.seconds(5))
        #expect(h.state(id) == .failed)
        #expect(h.record(id).error?.code == .timeout)
    }

    @Test func leavingRequeuesAnUndeliveredTaskWithoutSpendingARetry() throws {
        var h = Harness()
        let worker = h.register()
        let id = try h.submit(maxRetries: 0)
        h.removeWorker(worker, .died("test"))
        #expect(h.state(id) == .pending)
        #expect(h.record(id).attempt == 1)
    }

    @Test func aTaskTheWorkerDoesNotListIsTakenBackOnlyOnceItsHandoverIsOldEnough() throws {
        var h = Harness()
        let worker = h.register(capacity: 2)
        let lost = try h.submit()
        let kept = try h.submit()
        #expect(h.take(worker) == [lost, kept])
        h.advance(.seconds(5))
        _ = try h.poll(worker, PollRequest(running: [kept], reconcileAfter: .seconds(10)))
        #expect(h.record(lost).holder == worker, "a recent handover may still be on its way")
        h.advance(.seconds(6))
        let version = h.record(kept).version
        let answer = try #require(mail(try h.poll(worker, PollRequest(running: [kept], reconcileAfter: .seconds(10)))))
        #expect(answer.assignments.isEmpty)
        #expect(h.core.counters.reconciled == 1)
        #expect(h.record(kept).version == version, "a listed task is untouched")
        // Taken back with its attempt unchanged, and handed out again (here to the same worker, which has room).
        #expect(h.record(lost).attempt == 1)
        #expect(h.take(worker) == [lost])
        #expect(h.succeed(worker, lost) == .accepted)
        h.expectConsistent()
    }

    @Test func aCancelingTaskTheWorkerDoesNotListIsCanceled() throws {
        var h = Harness()
        let worker = h.register()
        let id = try h.submit()
        #expect(h.take(worker) == [id])
        guard case .inProgress = h.cancel(id) else {
            Issue.record("the cancel of a running task should wait for the worker")
            return
        }
        h.advance(.seconds(60))
        _ = try h.poll(worker, PollRequest(running: [], reconcileAfter: .seconds(10)))
        #expect(h.state(id) == .canceled)
        #expect(h.record(id).cancel?.confirm == .cancelNotFound)
        #expect(h.core.worker(worker)!.held.isEmpty)
        h.expectConsistent()
    }

    @Test func withoutARunningListNothingIsReconciled() throws {
        var h = Harness()
        let worker = h.register()
        let id = try h.submit()
        #expect(h.take(worker) == [id])
        h.advance(.seconds(600))
        _ = try h.poll(worker, PollRequest())
        #expect(h.state(id) == .running && h.core.counters.reconciled == 0)
    }
}
