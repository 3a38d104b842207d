import Testing

@testable import TaskScheduler

/// What the core publishes for those following the work (`Effects.published`): nothing unless asked, and then each
/// task change and each worker's arrival and departure, in order.
@Suite struct PublishTests {
    func describe(_ change: PublishedChange) -> String {
        switch change {
        case .task(let record):
            "task \(record.id.rawValue) v\(record.version) \(record.state.rawValue) a\(record.attempt)"
        case .workerJoined(let worker): "joined \(worker.id.rawValue) \(worker.functions) x\(worker.capacity)"
        case .workerLeft(let worker, .left): "left \(worker.id.rawValue)"
        case .workerLeft(let worker, .died): "died \(worker.id.rawValue)"
        }
    }

    @Test func nothingIsPublishedUnlessAsked() throws {
        var h = Harness()
        let worker = h.register()
        try h.submit()
        h.removeWorker(worker, .left)
        #expect(h.published.isEmpty)
    }

    @Test func whileNotPublishingChangesAreOnlyCounted() throws {
        var h = Harness()
        let worker = h.register(["f"], capacity: 1, lease: .seconds(10))
        let id = try h.submit("f")
        _ = try h.exchange(worker)
        try h.exchange(worker, results: [WorkerResult(taskID: id, outcome: .success(.null))], max: 0)
        #expect(h.published.isEmpty)
        // Joined, created, running, succeeded.
        #expect(h.core.unpublished == 4)
        h.core.publishing = true
        try h.submit("f")
        #expect(h.core.unpublished == 4, "a published change is not counted as passed over")
        #expect(h.published.map(describe).first == "task 2 v1 pending a1")
    }

    /// The scheduler publishes only between `setPublishing(true)` and `setPublishing(false)`, and each call says how
    /// many changes were passed over since the one before.
    @Test func theSchedulerPublishesWhileSwitchedOn() throws {
        let scheduler = Scheduler(logger: quietLogger)
        scheduler.declareFunction("f")
        let sink = Shared<[String]>([])
        let describe = describe
        scheduler.publish(to: { changes in sink.withLock { $0 += changes.map(describe) } })
        _ = try scheduler.submit(SubmitRequest(function: "f", args: .null))
        #expect(sink.current.isEmpty, "attaching a sink does not turn publishing on")
        #expect(scheduler.setPublishing(true) == 1)
        _ = try scheduler.submit(SubmitRequest(function: "f", args: .null))
        #expect(sink.current.map { $0.split(separator: " ").dropFirst(2).joined(separator: " ") } == ["v1 pending a1"])
        #expect(scheduler.setPublishing(false) == 0)
        _ = try scheduler.submit(SubmitRequest(function: "f", args: .null))
        _ = try scheduler.submit(SubmitRequest(function: "f", args: .null))
        #expect(sink.current.count == 1)
        #expect(scheduler.setPublishing(true) == 2)
    }

    @Test func aTaskAndItsWorkersStoryInOrder() throws {
        var h = Harness()
        h.core.publishing = true
        let id = try h.submit("f")
        let worker = h.register(["f"], capacity: 2, lease: .seconds(10))
        let mail = try h.exchange(worker)
        #expect(mail.assignments.map(\.taskID) == [id])
        try h.exchange(worker, results: [WorkerResult(taskID: id, outcome: .success(.null))], max: 0)
        try h.submit("f")
        _ = try h.exchange(worker)
        h.removeWorker(worker, .died("lease"))
        #expect(
            h.published.map(describe) == [
                "task 1 v1 pending a1", "joined 1 [\"f\"] x2", "task 1 v2 running a1", "task 1 v3 succeeded a1",
                "task 2 v1 pending a1", "task 2 v2 running a1", "died 1", "task 2 v3 pending a2",
            ])
        if case .workerJoined(let summary) = h.published[1] { #expect(summary.remote) }
    }
}
