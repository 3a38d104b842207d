import Testing

@testable import TaskScheduler

/// Where a task's time went (its attempts) and the log lines its workers sent, kept with the task.
@Suite struct ProfileTests {
    @Test func eachAssignmentIsAnAttemptWithItsWaitItsRunAndHowItEnded() throws {
        var h = Harness()
        let id = try h.submit(maxRetries: 2)
        h.advance(.seconds(2))
        let first = h.register()
        #expect(h.take(first) == [id])
        h.advance(.seconds(3))
        h.removeWorker(first, .died("lease"))
        h.advance(.seconds(1))
        let second = h.register()
        #expect(h.take(second) == [id])
        h.advance(.seconds(5))
        h.succeed(second, id)
        let attempts = h.record(id).attempts
        #expect(attempts.count == 2)
        #expect(attempts.map(\.attempt) == [1, 2] && attempts.map(\.worker) == [first, second])
        #expect(attempts.map(\.workerName) == ["test", "test"])
        #expect(attempts[0].queueWait == .seconds(2) && attempts[0].runTime(now: h.now) == .seconds(3))
        #expect(attempts[0].outcome == "requeued")
        #expect(attempts[1].queueWait == .seconds(1) && attempts[1].runTime(now: h.now) == .seconds(5))
        #expect(attempts[1].outcome == "succeeded" && attempts[1].endedAt == h.now)
        h.expectConsistent()
    }

    @Test func aFailureNamesItsCodeAndACancelItsOutcome() throws {
        var h = Harness()
        let worker = h.register(capacity: 2)
        let timesOut = try h.submit(timeout: .seconds(1))
        let canceled = try h.submit()
        #expect(h.take(worker).count == 2)
        h.advance(.seconds(2))
        #expect(h.record(timesOut).attempts.last?.outcome == "timeout")
        _ = h.cancel(canceled)
        #expect(h.record(canceled).attempts.last?.outcome == nil)
        h.confirm(worker, canceled, .canceled)
        #expect(h.record(canceled).attempts.last?.outcome == "canceled")
    }

    @Test func logsSentWithAResultAreKeptWithTheTaskAsATail() throws {
        var h = Harness { $0.logs.maxLines = 4 }
        let id = try h.submit()
        let worker = h.register()
        #expect(h.take(worker) == [id])
        let lines = ["one", "two\nthree", "four", "five\r\n"]
        try h.exchange(
            worker, results: [WorkerResult(taskID: id, outcome: .failure(message: "boom"), logs: lines)], max: 0)
        let record = h.record(id)
        #expect(record.logs.map(\.text) == ["two", "three", "four", "five"])
        #expect(record.logsDropped == 1 && record.logs.allSatisfy { $0.attempt == 1 && $0.at == h.now })
        h.expectConsistent()
    }

    @Test func logsAreBoundedInBytesAndLinesAreCut() throws {
        var h = Harness {
            $0.logs.maxBytes = 100
            $0.logs.maxLineBytes = 30
        }
        let id = try h.submit()
        let worker = h.register()
        _ = h.take(worker)
        let lines = (0..<10).map { String(repeating: "\($0)", count: 50) }
        try h.exchange(worker, results: [WorkerResult(taskID: id, outcome: .success(.null), logs: lines)], max: 0)
        let record = h.record(id)
        #expect(record.logs.allSatisfy { $0.text.utf8.count == 30 })
        #expect(record.logs.map { $0.text.first! } == ["7", "8", "9"] && record.logsDropped == 7)
    }

    @Test func aRefusedReportLeavesNoLog() throws {
        var h = Harness()
        let id = try h.submit()
        let worker = h.register()
        let other = h.register()
        _ = h.take(worker)
        try h.exchange(other, results: [WorkerResult(taskID: id, outcome: .success(.null), logs: ["x"])], max: 0)
        #expect(h.record(id).logs.isEmpty && h.state(id) == .running)
    }
}
