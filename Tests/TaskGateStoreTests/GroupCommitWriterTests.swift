import Synchronization
import TaskGateTesting
import Testing

@testable import TaskGateStore

/// The group-commit writer: batches form from what queues while it is busy, an acknowledgement means committed,
/// and a failed batch is stored whole or not at all, retried until it commits.
struct GroupCommitWriterTests {
    typealias TemporaryDirectory = StoreDirectoryTests.TemporaryDirectory
    typealias Writer = GroupCommitWriter<Int>

    /// A writer over a new store in `temporary` that inserts each item into `t (id INTEGER PRIMARY KEY)`.
    func startWriter(
        _ temporary: TemporaryDirectory, _ durability: Durability, maxBatch: Int = 4_096,
        pacing: Writer.Pacing = Writer.Pacing()
    ) throws -> Writer {
        let directory = try StoreDirectory(path: temporary.path, durability: durability)
        try directory.connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        return try Writer(directory: directory, maxBatch: maxBatch, pacing: pacing) {
            items, transaction throws(StoreError) in
            for item in items { try transaction.execute("INSERT INTO t (id) VALUES (?)", [.integer(Int64(item))]) }
        }
    }

    /// The outcome `whenCommitted` reports for item `seq`.
    func acknowledgement(_ writer: Writer, _ seq: UInt64, timeout: Duration = .seconds(60)) async -> Result<
        Void, StoreError
    > {
        await withCheckedContinuation { continuation in
            writer.whenCommitted(seq, timeout: timeout) { continuation.resume(returning: $0) }
        }
    }

    func rows(_ path: String) throws -> [String] {
        let directory = try StoreDirectory(path: path, durability: .os)
        return try directory.connection.strings("SELECT id FROM t ORDER BY id")
    }

    /// Enqueues `items` one call each while the writer is held, then lets it go; returns the last number.
    func heldEnqueue(_ writer: Writer, _ items: [Int]) async -> UInt64 {
        writer.hold(true)
        var last: UInt64 = 0
        for item in items { last = writer.enqueue(CollectionOfOne(item)) }
        #expect(writer.queued == items.count)
        writer.hold(false)
        return last
    }

    @Test func itemsThatQueueWhileTheWriterIsBusyCommitAsOneTransaction() async throws {
        let temporary = TemporaryDirectory()
        let writer = try startWriter(temporary, .fsync)
        let last = await heldEnqueue(writer, Array(0..<100))
        #expect(last == 100)
        #expect((try? await acknowledgement(writer, last).get()) != nil)
        #expect(writer.committed == 100)
        let counts = writer.statistics
        #expect(counts.commits == 1 && counts.stored == 100 && counts.largestBatch == 100 && counts.failedCommits == 0)
        writer.stop()
        #expect(try rows(temporary.path) == (0..<100).map(String.init))
    }

    @Test func aBatchIsAtMostMaxBatchItems() async throws {
        let temporary = TemporaryDirectory()
        let writer = try startWriter(temporary, .os, maxBatch: 16)
        let last = await heldEnqueue(writer, Array(0..<50))
        #expect((try? await acknowledgement(writer, last).get()) != nil)
        let counts = writer.statistics
        // 50 items in batches of at most 16: four commits.
        #expect(counts.commits == 4 && counts.stored == 50 && counts.largestBatch == 16)
        writer.stop()
        #expect(try rows(temporary.path).count == 50)
    }

    @Test func anAcknowledgementWaitsForItsCommit() async throws {
        let temporary = TemporaryDirectory()
        let writer = try startWriter(temporary, .fsync)
        writer.hold(true)
        let seq = writer.enqueue([7, 8])
        let acknowledged = OnceFlag()
        writer.whenCommitted(seq, timeout: .seconds(60)) { _ in acknowledged.open() }
        // Held: nothing can have committed, so the acknowledgement must not have run.
        #expect(!acknowledged.isOpen)
        #expect(writer.committed == 0)
        writer.hold(false)
        await yield(until: acknowledged.isOpen)
        #expect(acknowledged.isOpen)
        #expect(writer.committed == 2)
        // Asked again after the commit, it runs at once.
        #expect((try? await acknowledgement(writer, 1).get()) != nil)
        writer.stop()
    }

    @Test func aFailingBatchIsStoredWholeOnlyOnceACommitSucceeds() async throws {
        let temporary = TemporaryDirectory()
        let writer = try startWriter(temporary, .fsync)
        writer.faults.failNextCommits(1_000_000)
        let seq = writer.enqueue([1, 2, 3])
        await yield(until: writer.failure != nil)
        #expect(writer.failure?.kind == .full)
        // Not stored: a caller whose timeout passes is told so, never acknowledged.
        guard case .failure(let error) = await acknowledgement(writer, seq, timeout: .milliseconds(1)) else {
            Issue.record("a write that was not stored was acknowledged")
            writer.stop()
            return
        }
        #expect(error.kind == .full)
        #expect(writer.committed == 0)
        // More items queue behind the failing batch meanwhile.
        let later = writer.enqueue([4])
        // Space returns: the same batch commits, then the rest.
        writer.faults.failNextCommits(0)
        #expect((try? await acknowledgement(writer, later).get()) != nil)
        #expect(writer.failure == nil)
        #expect(writer.statistics.failedCommits >= 1)
        writer.stop()
        #expect(try rows(temporary.path) == ["1", "2", "3", "4"])
    }

    @Test func stopCommitsWhatIsQueuedAndStoresNothingLater() async throws {
        let temporary = TemporaryDirectory()
        let writer = try startWriter(temporary, .os)
        writer.hold(true)
        let seq = writer.enqueue(Array(0..<10))
        let acknowledged = OnceFlag()
        writer.whenCommitted(seq, timeout: .seconds(60)) { outcome in
            if case .success = outcome { acknowledged.open() }
        }
        writer.stop()
        #expect(acknowledged.isOpen)
        let late = writer.enqueue([99])
        #expect((try? await acknowledgement(writer, late).get()) == nil)
        #expect(try rows(temporary.path).count == 10)
    }

    @Test func stopGivesUpOnABatchThatKeepsFailingAndSaysSo() async throws {
        let temporary = TemporaryDirectory()
        let writer = try startWriter(temporary, .os)
        writer.faults.failNextCommits(1_000_000)
        let seq = writer.enqueue([1])
        let outcome = OnceFlag()
        let failed = OnceFlag()
        writer.whenCommitted(seq, timeout: .seconds(60)) { result in
            if case .failure = result { failed.open() }
            outcome.open()
        }
        await yield(until: writer.failure != nil)
        writer.stop()
        #expect(outcome.isOpen && failed.isOpen)
        #expect(try rows(temporary.path).isEmpty)
    }

    /// A pacing whose linger never ends by itself: only a full batch (or `stop`) ends it.
    var endlessLinger: Writer.Pacing {
        var pacing = Writer.Pacing()
        pacing.linger = .seconds(3_600)
        pacing.busyWaiters = 4
        pacing.fullBatch = 8
        return pacing
    }

    @Test(.timeLimit(.minutes(1))) func manyWaitingAcknowledgementsMakeTheWriterLingerUntilTheBatchIsFull() async throws
    {
        let temporary = TemporaryDirectory()
        let writer = try startWriter(temporary, .os, pacing: endlessLinger)
        // Five acknowledgements wait (at least busyWaiters) for only five items: the writer lingers.
        writer.hold(true)
        var last: UInt64 = 0
        for item in 0..<5 {
            last = writer.enqueue([item])
            writer.whenCommitted(last, timeout: .seconds(60)) { _ in }
        }
        writer.hold(false)
        // Nothing commits until the eighth item fills the batch, then all eight commit as one.
        for item in 5..<8 {
            #expect(writer.committed == 0)
            last = writer.enqueue([item])
        }
        #expect((try? await acknowledgement(writer, last).get()) != nil)
        let counts = writer.statistics
        #expect(counts.commits == 1 && counts.largestBatch == 8 && counts.stored == 8)
        // A linger in progress ends at stop, which commits what waits.
        writer.hold(true)
        for item in 8..<13 {
            last = writer.enqueue([item])
            writer.whenCommitted(last, timeout: .seconds(60)) { _ in }
        }
        writer.hold(false)
        writer.stop()
        #expect(writer.committed == last)
        #expect(try rows(temporary.path).count == 13)
    }

    @Test(.timeLimit(.minutes(1))) func aLoneCallersItemsCommitAtOnce() async throws {
        let temporary = TemporaryDirectory()
        let writer = try startWriter(temporary, .os, pacing: endlessLinger)
        // One acknowledgement waiting (below busyWaiters): each commits by itself (a linger would hold it an hour).
        for item in 0..<3 {
            let seq = writer.enqueue([item])
            #expect((try? await acknowledgement(writer, seq).get()) != nil)
        }
        #expect(writer.statistics.commits == 3)
        writer.stop()
    }

    /// Waits (bounded) until `writer` has committed item `seq`.
    func committed(_ writer: Writer, _ seq: UInt64) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while writer.committed < seq && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(writer.committed >= seq, "item \(seq) was not committed within 60 s")
    }

    @Test(.timeLimit(.minutes(1))) func anItemNobodyWaitsForWaitsToShareTheNextCommit() async throws {
        let temporary = TemporaryDirectory()
        var pacing = Writer.Pacing()
        pacing.unawaitedWindow = .seconds(3_600)
        let writer = try startWriter(temporary, .fsync, pacing: pacing)
        let demand = Atomic<Int>(0)
        writer.onDemand { demand.load(ordering: .sequentiallyConsistent) }
        // Nothing waits for the first item: it waits (an hour at most) for company.
        writer.enqueue([1])
        try await Task.sleep(for: .milliseconds(200))
        #expect(writer.committed == 0)
        // The next item ends the wait: both commit as one transaction.
        let second = writer.enqueue([2])
        #expect((try? await acknowledgement(writer, second).get()) != nil)
        #expect(writer.statistics.commits == 1 && writer.statistics.largestBatch == 2)
        // An acknowledgement that starts waiting ends the wait: through whenCommitted...
        let third = writer.enqueue([3])
        try await Task.sleep(for: .milliseconds(100))
        #expect((try? await acknowledgement(writer, third).get()) != nil)
        #expect(writer.statistics.commits == 2)
        // ... or counted by onDemand and announced by nudge (an event loop's parked answer).
        let fourth = writer.enqueue([4])
        try await Task.sleep(for: .milliseconds(100))
        #expect(writer.committed == third)
        demand.store(1, ordering: .sequentiallyConsistent)
        writer.nudge()
        try await committed(writer, fourth)
        #expect(writer.statistics.commits == 3)
        demand.store(0, ordering: .sequentiallyConsistent)
        // A wait in progress ends at stop, which commits what is queued.
        let fifth = writer.enqueue([5])
        writer.stop()
        #expect(writer.committed == fifth)
        #expect(try rows(temporary.path) == ["1", "2", "3", "4", "5"])
    }

    /// Runs `count` commits of one 16 KiB row each (five pages of the WAL) through a writer with `pacing`, and
    /// returns the sizes of the database file and of its WAL before the writer stops.
    func walAfterCommits(
        _ temporary: TemporaryDirectory, _ pacing: Writer.Pacing, count: Int
    ) async throws -> (database: Int, wal: Int) {
        let directory = try StoreDirectory(path: temporary.path, durability: .os)
        try directory.connection.execute("CREATE TABLE big (id INTEGER PRIMARY KEY, payload BLOB)")
        let writer = try Writer(directory: directory, pacing: pacing) { items, transaction throws(StoreError) in
            for item in items {
                try transaction.execute(
                    "INSERT INTO big (id, payload) VALUES (?, zeroblob(16384))", [.integer(Int64(item))])
            }
        }
        for item in 0..<count {
            let seq = writer.enqueue([item])
            #expect((try? await acknowledgement(writer, seq).get()) != nil)
        }
        let sizes = (temporary.size(StoreDirectory.databaseName), temporary.size(StoreDirectory.databaseName + "-wal"))
        writer.stop()
        return sizes
    }

    @Test func theWriterCheckpointsTheWALOnceItReachesItsSize() async throws {
        // 100 commits of five pages each: 500 pages written to the WAL.
        var pacing = Writer.Pacing()
        pacing.checkpointPages = 32
        let checkpointed = TemporaryDirectory()
        let (database, wal) = try await walAfterCommits(checkpointed, pacing, count: 100)
        // Checkpointed every 32 pages or so: the WAL starts over and never holds much more than 32 pages (4,120 bytes
        // each with its frame header), and the rows reached the database file (all but the few written since the last
        // checkpoint: at most seven rows of five pages).
        #expect(wal <= 40 * 4_120, "WAL of \(wal) bytes")
        #expect(database >= 90 * 16_384, "database of \(database) bytes")
        // SQLite's own checkpoint (at 1,000 pages) has not run yet: all 500 pages are still in the WAL alone.
        let automatic = TemporaryDirectory()
        let (untouched, grown) = try await walAfterCommits(automatic, Writer.Pacing(), count: 100)
        #expect(grown >= 500 * 4_120 && untouched < 100 * 16_384, "WAL \(grown), database \(untouched) bytes")
    }
}
