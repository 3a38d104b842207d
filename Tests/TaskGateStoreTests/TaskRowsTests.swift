import TaskGateTesting
import TaskScheduler
import Testing

@testable import TaskGateStore

/// How a batch of changes becomes row writes: each task's record changes fold into its last one (inserted when the
/// batch holds the creation, else updated), and evictions and removals land in their place.
struct TaskRowsTests {
    typealias TemporaryDirectory = StoreDirectoryTests.TemporaryDirectory

    func record(_ id: UInt64, _ state: TaskState, version: UInt64, result: String? = nil) -> TaskRecord {
        TaskRecord(
            id: TaskID(rawValue: id), function: "f", args: Payload(json: "[\(id)]"), priority: 0, timeout: nil,
            maxRetries: 0, tags: [], idempotencyKey: nil, fingerprint: 0, traceparent: nil,
            createdAt: Timestamp(nanoseconds: 1), state: state, version: version,
            result: result.map { Payload(json: $0) }, error: nil, attempt: 1,
            updatedAt: Timestamp(nanoseconds: Int64(version)), startedAt: nil, finishedAt: nil, expiresAt: nil,
            cancel: nil)
    }

    /// Writes each batch in a transaction of its own, then reads back the live rows (id, state, version, result)
    /// and the tombstones' ids.
    func written(_ batches: [[StoreChange]]) throws -> (live: [String], tombstones: [UInt64]) {
        let temporary = TemporaryDirectory()
        let directory = try StoreDirectory(path: temporary.path, durability: .os)
        defer { directory.close() }
        let rows = try TaskRows(directory.connection)
        for batch in batches {
            try directory.connection.execute("BEGIN")
            try rows.write(.init(chunks: batch.map { [$0] }, count: batch.count))
            try directory.connection.execute("COMMIT")
        }
        var live: [String] = []
        try TaskRows.loadRecords(directory.connection) { record in
            let result = record.result.map { String(decoding: $0.bytes, as: UTF8.self) } ?? "-"
            live.append("\(record.id.rawValue) \(record.state.rawValue) v\(record.version) \(result)")
        }
        let (tombstones, _) = try TaskRows.loadTombstones(directory.connection)
        return (live, tombstones.map(\.id.rawValue).sorted())
    }

    @Test func aTasksChangesInOneBatchFoldIntoItsLastRecord() throws {
        let stored = try written([
            [
                .created(record(1, .pending, version: 1)),
                .created(record(2, .pending, version: 1)),
                .updated(record(1, .running, version: 2)),
                .updated(record(1, .succeeded, version: 3, result: "7")),
            ]
        ])
        #expect(stored.live == ["1 succeeded v3 7", "2 pending v1 -"])
    }

    @Test func laterBatchesUpdateEvictAndForget() throws {
        let stored = try written([
            [.created(record(1, .pending, version: 1)), .created(record(2, .pending, version: 1))],
            [
                .updated(record(2, .running, version: 2)), .updated(record(1, .running, version: 2)),
                .updated(record(1, .succeeded, version: 3, result: "1")),
                .evicted(TaskID(rawValue: 1), until: Timestamp(nanoseconds: 99)),
                .created(record(3, .pending, version: 1)),
            ],
            [.forgotten(TaskID(rawValue: 1)), .updated(record(2, .failed, version: 3))],
        ])
        #expect(stored.live == ["2 failed v3 -", "3 pending v1 -"])
        #expect(stored.tombstones.isEmpty)
    }

    @Test func aCallbackAndItsDeliveryAreStoredAndReadBack() throws {
        let temporary = TemporaryDirectory()
        let directory = try StoreDirectory(path: temporary.path, durability: .os)
        defer { directory.close() }
        let rows = try TaskRows(directory.connection)
        func task(_ delivery: CallbackDelivery?) -> TaskRecord {
            TaskRecord(
                id: TaskID(rawValue: 9), function: "f", args: .null, priority: 0, timeout: nil, maxRetries: 0,
                tags: [], idempotencyKey: nil, fingerprint: 0, traceparent: nil, createdAt: Timestamp(nanoseconds: 1),
                state: delivery == nil ? .pending : .succeeded, version: delivery == nil ? 1 : 2, result: nil,
                error: nil, attempt: 1, updatedAt: Timestamp(nanoseconds: 2), startedAt: nil, finishedAt: nil,
                expiresAt: nil, cancel: nil, callbackURL: "http://hooks.test/x", callback: delivery,
                attempts: delivery == nil ? [] : attempts, logs: delivery == nil ? [] : logs,
                logsDropped: delivery == nil ? 0 : 3)
        }
        let attempts = [
            TaskAttempt(
                attempt: 1, worker: WorkerID(rawValue: 5), workerName: "wörker", queuedAt: Timestamp(nanoseconds: 1),
                startedAt: Timestamp(nanoseconds: 2), endedAt: Timestamp(nanoseconds: 3), outcome: "requeued"),
            TaskAttempt(
                attempt: 2, worker: WorkerID(rawValue: 1 << 63), workerName: "", queuedAt: Timestamp(nanoseconds: 3),
                startedAt: Timestamp(nanoseconds: 4)),
        ]
        let logs = [
            TaskLogLine(at: Timestamp(nanoseconds: -5), attempt: 2, text: ""),
            TaskLogLine(at: Timestamp(nanoseconds: 6), attempt: 2, text: "line ✓"),
        ]
        let delivery = CallbackDelivery(
            state: .pending, attempts: 2, lastStatus: 503, lastError: "busy",
            nextAttemptAt: Timestamp(nanoseconds: 77), finishedAt: nil)
        try directory.connection.execute("BEGIN")
        try rows.write(.init([.created(task(nil))]))
        try directory.connection.execute("COMMIT")
        try directory.connection.execute("BEGIN")
        try rows.write(.init([.updated(task(delivery))]))
        try directory.connection.execute("COMMIT")
        var loaded: [TaskRecord] = []
        try TaskRows.loadRecords(directory.connection) { loaded.append($0) }
        #expect(loaded.first?.callbackURL == "http://hooks.test/x")
        #expect(loaded.first?.callback == delivery)
        #expect(loaded.first?.attempts == attempts && loaded.first?.logs == logs && loaded.first?.logsDropped == 3)
    }

    @Test func anEvictedTaskStaysATombstoneUntilForgotten() throws {
        let stored = try written([
            [
                .created(record(5, .pending, version: 1)),
                .updated(record(5, .succeeded, version: 2, result: "5")),
                .evicted(TaskID(rawValue: 5), until: Timestamp(nanoseconds: 99)),
            ]
        ])
        #expect(stored.live.isEmpty)
        #expect(stored.tombstones == [5])
    }

    @Test func manyTasksInOneBatchEachKeepTheirOwnLastRecord() throws {
        // More tasks than the fold table's first size, with ids that share low bits.
        let ids = (0..<300).map { UInt64($0) * 1_024 + 1 }
        var batch: [StoreChange] = ids.map { .created(record($0, .pending, version: 1)) }
        batch += ids.map { .updated(record($0, .succeeded, version: 2, result: "\($0)")) }
        let stored = try written([batch])
        #expect(stored.live == ids.map { "\($0) succeeded v2 \($0)" })
    }
}
