import TaskGateTesting
import Testing

@testable import TaskGateStore

/// The group-commit writer: batches form from what queues while it is busy, an acknowledgement means committed,
/// and a failed batch acknowledges nothing of it and leaves the writer working.
struct GroupCommitWriterTests {
    typealias TemporaryDirectory = StoreDirectoryTests.TemporaryDirectory

    /// One write, awaited: its outcome once the writer reports it.
    func write(_ writer: GroupCommitWriter, _ sql: String, _ values: [StoreValue] = []) async -> Result<
        Void, StoreError
    > {
        await withCheckedContinuation { continuation in
            writer.enqueue({ transaction throws(StoreError) in try transaction.execute(sql, values) }) {
                continuation.resume(returning: $0)
            }
        }
    }

    /// `count` writes started at once while the writer is held; returns their outcomes once all are reported.
    func heldWrites(
        _ writer: GroupCommitWriter, count: Int, sql: @escaping @Sendable (Int) -> (String, [StoreValue])
    ) async -> [Result<Void, StoreError>] {
        let before = writer.queued
        writer.hold(true)
        return await withTaskGroup(of: (Int, Result<Void, StoreError>).self) { group in
            for index in 0..<count {
                group.addTask {
                    let (text, values) = sql(index)
                    return (index, await write(writer, text, values))
                }
            }
            await yield(until: writer.queued == before + count)
            #expect(writer.queued == before + count)
            writer.hold(false)
            var outcomes = [Result<Void, StoreError>?](repeating: nil, count: count)
            for await (index, outcome) in group { outcomes[index] = outcome }
            return outcomes.map { $0! }
        }
    }

    /// Expects `outcome` to be a refusal whose message names `mention`: a write that was not stored must never be
    /// acknowledged.
    func expectRefused(
        _ outcome: Result<Void, StoreError>, mentioning mention: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard case .failure(let error) = outcome else {
            Issue.record("a write that was not stored was acknowledged", sourceLocation: sourceLocation)
            return
        }
        #expect(error.kind == .io, sourceLocation: sourceLocation)
        #expect(error.description.contains(mention), "\(error)", sourceLocation: sourceLocation)
    }

    func rows(_ path: String) throws -> [String] {
        let directory = try StoreDirectory(path: path, durability: .os)
        return try directory.connection.strings("SELECT id FROM t ORDER BY id")
    }

    /// A writer over a new store in `temporary`, with the table `t (id INTEGER PRIMARY KEY)` made by its first
    /// commit.
    func startWriter(_ temporary: TemporaryDirectory, _ durability: Durability, maxBatch: Int = 4_096) async throws
        -> GroupCommitWriter
    {
        let writer = try GroupCommitWriter(
            directory: StoreDirectory(path: temporary.path, durability: durability), maxBatch: maxBatch)
        try await write(writer, "CREATE TABLE t (id INTEGER PRIMARY KEY)").get()
        return writer
    }

    func insert(_ id: Int) -> (String, [StoreValue]) { ("INSERT INTO t (id) VALUES (?)", [.integer(Int64(id))]) }

    @Test func writesThatQueueWhileTheWriterIsBusyCommitAsOneTransaction() async throws {
        let temporary = TemporaryDirectory()
        let writer = try await startWriter(temporary, .fsync)
        let outcomes = await heldWrites(writer, count: 100, sql: insert)
        #expect(outcomes.allSatisfy { (try? $0.get()) != nil })
        #expect(writer.statistics == .init(commits: 2, stored: 101, failed: 0, largestBatch: 100))
        writer.stop()
        #expect(try rows(temporary.path) == (0..<100).map(String.init))
    }

    @Test func aBatchIsAtMostMaxBatchWrites() async throws {
        let temporary = TemporaryDirectory()
        let writer = try await startWriter(temporary, .os, maxBatch: 16)
        let outcomes = await heldWrites(writer, count: 50, sql: insert)
        #expect(outcomes.allSatisfy { (try? $0.get()) != nil })
        // 50 writes in batches of at most 16: four commits after the table's.
        #expect(writer.statistics == .init(commits: 5, stored: 51, failed: 0, largestBatch: 16))
        writer.stop()
        #expect(try rows(temporary.path).count == 50)
    }

    @Test func aBatchWithAFailingWriteIsRolledBackWholeAndTheNextOneCommits() async throws {
        let temporary = TemporaryDirectory()
        let writer = try await startWriter(temporary, .fsync)
        // The second write repeats the first one's key: the whole batch fails, the first and third included.
        let outcomes = await heldWrites(writer, count: 3) { insert([1, 1, 2][$0]) }
        for outcome in outcomes { expectRefused(outcome, mentioning: "UNIQUE") }
        #expect(try await write(writer, "INSERT INTO t (id) VALUES (3)").get() == ())
        #expect(writer.statistics == .init(commits: 2, stored: 2, failed: 3, largestBatch: 3))
        writer.stop()
        #expect(try rows(temporary.path) == ["3"])
    }

    @Test func aFailedCommitAcknowledgesNothingAndTheWriterRecovers() async throws {
        let temporary = TemporaryDirectory()
        let writer = try await startWriter(temporary, .fsync)
        writer.faults.failNextCommits(2)
        for id in [1, 2] {
            expectRefused(
                await write(writer, "INSERT INTO t (id) VALUES (?)", [.integer(Int64(id))]), mentioning: "full")
        }
        #expect(try await write(writer, "INSERT INTO t (id) VALUES (3)").get() == ())
        writer.stop()
        #expect(try rows(temporary.path) == ["3"])
    }

    @Test func stopCommitsWhatIsQueuedAndRefusesLaterWrites() async throws {
        let temporary = TemporaryDirectory()
        let writer = try await startWriter(temporary, .os)
        writer.hold(true)
        let pending = Task {
            await withTaskGroup(of: Bool.self) { group in
                for id in 0..<10 {
                    group.addTask { (try? await write(writer, insert(id).0, insert(id).1).get()) != nil }
                }
                return await group.reduce(true) { $0 && $1 }
            }
        }
        await yield(until: writer.queued == 10)
        writer.stop()
        #expect(await pending.value)
        let late = await write(writer, "INSERT INTO t (id) VALUES (99)")
        #expect((try? late.get()) == nil)
        #expect(try rows(temporary.path).count == 10)
    }
}
