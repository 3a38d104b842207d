import Testing

@testable import TaskScheduler

@Suite struct AdmissionAndRetentionTests {
    @Test func finishedTasksAreEvictedAfterTheirTTLToATombstoneThatExpiresLater() throws {
        var h = Harness {
            $0.resultTTL = .seconds(60)
            $0.tombstoneTTL = .seconds(600)
        }
        let worker = h.register()
        let id = try h.submit()
        _ = h.take(worker)
        h.succeed(worker, id)
        #expect(h.record(id).expiresAt == h.now + .seconds(60))
        h.advance(.seconds(59))
        #expect(h.state(id) == .succeeded)
        h.advance(.seconds(2))
        guard case .expired = h.core.lookup(id) else { Issue.record("expected expired"); return }
        h.advance(.seconds(601))
        guard case .notFound = h.core.lookup(id) else { Issue.record("expected notFound"); return }
        h.expectConsistent()
    }

    @Test func theRetainedCountIsBoundedOldestFirst() throws {
        var h = Harness {
            $0.maxRetainedTasks = 3
            $0.maxTombstones = 2
        }
        var ids: [TaskID] = []
        for _ in 0..<6 {
            let id = try h.submit()
            _ = h.cancel(id)
            ids.append(id)
        }
        #expect(ids[3...].allSatisfy { h.state($0) == .canceled })
        guard case .notFound = h.core.lookup(ids[0]) else { Issue.record("tombstone should be dropped"); return }
        guard case .expired = h.core.lookup(ids[1]) else { Issue.record("expected expired"); return }
        guard case .expired = h.core.lookup(ids[2]) else { Issue.record("expected expired"); return }
        #expect(h.core.stats.tombstones == 2)
        h.expectConsistent()
    }

    @Test func theRetainedBytesAreBoundedOldestFirstAndTheNewestStays() throws {
        // Each record weighs 256 bytes plus its arguments and result, plus 64 and its worker's name ("test") for its
        // one attempt.
        var h = Harness { $0.maxRetainedBytes = 3_000 }
        let worker = h.register(capacity: 10)
        let big = "\"" + String(repeating: "x", count: 1_000) + "\""
        var ids: [TaskID] = []
        for _ in 0..<4 {
            let id = try h.submit(args: big)
            _ = h.take(worker)
            h.succeed(worker, id, result: "1")
            ids.append(id)
        }
        // 4 x (256 + 1002 + 1 + 68) = 5308 bytes: the two oldest had to go.
        guard case .expired = h.core.lookup(ids[0]) else { Issue.record("the oldest should be evicted"); return }
        guard case .expired = h.core.lookup(ids[1]) else { Issue.record("the second should be evicted"); return }
        #expect(h.state(ids[2]) == .succeeded)
        #expect(h.state(ids[3]) == .succeeded)
        #expect(h.core.finishedBytes == 2 * 1_327)
        // A record heavier than the whole bound still stays until the next one finishes.
        let huge = try h.submit(args: "\"" + String(repeating: "y", count: 5_000) + "\"")
        _ = h.take(worker)
        h.succeed(worker, huge)
        #expect(h.state(huge) == .succeeded)
        guard case .expired = h.core.lookup(ids[3]) else { Issue.record("all older ones go"); return }
        h.expectConsistent()
    }

    @Test func registrationsAreCappedAndRefusedWhole() throws {
        var h = Harness {
            $0.maxWorkers = 2
            $0.maxFunctions = 3
        }
        func register(_ name: String, _ functions: Set<String>) -> SchedulerError? {
            do {
                _ = try h.apply { (core, now, effects) throws(SchedulerError) in
                    try core.registerWorker(
                        WorkerRegistration(name: name, functions: functions, capacity: 1, lease: .seconds(10)),
                        now: now, effects: &effects)
                }
                return nil
            } catch {
                return error
            }
        }
        #expect(register("a", ["f", "g"]) == nil)
        #expect(register("b", ["h", "i"])?.code == .tooManyFunctions, "four names, three allowed")
        #expect(h.core.isKnownFunction("h") == false, "a refused registration teaches no name")
        #expect(register("line\nforged", ["f"])?.field == .name, "a control character would forge a log line")
        #expect(register(String(repeating: "n", count: 201), ["f"])?.field == .name)
        #expect(register("c", ["bad name"])?.field == .functions, "the submission rule applies to registrations")
        #expect(register("c", [String(repeating: "f", count: 129)])?.field == .functions)
        #expect(register("c", ["f", "h"]) == nil)
        #expect(register("d", ["f"])?.code == .tooManyWorkers)
        h.removeWorker(WorkerID(rawValue: h.core.firstWorkerID))
        #expect(register("d", ["f"]) == nil, "a worker that leaves makes room")
        h.expectConsistent()
    }

    @Test func sameIdempotencyKeyAndRequestGiveTheSameTask() throws {
        var h = Harness()
        let first = try h.submit(args: "{\"a\":1}", key: "k1")
        let second = try h.submit(args: "{\"a\":1}", key: "k1")
        #expect(first == second)
        #expect(h.core.stats.counters.submitted == 1)
    }

    @Test func sameIdempotencyKeyWithAnotherRequestIsAConflictAndCreatesNothing() throws {
        var h = Harness()
        try h.submit(args: "1", key: "k1")
        #expect {
            try h.submit(args: "2", key: "k1")
        } throws: { error in
            (error as? SchedulerError)?.code == .idempotencyConflict
        }
        #expect(throws: SchedulerError.self) { try h.submit(args: "1", priority: 3, key: "k1") }
        #expect(h.core.stats.counters.submitted == 1)
    }

    @Test func idempotencyKeysOutliveTheRecordAsLongAsTheTombstone() throws {
        var h = Harness {
            $0.resultTTL = .seconds(10)
            $0.tombstoneTTL = .seconds(100)
        }
        let id = try h.submit(key: "k")
        _ = h.cancel(id)
        h.advance(.seconds(11))
        let outcome = try h.apply { (core, now, effects) throws(SchedulerError) in
            try core.submit(
                SubmitRequest(function: "f", args: Payload(json: "1"), idempotencyKey: "k"), now: now,
                effects: &effects)
        }
        guard case .existing(.expired(let same)) = outcome, same == id else {
            Issue.record("expected the expired task, got \(outcome)")
            return
        }
        #expect(throws: SchedulerError.self) { try h.submit(args: "2", key: "k") }
        h.advance(.seconds(101))
        #expect(try h.submit(args: "2", key: "k") != id)
    }

    @Test func aFullQueueRejectsWithQueueFullAndCreatesNothing() throws {
        var h = Harness { $0.queueLimit = 2 }
        try h.submit()
        try h.submit()
        #expect {
            try h.submit()
        } throws: { error in
            (error as? SchedulerError)?.code == .queueFull
        }
        #expect(h.core.stats.counters.submitted == 2)
        #expect(h.core.stats.queued == 2)
        h.expectConsistent()
    }

    @Test func aBatchIsAllOrNothing() throws {
        var h = Harness { $0.queueLimit = 3 }
        let good = SubmitRequest(function: "f")
        var bad = good
        bad.priority = Int.max
        #expect {
            try h.apply { (core, now, effects) throws(SchedulerError) in
                try core.submitBatch([good, bad], now: now, effects: &effects)
            }
        } throws: { error in
            (error as? SchedulerError)?.field == .priority && (error as? SchedulerError)?.batchIndex == 1
        }
        #expect(throws: SchedulerError.self) {
            try h.apply { (core, now, effects) throws(SchedulerError) in
                try core.submitBatch(Array(repeating: good, count: 4), now: now, effects: &effects)
            }
        }
        #expect(h.core.stats.counters.submitted == 0)
        let outcomes = try h.apply { (core, now, effects) throws(SchedulerError) in
            try core.submitBatch(Array(repeating: good, count: 3), now: now, effects: &effects)
        }
        let ids = outcomes.map(\.taskID)
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == 3)
    }

    @Test(arguments: [
        (SubmitRequest(function: "nope"), "unknown_function", SchedulerError.Field.function),
        (SubmitRequest(function: ""), "invalid_argument", SchedulerError.Field.function),
        (SubmitRequest(function: "f x"), "invalid_argument", SchedulerError.Field.function),
        (SubmitRequest(function: "f", priority: 10_000_000), "invalid_argument", SchedulerError.Field.priority),
        (SubmitRequest(function: "f", timeout: .zero), "invalid_argument", SchedulerError.Field.timeout),
        (SubmitRequest(function: "f", maxRetries: -1), "invalid_argument", SchedulerError.Field.maxRetries),
        (
            SubmitRequest(function: "f", tags: Array(repeating: "t", count: 17)), "invalid_argument",
            SchedulerError.Field.tags
        ),
        (SubmitRequest(function: "f", idempotencyKey: ""), "invalid_argument", SchedulerError.Field.idempotencyKey),
    ])
    func invalidRequestsAreRejectedWithTheirField(request: SubmitRequest, code: String, field: SchedulerError.Field) {
        var h = Harness()
        #expect {
            try h.submit(request)
        } throws: { error in
            let error = error as? SchedulerError
            return error?.code.rawValue == code && error?.field == field
        }
        #expect(h.core.stats.counters.submitted == 0)
    }

    @Test func drainingRejectsNewTasks() {
        var h = Harness()
        h.core.stopAccepting()
        #expect(throws: SchedulerError.self) { try h.submit() }
    }

    @Test func memoryStaysBoundedUnderEndlessSubmission() throws {
        var h = Harness {
            $0.maxRetainedTasks = 100
            $0.maxTombstones = 200
        }
        let worker = h.register(capacity: 8)
        for round in 0..<200 {
            for index in 0..<25 { try h.submit(key: "key-\(round)-\(index)") }
            for id in h.take(worker) { h.succeed(worker, id) }
            while h.core.stats.queued > 0 {
                for id in h.take(worker) { h.succeed(worker, id) }
            }
        }
        let stats = h.core.stats
        #expect(stats.counters.submitted == 5000)
        let finished = stats.tasksByState.filter { $0.key.isTerminal }.values.reduce(0, +)
        let live = stats.tasksByState.filter { !$0.key.isTerminal }.values.reduce(0, +)
        #expect(finished == 100)
        #expect(live <= 8)
        #expect(stats.tombstones == 200)
        // A key lives as long as its task's record or tombstone.
        #expect(stats.idempotencyKeys == finished + live + stats.tombstones)
        #expect(h.core.pending.storedEntries == 0)
        h.expectConsistent()
    }

    @Test func cancelledPendingEntriesDoNotAccumulateInTheQueue() throws {
        var h = Harness { $0.queueLimit = 1_000_000 }
        for _ in 0..<5000 {
            let id = try h.submit()
            _ = h.cancel(id)
        }
        _ = try h.submit()
        #expect(h.core.pending.storedEntries < 2100)
        #expect(h.core.stats.queued == 1)
        h.expectConsistent()
    }
}
