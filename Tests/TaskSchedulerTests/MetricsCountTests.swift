import Testing

@testable import TaskScheduler

/// What the core counts and measures for `/metrics`: per-function counts, retries by reason, cancel requests by
/// outcome, and the queue-wait, run and cancel-confirm durations of each transition.
@Suite struct MetricsCountTests {
    @Test func eachTransitionMeasuresItsDurationOnlyWhenObserved() throws {
        var h = Harness()
        h.core.observing = true
        let worker = h.register()
        h.advance(.seconds(1))
        let id = try h.submit()
        // Taken at once by the idle worker: no queue wait.
        #expect(h.observations == [.queueWait(.zero)])
        let queued = try h.submit()
        h.advance(.seconds(3))
        _ = h.take(worker)
        h.advance(.seconds(2))
        h.succeed(worker, id)
        // The run lasted from the hand-over to the result; the freed slot then took the second task, which had
        // waited for it since its submission.
        #expect(h.observations == [.queueWait(.zero), .run(.seconds(2)), .queueWait(.seconds(5))])
        _ = h.take(worker)
        h.advance(.seconds(1))
        _ = h.cancel(queued)
        h.advance(.milliseconds(250))
        h.confirm(worker, queued, .canceled)
        #expect(h.observations.suffix(2) == [.cancelConfirm(.milliseconds(250)), .run(.milliseconds(1_250))])

        var quiet = Harness()
        let other = quiet.register()
        let task = try quiet.submit()
        _ = quiet.take(other)
        quiet.succeed(other, task)
        #expect(quiet.observations.isEmpty, "nothing is measured (nor allocated) when nobody reads it")
    }

    @Test func countsPerFunctionRetriesByReasonAndCancelsByOutcome() throws {
        var h = Harness()
        let worker = h.register(["f"], capacity: 3, lease: .seconds(10))
        let ok = try h.submit("f")
        let bad = try h.submit("f")
        let dies = try h.submit("f")
        _ = h.take(worker)
        h.succeed(worker, ok)
        _ = try h.exchange(worker, results: [WorkerResult(taskID: bad, outcome: .failure(message: "no"))])
        h.removeWorker(worker, .died("test"))
        #expect(h.core.counters.retriesWorkerDied == 1)
        let second = h.register(["f"], lease: .seconds(10))
        _ = h.take(second)
        h.removeWorker(second, .left)
        #expect(h.core.counters.retriesWorkerLeft == 1)
        #expect(h.state(dies) == .pending)

        let pendingG = try h.submit("g")
        _ = h.cancel(pendingG)
        _ = h.cancel(ok)
        _ = h.cancel(TaskID(rawValue: 999_999))
        let third = h.register(["f"])
        _ = h.take(third)
        _ = h.cancel(dies)
        _ = h.cancel(dies)
        let cancels = h.core.counters.cancelRequests
        #expect(cancels.canceled == 1 && cancels.alreadyFinished == 1 && cancels.notFound == 1)
        #expect(cancels.forwarded == 1 && cancels.inProgress == 1)

        let snapshot = h.core.metricsSnapshot
        let f = try #require(snapshot.functions.first { $0.name == "f" }?.counts)
        // Live counts too: the task whose cancel was forwarded is still canceling.
        #expect(f == FunctionCounts(canceling: 1, submitted: 3, succeeded: 1, failed: 1, canceled: 0))
        let g = try #require(snapshot.functions.first { $0.name == "g" }?.counts)
        #expect(g == FunctionCounts(submitted: 1, succeeded: 0, failed: 0, canceled: 1))
        h.expectConsistent()
    }

    @Test func theOldestPendingTaskIsFoundAcrossPrioritiesAndFunctions() throws {
        var h = Harness()
        #expect(h.core.metricsSnapshot.oldestPendingSince == nil)
        let start = h.now
        let low = try h.submit("f", priority: -5)
        h.advance(.seconds(1))
        try h.submit("g", priority: 10)
        h.advance(.seconds(1))
        try h.submit("f", priority: 10)
        #expect(h.core.metricsSnapshot.oldestPendingSince == start, "the low-priority task has waited longest")
        _ = h.cancel(low)
        #expect(h.core.metricsSnapshot.oldestPendingSince == start + .seconds(1), "a cancelled entry is skipped")
    }
}
