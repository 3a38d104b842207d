import TaskGateTesting
import Testing

@testable import TaskScheduler

/// What the core lists for the durable store, and what it makes of a store's contents at a restart.
struct PersistenceTests {
    /// The store as a dictionary, fed with the changes in order: what a real store holds after committing them.
    struct FakeStore {
        var rows: [TaskID: TaskRecord] = [:]
        var tombstones: [TaskID: StoredTombstone] = [:]

        mutating func apply(_ changes: [StoreChange]) {
            for change in changes {
                switch change {
                case .created(let record):
                    #expect(rows[record.id] == nil && tombstones[record.id] == nil, "task \(record.id) created twice")
                    rows[record.id] = record
                case .updated(let record):
                    #expect(rows[record.id] != nil, "task \(record.id) updated before it was created")
                    rows[record.id] = record
                case .evicted(let id, let until):
                    guard let record = rows.removeValue(forKey: id) else {
                        Issue.record("task \(id) evicted without a row")
                        continue
                    }
                    #expect(record.done, "task \(id) evicted before it finished")
                    tombstones[id] = StoredTombstone(
                        id: id, until: until, idempotencyKey: record.idempotencyKey, fingerprint: record.fingerprint)
                case .forgotten(let id):
                    #expect(tombstones.removeValue(forKey: id) != nil, "tombstone \(id) dropped without one")
                }
            }
        }

        var recovered: RecoveredTasks {
            RecoveredTasks(records: Array(rows.values), tombstones: Array(tombstones.values))
        }
    }

    static func persisting(_ configure: (inout SchedulerConfiguration) -> Void = { _ in }) -> Harness {
        var harness = Harness(configure: configure)
        harness.core.persisting = true
        return harness
    }

    @Test func everyChangeIsListedInOrderAndStampsItsRecord() throws {
        var harness = Self.persisting {
            $0.resultTTL = .seconds(10)
            $0.tombstoneTTL = .seconds(10)
        }
        let id = try harness.submit(key: "k")
        guard case .created(let created) = harness.stored.last else {
            Issue.record("no creation listed: \(harness.stored)")
            return
        }
        #expect(created.id == id && created.state == .pending && created.fingerprint != 0)
        #expect(harness.record(id).storeSeq == 1)
        let worker = harness.register()
        #expect(harness.take(worker) == [id])
        harness.succeed(worker, id, result: "42")
        #expect(harness.record(id).storeSeq == UInt64(harness.stored.count))
        harness.advance(.seconds(11))
        harness.advance(.seconds(11))
        let kinds = harness.stored.map { change -> String in
            switch change {
            case .created(let record): "created \(record.state)"
            case .updated(let record): "updated \(record.state)"
            case .evicted: "evicted"
            case .forgotten: "forgotten"
            }
        }
        #expect(kinds == ["created pending", "updated running", "updated succeeded", "evicted", "forgotten"])
        #expect(harness.core.storeSeq == 5)
        if case .updated(let finished) = harness.stored[2] { #expect(finished.result == Payload(json: "42")) }
    }

    /// A submission that a worker takes at once changes its record twice in one event: the store gets one change,
    /// the creation with the record as it is at the end of the event.
    @Test func oneEventsChangesOfOneRecordAreListedAsOne() throws {
        var harness = Self.persisting()
        let worker = harness.register(capacity: 2)
        let first = try harness.submit()
        let second = try harness.submit()
        let kinds = harness.stored.map { change -> String in
            switch change {
            case .created(let record): "created \(record.id) \(record.state)"
            case .updated(let record): "updated \(record.id) \(record.state)"
            case .evicted, .forgotten: "other"
            }
        }
        #expect(kinds == ["created \(first) running", "created \(second) running"])
        #expect(harness.record(first).storeSeq == 1 && harness.record(second).storeSeq == 2)
        #expect(harness.core.storeSeq == 2)
        #expect(harness.take(worker) == [first, second])
        harness.succeed(worker, first)
        #expect(harness.record(first).storeSeq == 3 && harness.stored.count == 3)
    }

    @Test func nothingIsListedWhenNotPersisting() throws {
        var harness = Harness()
        let id = try harness.submit()
        let worker = harness.register()
        _ = harness.take(worker)
        harness.succeed(worker, id)
        #expect(harness.stored.isEmpty)
        #expect(harness.record(id).storeSeq == 0)
    }

    /// One task in every state, stored, then restored into a new core as a restart would.
    @Test func aRestartBringsBackEveryStateAsDocumented() throws {
        var before = Self.persisting { $0.maxRetainedTasks = 3 }
        let pending = try before.submit("g", args: "\"p\"", key: "pending-key")
        let worker = before.register(["f"], capacity: 10)
        let retried = try before.submit(args: "\"r\"", maxRetries: 3)
        let spent = try before.submit(args: "\"s\"", maxRetries: 0)
        let canceling = try before.submit(args: "\"c\"")
        let succeeded = try before.submit(args: "\"ok\"")
        let failed = try before.submit(args: "\"x\"")
        let canceled = try before.submit("g", args: "\"n\"")
        #expect(before.take(worker).count == 5)
        _ = before.cancel(canceling)
        before.succeed(worker, succeeded, result: "\"done\"")
        try before.exchange(worker, results: [WorkerResult(taskID: failed, outcome: .failure(message: "boom"))])
        _ = before.cancel(canceled)
        // Evicted by count: three finished are kept, so a fourth evicts the oldest (succeeded).
        let evictedKeyed = try before.submit("g", args: "\"e\"", key: "evicted-key")
        _ = before.cancel(evictedKeyed)
        #expect(before.core.lookup(succeeded).record == nil)
        var store = FakeStore()
        store.apply(before.stored)

        var after = Self.persisting { $0.maxRetainedTasks = 10 }
        let summary = after.apply { core, now, effects in core.restore(store.recovered, now: now, effects: &effects) }
        after.expectConsistent()
        #expect(
            summary
                == {
                    var expected = RecoverySummary()
                    expected.finished = 3
                    expected.pending = 1
                    expected.retried = 1
                    expected.failedWorkerDied = 1
                    expected.canceled = 1
                    expected.tombstones = 1
                    return expected
                }())
        #expect(after.state(pending) == .pending && after.record(pending).attempt == 1)
        #expect(after.state(retried) == .pending && after.record(retried).attempt == 2)
        #expect(after.state(spent) == .failed && after.record(spent).error?.code == .workerDied)
        #expect(after.state(canceling) == .canceled && after.record(canceling).cancel?.confirm == .canceled)
        #expect(after.record(failed).error == before.record(failed).error)
        #expect(after.record(failed).version == before.record(failed).version)
        #expect(after.state(canceled) == .canceled)
        #expect(after.state(evictedKeyed) == .canceled)
        guard case .expired = after.core.lookup(succeeded) else {
            Issue.record("the evicted task does not answer as expired")
            return
        }
        // The changes the restart made are listed for the store: three in-flight tasks settled.
        #expect(after.stored.count == 3)
        // Idempotency keys stay bound: a replay finds its task; the evicted one's key answers expired.
        let replay = try after.apply { (core, now, effects) throws(SchedulerError) in
            try core.submit(
                SubmitRequest(function: "g", args: Payload(json: "\"p\""), idempotencyKey: "pending-key"), now: now,
                effects: &effects)
        }
        #expect(replay.taskID == pending)
        #expect(throws: SchedulerError.self) {
            _ = try after.apply { (core, now, effects) throws(SchedulerError) in
                try core.submit(
                    SubmitRequest(function: "g", args: Payload(json: "\"other\""), idempotencyKey: "pending-key"),
                    now: now, effects: &effects)
            }
        }
        // New ids follow the highest stored one; the queue runs retried work first, then the rest.
        let fresh = try after.submit()
        #expect(fresh.rawValue > evictedKeyed.rawValue)
        let newWorker = after.register(["f", "g"], capacity: 10)
        #expect(after.take(newWorker) == [retried, pending, fresh])
        after.expectConsistent()
    }

    /// Seeded random histories: whatever the core did, a restart from what it listed keeps every finished task as
    /// it was, every evicted task expired, and settles in-flight work by the documented rules.
    @Test(arguments: 0..<24) func aRestartFromAnyHistoryKeepsWhatWasTold(seed: Int) throws {
        var random = SplitMix(seed: UInt64(seed))
        var before = Self.persisting {
            $0.maxRetainedTasks = 8
            $0.resultTTL = .seconds(30)
            $0.tombstoneTTL = .seconds(60)
        }
        var workers: [WorkerID] = []
        var ids: [TaskID] = []
        for _ in 0..<200 {
            switch random.next(upperBound: 9) {
            case 0, 1, 2:
                let key: String? = random.next(upperBound: 3) == 0 ? "key-\(random.next(upperBound: 20))" : nil
                if let id = try? before.submit(
                    args: key.map { "\"\($0)\"" } ?? "\(random.next(upperBound: 100))",
                    maxRetries: Int(random.next(upperBound: 3)), key: key)
                {
                    ids.append(id)
                }
            case 3:
                if workers.count < 3 { workers.append(before.register(["f"], capacity: 2)) }
            case 4:
                if let worker = workers.randomElement(using: &random) { _ = before.take(worker) }
            case 5:
                if let worker = workers.randomElement(using: &random) {
                    let held = before.core.workers[worker]?.held ?? []
                    if let id = held.sorted().first {
                        if random.next(upperBound: 2) == 0 {
                            before.succeed(worker, id, result: "\(id.rawValue)")
                        } else {
                            before.confirm(worker, id, .canceled)
                        }
                    }
                }
            case 6:
                if let id = ids.randomElement(using: &random) { _ = before.cancel(id) }
            case 7:
                if !workers.isEmpty, random.next(upperBound: 4) == 0 {
                    before.removeWorker(workers.removeFirst())
                }
            default:
                before.advance(.seconds(Int64(random.next(upperBound: 10))))
            }
        }
        before.expectConsistent()
        var store = FakeStore()
        store.apply(before.stored)
        var after = Self.persisting {
            $0.maxRetainedTasks = 8
            $0.resultTTL = .seconds(30)
            $0.tombstoneTTL = .seconds(60)
        }
        after.now = before.now
        _ = after.apply { core, now, effects in core.restore(store.recovered, now: now, effects: &effects) }
        after.expectConsistent()
        for id in ids {
            switch before.core.lookup(id) {
            case .found(let record) where record.done:
                // Unchanged, or evicted: tasks that finished at the restart count against the retention limit too.
                switch after.core.lookup(id) {
                case .found(let restored):
                    #expect(restored.state == record.state, "seed \(seed) task \(id)")
                    #expect(restored.result == record.result && restored.version == record.version)
                case .expired: break
                case .notFound: Issue.record("seed \(seed): finished task \(id) vanished at the restart")
                }
            case .found(let record) where record.state == .pending:
                #expect(after.state(id) == .pending && after.record(id).attempt == record.attempt)
            case .found(let record) where record.state == .canceling:
                #expect(after.state(id) == .canceled)
            case .found(let record):
                let expected: TaskState = record.attempt <= record.maxRetries ? .pending : .failed
                #expect(after.state(id) == expected, "seed \(seed) running task \(id)")
            case .expired:
                guard case .expired = after.core.lookup(id) else {
                    Issue.record("seed \(seed): evicted task \(id) is not expired after the restart")
                    continue
                }
            case .notFound:
                #expect(after.core.lookup(id).record == nil)
            }
        }
    }
}
