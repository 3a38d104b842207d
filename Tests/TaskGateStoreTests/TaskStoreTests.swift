import Logging
import TaskGateTesting
import TaskScheduler
import Testing

@testable import TaskGateStore

/// The task store end to end with a real scheduler: what it writes is what a restart reads back, field for field.
struct TaskStoreTests {
    typealias TemporaryDirectory = StoreDirectoryTests.TemporaryDirectory
    static let logger = Logger(label: "taskgate.test") { _ in SwiftLogNoOpLogHandler() }

    /// A scheduler writing to a store in `path`, restored from what the store held.
    struct Server {
        let scheduler: Scheduler
        let store: TaskStore
        let summary: RecoverySummary

        init(
            _ path: String, clock: ManualClock, durability: Durability = .os,
            configure: (inout SchedulerConfiguration) -> Void = { _ in }
        ) throws {
            var configuration = SchedulerConfiguration()
            configure(&configuration)
            scheduler = Scheduler(configuration: configuration, clock: clock, logger: TaskStoreTests.logger)
            store = try TaskStore.open(path: path, durability: durability, restoringInto: scheduler)
            summary = store.recovery
            for name in ["f", "g"] { scheduler.declareFunction(name) }
        }

        /// Waits until everything the scheduler did so far is committed.
        func settle() async {
            let seq = scheduler.storeSeq
            await withCheckedContinuation { continuation in
                store.whenCommitted(seq, timeout: .seconds(60)) { _ in continuation.resume() }
            }
        }
    }

    @Test func everyFieldOfEveryStateSurvivesARestart() async throws {
        let temporary = TemporaryDirectory()
        let clock = ManualClock()
        let first = try Server(temporary.path, clock: clock) { $0.maxRetainedTasks = 3 }
        let worker = try first.scheduler.registerWorker(
            WorkerRegistration(name: "w", functions: ["f"], capacity: 10, lease: nil))
        func submit(_ args: String, function: String = "f", key: String? = nil, retries: Int? = nil) throws -> TaskID {
            try first.scheduler.submit(
                SubmitRequest(
                    function: function, args: Payload(json: args), priority: 7, timeout: .seconds(90),
                    maxRetries: retries, tags: ["a", "ünïcode tag", ""], idempotencyKey: key,
                    traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
            ).taskID
        }
        let pending = try submit(#"{"p":1}"#, function: "g", key: "key-p")
        let running = try submit(#"{"r":[1,2]}"#, retries: 2)
        let succeeded = try submit(#""s""#)
        let failed = try submit(#""x""#)
        let evicted = try submit(#""e""#, function: "g", key: "key-e")
        _ = try first.scheduler.exchange(worker: worker, maxAssignments: 10)
        clock.advance(by: .milliseconds(5))
        _ = try first.scheduler.exchange(
            worker: worker,
            results: [
                WorkerResult(taskID: succeeded, outcome: .success(Payload(json: #"{"answer":42}"#))),
                WorkerResult(taskID: failed, outcome: .failure(message: "it broke\nbadly")),
            ], maxAssignments: 0)
        _ = first.scheduler.requestCancel(evicted)
        // Fill the retention (3) so the first finished one is evicted.
        for index in 0..<1 { _ = first.scheduler.requestCancel(try submit("\(index)", function: "g")) }
        await first.settle()
        let before = [pending, running, failed].map { first.scheduler.task($0).record! }
        #expect(first.scheduler.task(succeeded).record == nil)
        first.store.stop()
        // A clean stop checkpoints the WAL into the database and removes it (statements finalized before the close).
        #expect(temporary.size(StoreDirectory.databaseName + "-wal") == 0)

        let second = try Server(temporary.path, clock: clock) { $0.maxRetainedTasks = 3 }
        defer { second.store.stop() }
        #expect(second.summary.pending == 1 && second.summary.retried == 1 && second.summary.finished == 3)
        #expect(second.summary.tombstones == 1)
        let restoredPending = second.scheduler.task(pending).record!
        expectSame(restoredPending, before[0])
        let restoredRunning = second.scheduler.task(running).record!
        #expect(restoredRunning.state == .pending && restoredRunning.attempt == 2)
        #expect(restoredRunning.version == before[1].version + 1)
        expectSame(second.scheduler.task(failed).record!, before[2])
        guard case .expired = second.scheduler.task(succeeded) else {
            Issue.record("the evicted task does not answer as expired")
            return
        }
        let replay = try second.scheduler.submit(
            SubmitRequest(
                function: "g", args: Payload(json: #""e""#), priority: 7, timeout: .seconds(90),
                tags: ["a", "ünïcode tag", ""], idempotencyKey: "key-e"))
        if case .existing(let lookup) = replay {
            #expect(lookup.record?.id == evicted)
        } else {
            Issue.record("the key of a stored task made a new one: \(replay)")
        }
    }

    func expectSame(_ restored: TaskRecord, _ original: TaskRecord, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(restored.id == original.id, sourceLocation: sourceLocation)
        #expect(restored.function == original.function, sourceLocation: sourceLocation)
        #expect(restored.args == original.args, sourceLocation: sourceLocation)
        #expect(restored.priority == original.priority, sourceLocation: sourceLocation)
        #expect(restored.timeout == original.timeout, sourceLocation: sourceLocation)
        #expect(restored.maxRetries == original.maxRetries, sourceLocation: sourceLocation)
        #expect(restored.tags == original.tags, sourceLocation: sourceLocation)
        #expect(restored.idempotencyKey == original.idempotencyKey, sourceLocation: sourceLocation)
        #expect(restored.fingerprint == original.fingerprint, sourceLocation: sourceLocation)
        #expect(restored.traceparent == original.traceparent, sourceLocation: sourceLocation)
        #expect(restored.createdAt == original.createdAt, sourceLocation: sourceLocation)
        #expect(restored.state == original.state, sourceLocation: sourceLocation)
        #expect(restored.version == original.version, sourceLocation: sourceLocation)
        #expect(restored.result == original.result, sourceLocation: sourceLocation)
        #expect(restored.error == original.error, sourceLocation: sourceLocation)
        #expect(restored.attempt == original.attempt, sourceLocation: sourceLocation)
        #expect(restored.updatedAt == original.updatedAt, sourceLocation: sourceLocation)
        #expect(restored.startedAt == original.startedAt, sourceLocation: sourceLocation)
        #expect(restored.finishedAt == original.finishedAt, sourceLocation: sourceLocation)
        #expect(restored.expiresAt == original.expiresAt, sourceLocation: sourceLocation)
        #expect(restored.cancel == original.cancel, sourceLocation: sourceLocation)
    }

    @Test func theFileShrinksBackOnceRetentionEvictedEverything() async throws {
        let temporary = TemporaryDirectory()
        let clock = ManualClock()
        let server = try Server(temporary.path, clock: clock) {
            $0.resultTTL = .seconds(1)
            $0.tombstoneTTL = .seconds(1)
        }
        let worker = try server.scheduler.registerWorker(
            WorkerRegistration(name: "w", functions: ["f"], capacity: 1_000, lease: nil))
        let args = Payload(json: "\"" + String(repeating: "x", count: 2_000) + "\"")
        for _ in 0..<20 {
            let ids = try server.scheduler.submitBatch(
                Array(repeating: SubmitRequest(function: "f", args: args), count: 500)
            ).map(\.taskID)
            _ = try server.scheduler.exchange(worker: worker, maxAssignments: 1_000)
            _ = try server.scheduler.exchange(
                worker: worker, results: ids.map { WorkerResult(taskID: $0, outcome: .success(args)) },
                maxAssignments: 0)
        }
        await server.settle()
        let full = temporary.size(StoreDirectory.databaseName)
        #expect(full > 10_000 * 2_000)
        clock.advance(by: .seconds(2))
        server.scheduler.processTimers()
        clock.advance(by: .seconds(2))
        server.scheduler.processTimers()
        await server.settle()
        #expect(server.scheduler.stats.tombstones == 0)
        // Freed pages go back to the file system while the writer is idle (and at start): the running store shrinks.
        await yield(until: temporary.size(StoreDirectory.databaseName) < full / 10)
        let empty = temporary.size(StoreDirectory.databaseName)
        server.store.stop()
        let reopened = try Server(temporary.path, clock: clock)
        #expect(reopened.summary == RecoverySummary())
        reopened.store.stop()
        #expect(empty < full / 10, "the store stayed at \(empty) bytes after everything was evicted (was \(full))")
    }

    @Test func taskIDsAreNeverIssuedTwiceEvenAfterEveryRowIsGone() async throws {
        let temporary = TemporaryDirectory()
        let clock = ManualClock()
        func configure(_ configuration: inout SchedulerConfiguration) {
            // Without random starts, a second run would begin at the first run's ids again.
            configuration.randomizeTaskIDs = false
            configuration.resultTTL = .seconds(1)
            configuration.tombstoneTTL = .seconds(1)
        }
        let first = try Server(temporary.path, clock: clock, configure: configure)
        let old = try first.scheduler.submit(SubmitRequest(function: "f")).taskID
        _ = first.scheduler.requestCancel(old)
        for _ in 0..<2 {
            clock.advance(by: .seconds(2))
            first.scheduler.processTimers()
        }
        await first.settle()
        #expect(first.scheduler.stats.tombstones == 0)
        first.store.stop()
        let second = try Server(temporary.path, clock: clock, configure: configure)
        defer { second.store.stop() }
        #expect(second.summary == RecoverySummary())
        let new = try second.scheduler.submit(SubmitRequest(function: "f")).taskID
        #expect(new.rawValue > old.rawValue)
    }
}
