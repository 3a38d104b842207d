import Synchronization
import TaskScheduler

/// The durable store of a scheduler: its data directory, the `tasks` table, and the group-commit writer that
/// writes the scheduler's changes (`StoreChange`) in the order the scheduler made them.
///
/// Use: `open` a directory, `Scheduler.attachStore` with `append` as the sink, `Scheduler.restore` what `open`
/// loaded, then serve; an answer about change number N waits for `whenCommitted(N)`. `stop()` at the end.
public final class TaskStore: Sendable {
    /// The directory.
    public let path: String
    /// What an acknowledgement means.
    public let durability: Durability
    /// What the store held when it was opened (empty after `takeRecovered`).
    private let recovered: Mutex<RecoveredTasks?>
    /// How long opening and loading took.
    public let loadDuration: Duration
    let writer: GroupCommitWriter<StoreChange>

    private init(
        path: String, durability: Durability, recovered: RecoveredTasks, loadDuration: Duration,
        writer: GroupCommitWriter<StoreChange>
    ) {
        self.path = path
        self.durability = durability
        self.recovered = Mutex(recovered)
        self.loadDuration = loadDuration
        self.writer = writer
    }

    /// Opens (creating when missing) the data directory at `path` in `durability` (`fsync` or `os`) and loads what
    /// it holds. `observe` gets each commit attempt's outcome, size and duration (for the metrics).
    public static func open(
        path: String, durability: Durability,
        observe: (@Sendable (Result<Void, StoreError>, Int, Duration) -> Void)? = nil
    ) throws(StoreError) -> TaskStore {
        let started = ContinuousClock.now
        let directory = try StoreDirectory(path: path, durability: durability)
        let recovered: RecoveredTasks
        let rows: TaskRows
        do throws(StoreError) {
            recovered = try TaskRows.load(directory.connection)
            rows = try TaskRows(directory.connection)
            // Pages freed and not yet given back in the last run go back to the file system now.
            try directory.connection.execute("PRAGMA incremental_vacuum")
        } catch {
            directory.close()
            throw error
        }
        // Freed pages go back to the file system while the writer is idle, 1,024 (4 MiB) per step, so the file
        // shrinks once retention evicted tasks, and a burst of writes waits for at most one step.
        let writer = try GroupCommitWriter<StoreChange>(
            directory: directory, observe: observe,
            maintenance: { transaction throws(StoreError) in
                guard try transaction.integer("PRAGMA freelist_count") > 0 else { return false }
                try transaction.execute("PRAGMA incremental_vacuum(1024)")
                return try transaction.integer("PRAGMA freelist_count") > 0
            }
        ) { (changes, transaction) throws(StoreError) in try rows.write(changes) }
        return TaskStore(
            path: path, durability: durability, recovered: recovered, loadDuration: ContinuousClock.now - started,
            writer: writer)
    }

    /// What the store held at start, once (later calls get nothing, so the records are not kept twice).
    public func takeRecovered() -> RecoveredTasks {
        recovered.withLock { recovered in
            defer { recovered = nil }
            return recovered ?? RecoveredTasks()
        }
    }

    /// Queues the scheduler's changes (the sink given to `Scheduler.attachStore`).
    public func append(_ changes: [StoreChange]) {
        writer.enqueue(changes)
    }

    /// The number of the last change committed.
    public var committed: UInt64 { writer.committed }

    /// Runs `action` once change `seq` is committed; see `GroupCommitWriter.whenCommitted`.
    public func whenCommitted(
        _ seq: UInt64, timeout: Duration, _ action: @escaping @Sendable (Result<Void, StoreError>) -> Void
    ) {
        writer.whenCommitted(seq, timeout: timeout, action)
    }

    /// Why commits are failing right now (disk full, I/O), or nil when the store is healthy.
    public var failure: StoreError? { writer.failure }

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
