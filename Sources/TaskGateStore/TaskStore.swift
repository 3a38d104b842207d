import Synchronization
import TaskScheduler

/// The durable store of a scheduler: its data directory, the `tasks` table, and the group-commit writer that
/// writes the scheduler's changes (`StoreChange`) in the order the scheduler made them.
///
/// Use: `open` a directory with a new scheduler (the store attaches itself and restores what it holds), then serve;
/// an answer about change number N waits for `whenCommitted(N)`. `stop()` at the end.
public final class TaskStore: Sendable {
    /// The directory.
    public let path: String
    /// What an acknowledgement means.
    public let durability: Durability
    /// What the restart found and did with it.
    public let recovery: RecoverySummary
    /// How long opening, loading and restoring took.
    public let loadDuration: Duration
    let writer: GroupCommitWriter<StoreChange>

    private init(
        path: String, durability: Durability, recovery: RecoverySummary, loadDuration: Duration,
        writer: GroupCommitWriter<StoreChange>
    ) {
        self.path = path
        self.durability = durability
        self.recovery = recovery
        self.loadDuration = loadDuration
        self.writer = writer
    }

    /// Opens (creating when missing) the data directory at `path` in `durability` (`fsync` or `os`), attaches it to
    /// `scheduler` (which must be new: nothing submitted, no worker) and restores into it what the directory holds,
    /// streaming the rows. `observe` gets each commit attempt's outcome, size and duration (for the metrics).
    public static func open(
        path: String, durability: Durability, restoringInto scheduler: Scheduler,
        observe: (@Sendable (Result<Void, StoreError>, Int, Duration) -> Void)? = nil
    ) throws(StoreError) -> TaskStore {
        let started = ContinuousClock.now
        let directory = try StoreDirectory(path: path, durability: durability)
        let rows: TaskRows
        do throws(StoreError) {
            rows = try TaskRows(directory.connection)
        } catch {
            directory.close()
            throw error
        }
        // Freed pages go back to the file system while the writer is idle, 1,024 (4 MiB) per step, so the file
        // shrinks once retention evicted tasks, and a burst of writes waits for at most one step. The writer starts
        // held: the rows are read on this thread first, and what the restore changes queues meanwhile.
        // The writer runs below the request threads' priority (they are what clients wait on; a writer that falls
        // behind catches up with larger batches) and, in the os mode, where a commit is quick and batches would
        // stay small, lingers up to 200 µs for a fuller batch while many answers wait. In the fsync mode the fsync itself
        // is the window, and a lone request must not wait longer than its fsync.
        var pacing = GroupCommitWriter<StoreChange>.Pacing()
        pacing.niceness = 10
        if durability == .os { pacing.linger = .microseconds(200) }
        // In the fsync mode a commit costs an fsync, so a change nobody waits for yet (a waited submission's creation,
        // whose finish follows within microseconds for a quick task) waits up to 500 µs to share the next one.
        if durability == .fsync { pacing.unawaitedWindow = .microseconds(500) }
        // The writer checkpoints the WAL at 1,000 pages (4 MiB, SQLite's own threshold) after the acknowledgements of the
        // commit that reached it went out, instead of SQLite inside that commit (where, with its fsyncs, it held them).
        // A larger WAL made no cheaper writes here and a longer stall of the writer per checkpoint: p99 under load
        // 10.6 against 7.7 ms (fsync mode) at 4,096 pages (docs/benchmarks.md).
        pacing.checkpointPages = 1_000
        let writer = try GroupCommitWriter<StoreChange>(
            directory: directory, pacing: pacing, observe: observe,
            maintenance: { transaction throws(StoreError) in
                guard try transaction.integer("PRAGMA freelist_count") > 0 else { return .nothing }
                try transaction.execute("PRAGMA incremental_vacuum(1024)")
                return try transaction.integer("PRAGMA freelist_count") > 0 ? .more : .done
            }, startHeld: true
        ) { (changes, transaction) throws(StoreError) in try rows.write(changes) }
        let recovery: RecoverySummary
        do throws(StoreError) {
            let (tombstones, live) = try TaskRows.loadTombstones(directory.connection)
            scheduler.attachStore { changes in writer.enqueue(changes) }
            recovery = try scheduler.restore(tombstones: tombstones, expectedRecords: live) {
                (add) throws(StoreError) in try TaskRows.loadRecords(directory.connection, add)
            }
            // Task ids are never issued twice, even after every row of a run is gone: each run takes a block of 2^32
            // ids above the last run's block, recorded before it serves.
            let floor = try directory.connection.strings("SELECT value FROM meta WHERE key = 'task_id_floor'")
            let next = scheduler.raiseTaskIDs(atLeast: floor.first.flatMap { UInt64($0) } ?? 0)
            let (reserved, overflow) = next.addingReportingOverflow(1 << 32)
            try directory.connection.execute(
                "INSERT OR REPLACE INTO meta VALUES ('task_id_floor', '\(overflow ? UInt64.max : reserved)')")
            // Pages freed and not yet given back in the last run go back to the file system now.
            try directory.connection.execute("PRAGMA incremental_vacuum")
        } catch {
            writer.stop()
            throw error
        }
        writer.hold(false)
        return TaskStore(
            path: path, durability: durability, recovery: recovery, loadDuration: ContinuousClock.now - started,
            writer: writer)
    }

    /// The number of the last change committed.
    public var committed: UInt64 { writer.committed }

    /// Runs `action` once change `seq` is committed; see `GroupCommitWriter.whenCommitted`.
    public func whenCommitted(
        _ seq: UInt64, timeout: Duration, _ action: @escaping @Sendable (Result<Void, StoreError>) -> Void
    ) {
        writer.whenCommitted(seq, timeout: timeout, action)
    }

    /// Sets what runs after each commit attempt, on the writer thread; see `GroupCommitWriter.onProgress`.
    public func onProgress(_ action: (@Sendable () -> Void)?) {
        writer.onProgress(action)
    }

    /// Sets how many answers wait for commits outside `whenCommitted`; see `GroupCommitWriter.onDemand`.
    public func onDemand(_ count: (@Sendable () -> Int)?) {
        writer.onDemand(count)
    }

    /// Tells the writer that an answer counted by `onDemand` started waiting; see `GroupCommitWriter.nudge`.
    public func nudge() {
        writer.nudge()
    }

    /// Why commits are failing right now (disk full, I/O), or nil when the store is healthy.
    public var failure: StoreError? { writer.failure }

    /// Whether commits are failing right now, read without taking the writer's lock.
    public var isFailing: Bool { writer.isFailing }

    /// Commits, batches and failures so far.
    public var statistics: GroupCommitWriter<StoreChange>.Counts { writer.statistics }

    /// Test seam: makes the next commits fail as a full disk would.
    public var faults: GroupCommitWriter<StoreChange>.Faults { writer.faults }

    /// Test seam: while held, nothing commits (see `GroupCommitWriter.hold`).
    public func hold(_ on: Bool) {
        writer.hold(on)
    }

    /// Commits what is queued, stops the writer and closes the directory (releasing its lock).
    public func stop() {
        writer.stop()
    }
}
