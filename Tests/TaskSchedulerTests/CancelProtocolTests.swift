import Testing

@testable import TaskScheduler

/// One test per row of SPEC.md section 3, on the core alone.
@Suite struct CancelProtocolTests {
    @Test func pendingTaskIsCanceledByTheCoreWithoutAWorkerRoundTrip() throws {
        var h = Harness()
        let id = try h.submit()
        guard case .canceled(let record) = h.cancel(id) else { Issue.record("expected canceled"); return }
        #expect(record.state == .canceled)
        #expect(record.cancel?.confirm == .canceled)
        #expect(h.signals.isEmpty)
        #expect(h.core.stats.queued == 0)
        // A worker registering later gets nothing.
        let worker = h.register()
        #expect(h.take(worker).isEmpty)
        h.expectConsistent()
    }

    @Test func runningTaskGoesCancelingAndTheWorkersConfirmCancelsIt() throws {
        var h = Harness()
        let worker = h.register()
        let id = try h.submit()
        #expect(h.take(worker) == [id])
        guard case .inProgress(let canceling) = h.cancel(id) else { Issue.record("expected inProgress"); return }
        #expect(canceling.state == .canceling)
        let waiter = h.wait(.changed(id, after: canceling.version)).parkedID!
        let mail = try h.exchange(worker, max: 0)
        #expect(mail.cancelRequests == [id])
        #expect(h.confirm(worker, id, .canceled) == .accepted)
        #expect(h.state(id) == .canceled)
        #expect(h.record(id).cancel?.workerFinished == false)
        guard case .canceled = CancelOutcome(settled: h.released[waiter]!.lookup!) else {
            Issue.record("the cancel caller should hear canceled")
            return
        }
        #expect(h.core.worker(worker)!.load == 0)
        h.expectConsistent()
    }

    @Test func resultArrivingBeforeTheConfirmIsDiscardedAndRecorded() throws {
        var h = Harness()
        let worker = h.register()
        let id = try h.submit()
        _ = h.take(worker)
        _ = h.cancel(id)
        #expect(h.succeed(worker, id) == .accepted)
        let record = h.record(id)
        #expect(record.state == .canceled)
        #expect(record.result == nil)
        #expect(record.cancel?.workerFinished == true)
        #expect(record.cancel?.confirm == .canceled)
        // The worker's late confirm changes nothing.
        #expect(h.confirm(worker, id, .cancelNotFound) == .notHolder)
        #expect(h.record(id).version == record.version)
        h.expectConsistent()
    }

    @Test func workerThatCannotStopTheTaskAnswersCancelFailedAndTheResultIsDeliveredNormally() throws {
        var h = Harness()
        let worker = h.register()
        let id = try h.submit()
        _ = h.take(worker)
        guard case .inProgress(let canceling) = h.cancel(id) else { Issue.record("expected inProgress"); return }
        let waiter = h.wait(.changed(id, after: canceling.version)).parkedID!
        #expect(h.confirm(worker, id, .cancelFailed) == .accepted)
        #expect(h.state(id) == .running)
        guard case .cancelFailed(let seen) = CancelOutcome(settled: h.released[waiter]!.lookup!) else {
            Issue.record("the cancel caller should hear cancel_failed")
            return
        }
        #expect(seen.state == .running)
        #expect(h.succeed(worker, id, result: "42") == .accepted)
        #expect(h.record(id).state == .succeeded)
        #expect(h.record(id).result == Payload(json: "42"))
        #expect(h.record(id).cancel?.confirm == .cancelFailed)
        h.expectConsistent()
    }

    @Test func workerDyingWhileCancelingCancelsTheTask() throws {
        var h = Harness()
        let worker = h.register()
        let id = try h.submit()
        _ = h.take(worker)
        _ = h.cancel(id)
        h.removeWorker(worker)
        #expect(h.state(id) == .canceled)
        #expect(h.record(id).attempt == 1)
        h.expectConsistent()
    }

    @Test func cancelingWithoutAConfirmStaysCancelingPastTheCallersWait() throws {
        var h = Harness()
        let worker = h.register()
        let id = try h.submit()
        _ = h.take(worker)
        guard case .inProgress(let canceling) = h.cancel(id) else { Issue.record("expected inProgress"); return }
        let waiter = h.wait(.changed(id, after: canceling.version), timeout: .seconds(2)).parkedID!
        h.advance(.seconds(3))
        guard case .stillCanceling(let record) = CancelOutcome(settled: h.released[waiter]!.lookup!) else {
            Issue.record("the cancel caller should hear still canceling (202)")
            return
        }
        #expect(record.state == .canceling)
        // A second cancel does not resend the request.
        guard case .inProgress = h.cancel(id) else { Issue.record("expected inProgress"); return }
        #expect(try h.exchange(worker, max: 0).cancelRequests == [id])
        #expect(try h.exchange(worker, max: 0).cancelRequests == [])
        h.expectConsistent()
    }

    @Test(arguments: [true, false])
    func finishedTaskAnswersCancelFailedWithTheFullRecord(succeeded: Bool) throws {
        var h = Harness()
        let worker = h.register()
        let id = try h.submit()
        _ = h.take(worker)
        let outcome: WorkerOutcome = succeeded ? .success(Payload(json: "\"done\"")) : .failure(message: "boom")
        try h.exchange(worker, results: [WorkerResult(taskID: id, outcome: outcome)], max: 0)
        let before = h.record(id)
        guard case .alreadyFinished(let record) = h.cancel(id) else { Issue.record("expected finished"); return }
        #expect(record.state == (succeeded ? .succeeded : .failed))
        #expect(record.result == (succeeded ? Payload(json: "\"done\"") : nil))
        #expect(record.error?.code == (succeeded ? nil : .functionError))
        #expect(h.record(id).version == before.version)
        guard case .cancelFailed = CancelOutcome(h.cancel(id))! else { Issue.record("expected 409"); return }
    }

    @Test func cancelOfACanceledTaskIsIdempotent() throws {
        var h = Harness()
        let id = try h.submit()
        _ = h.cancel(id)
        let version = h.record(id).version
        for _ in 0..<3 {
            guard case .canceled(let record) = h.cancel(id) else { Issue.record("expected canceled"); return }
            #expect(record.version == version)
        }
    }

    @Test func cancelOfAnUnknownTaskIsNotFound() {
        var h = Harness()
        guard case .notFound = h.cancel(TaskID(rawValue: 99)) else { Issue.record("expected notFound"); return }
        #expect(CancelOutcome(h.cancel(TaskID(rawValue: 99)))!.confirm == .cancelNotFound)
    }

    @Test func cancelOfAnExpiredTaskIsExpired() throws {
        var h = Harness { $0.resultTTL = .seconds(10) }
        let id = try h.submit()
        _ = h.cancel(id)
        h.advance(.seconds(11))
        guard case .expired = h.cancel(id) else { Issue.record("expected expired"); return }
    }

    @Test func taskAssignedButNotYetHandedOverIsCanceledWithoutTheWorker() throws {
        var h = Harness()
        let worker = h.register()
        let id = try h.submit()
        #expect(h.state(id) == .running)
        guard case .canceled = h.cancel(id) else { Issue.record("expected canceled at once"); return }
        let mail = try h.exchange(worker)
        #expect(mail.assignments.isEmpty)
        #expect(mail.cancelRequests.isEmpty)
        #expect(h.core.worker(worker)!.load == 0)
        h.expectConsistent()
    }

    @Test func illegalTransitionsAndStrayConfirmsAreIgnoredNotFatal() throws {
        var h = Harness()
        let worker = h.register()
        let id = try h.submit()
        _ = h.take(worker)
        // A confirm with no cancel pending changes nothing.
        let before = h.record(id).version
        #expect(h.confirm(worker, id, .canceled) == .accepted)
        #expect(h.record(id).state == .running)
        #expect(h.record(id).version == before)
        h.succeed(worker, id)
        // The state machine refuses leaving a terminal state, and counts it.
        let moved = h.apply { core, now, effects in core.transition(id, to: .running, now: now, effects: &effects) }
        #expect(!moved)
        #expect(h.record(id).state == .succeeded)
        #expect(h.core.counters.illegalTransitions == 1)
        h.expectConsistent()
    }

    @Test func workerAnsweringNotFoundWhileCancelingCancelsTheTask() throws {
        var h = Harness()
        let worker = h.register()
        let id = try h.submit()
        _ = h.take(worker)
        _ = h.cancel(id)
        #expect(h.confirm(worker, id, .cancelNotFound) == .accepted)
        #expect(h.state(id) == .canceled)
        #expect(h.record(id).cancel?.confirm == .cancelNotFound)
        h.expectConsistent()
    }
}
