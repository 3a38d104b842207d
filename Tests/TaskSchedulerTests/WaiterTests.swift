import Testing

@testable import TaskScheduler

@Suite struct WaiterTests {
    @Test func terminalWaiterIsReleasedOnceWhenTheTaskFinishes() throws {
        var h = Harness()
        let worker = h.register()
        let id = try h.submit()
        let waiter = h.wait(.terminal(id)).parkedID!
        _ = h.take(worker)
        #expect(h.released[waiter] == nil)
        h.succeed(worker, id, result: "7")
        #expect(h.released[waiter]?.lookup?.record?.result == Payload(json: "7"))
        h.advance(.seconds(60))
        #expect(h.released.count == 1)
        h.expectConsistent()
    }

    @Test func waiterIsReleasedAtItsDeadlineWithTheCurrentState() throws {
        var h = Harness()
        let id = try h.submit()
        let waiter = h.wait(.terminal(id), timeout: .seconds(5)).parkedID!
        h.advance(.seconds(4))
        #expect(h.released[waiter] == nil)
        h.advance(.seconds(1))
        #expect(h.released[waiter]?.lookup?.record?.state == .pending)
        #expect(h.record(id).waiters.isEmpty)
        h.expectConsistent()
    }

    @Test func changeWaiterWakesOnAnyChangeAndAnswersAtOnceIfAlreadyChanged() throws {
        var h = Harness()
        let id = try h.submit()
        let version = h.record(id).version
        let waiter = h.wait(.changed(id, after: version)).parkedID!
        let worker = h.register()
        #expect(h.released[waiter]?.lookup?.record?.state == .running)
        guard case .ready(let result) = h.wait(.changed(id, after: version)) else {
            Issue.record("should answer at once")
            return
        }
        #expect(result.lookup?.record?.state == .running)
        _ = worker
    }

    @Test func unknownAndExpiredTasksAnswerAtOnce() throws {
        var h = Harness { $0.resultTTL = .seconds(1) }
        guard case .ready(.task(.notFound)) = h.wait(.terminal(TaskID(rawValue: 5))) else {
            Issue.record("unknown should answer at once")
            return
        }
        let id = try h.submit()
        _ = h.cancel(id)
        h.advance(.seconds(2))
        guard case .ready(.task(.expired)) = h.wait(.changed(id, after: 0)) else {
            Issue.record("expired should answer at once")
            return
        }
    }

    @Test func anyWaiterWakesAtTheFirstFinishedTaskAndDetachesFromTheRest() throws {
        var h = Harness()
        let a = try h.submit()
        let b = try h.submit()
        let waiter = h.wait(.tasks([a, b, a], mode: .any)).parkedID!
        _ = h.cancel(b)
        let lookups = h.released[waiter]!.lookups
        #expect(lookups.count == 3)
        #expect(lookups.map { $0.record?.state } == [.pending, .canceled, .pending])
        #expect(h.record(a).waiters.isEmpty)
        h.expectConsistent()
    }

    @Test func allWaiterWakesAfterTheLastFinishedTask() throws {
        var h = Harness()
        let ids = try (0..<4).map { _ throws(SchedulerError) in try h.submit() }
        let waiter = h.wait(.tasks(ids + [TaskID(rawValue: 999)], mode: .all)).parkedID!
        for id in ids.dropLast() { _ = h.cancel(id) }
        #expect(h.released[waiter] == nil)
        _ = h.cancel(ids.last!)
        let lookups = h.released[waiter]!.lookups
        #expect(lookups.prefix(4).allSatisfy { $0.record?.state == .canceled })
        guard case .notFound = lookups[4] else { Issue.record("unknown id should be notFound"); return }
    }

    @Test func removedWaiterAnswersWithTheCurrentStateAndIsNeverReleasedAgain() throws {
        var h = Harness()
        let id = try h.submit()
        let waiter = h.wait(.terminal(id)).parkedID!
        let result = h.core.removeWaiter(waiter)
        #expect(result?.lookup?.record?.state == .pending)
        #expect(h.core.removeWaiter(waiter) == nil)
        _ = h.cancel(id)
        #expect(h.released[waiter] == nil)
        h.expectConsistent()
    }

    @Test func drainReleasesEveryWaiter() throws {
        var h = Harness()
        let id = try h.submit()
        let waiters = (0..<5).map { _ in h.wait(.terminal(id)).parkedID! }
        h.apply { core, _, effects in core.releaseAllWaiters(effects: &effects) }
        #expect(waiters.allSatisfy { h.released[$0] != nil })
        #expect(h.core.parkedWaiters == 0)
    }

    @Test func timersOfReleasedWaitersDoNotPileUp() throws {
        var h = Harness()
        let worker = h.register(capacity: 4)
        for _ in 0..<20_000 {
            let id = try h.submit()
            _ = h.wait(.terminal(id), timeout: .seconds(3600))
            for taken in h.take(worker) { h.succeed(worker, taken) }
        }
        #expect(h.core.timers.count < 10_000)
        h.expectConsistent()
    }
}
