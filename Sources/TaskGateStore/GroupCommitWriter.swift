import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The store's one writer: a thread that commits every write that arrived while it was busy as one transaction,
/// so one fsync (in `fsync` mode) covers many writes. No timer forms the batches. The window is the time the
/// previous commit took, so a lone write commits at once, and under load the batches grow with the arrival rate.
///
/// An acknowledgement means stored: each write's `done` runs after its batch has committed. It receives the
/// failure instead when the batch could not be stored: a write threw, or SQLite failed (disk full, I/O). The batch
/// is then rolled back whole, so nothing of it is stored and no caller is told otherwise. The next batch starts
/// afresh, so the writer recovers when the cause (space, say) is gone.
///
/// Owner: the writer owns the thread, started in `init` and joined in `stop()` (which first commits what is
/// queued), and the directory, closed in `stop()`. The directory's connection is used only on that thread from
/// `init` until the thread ends. `stop()` must be called: the running thread keeps the writer alive.
public final class GroupCommitWriter: @unchecked Sendable {
    // `queue`, `stopping` and `held` are guarded by `mutex`. `directory` and `faults` are touched only on the
    // writer thread (or by tests through `Faults`, which is itself locked).

    /// One write: what it does inside the batch's transaction, and who is told the outcome.
    public struct Write: Sendable {
        let apply: @Sendable (StoreTransaction) throws(StoreError) -> Void
        let done: @Sendable (Result<Void, StoreError>) -> Void
    }

    /// Counts for the metrics and tests.
    public struct Counts: Sendable, Equatable {
        /// Transactions committed.
        public var commits = 0
        /// Writes acknowledged as stored.
        public var stored = 0
        /// Writes refused because their batch failed.
        public var failed = 0
        /// The largest batch so far.
        public var largestBatch = 0
    }

    /// A seam for tests of the failure paths: makes the next commits fail as a full disk would.
    public final class Faults: Sendable {
        private let failingCommits = Atomic<Int>(0)

        /// Makes the next `count` commits fail with an I/O error (SQLite's SQLITE_FULL is what a full disk gives).
        public func failNextCommits(_ count: Int) {
            failingCommits.store(count, ordering: .releasing)
        }

        func takeFailure() -> Bool {
            var current = failingCommits.load(ordering: .acquiring)
            while current > 0 {
                let (exchanged, original) = failingCommits.compareExchange(
                    expected: current, desired: current - 1, ordering: .acquiringAndReleasing)
                if exchanged { return true }
                current = original
            }
            return false
        }
    }

    /// The most writes in one transaction (a bound on how long one commit holds the writer).
    public let maxBatch: Int
    /// Test seam: injected commit failures.
    public let faults = Faults()
    private let directory: StoreDirectory
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var queue: [Write] = []
    private var stopping = false
    private var held = false
    private var thread: pthread_t?
    private let counts = Mutex(Counts())

    /// Starts the writer thread over `directory`.
    public init(directory: StoreDirectory, maxBatch: Int = 4_096) throws(StoreError) {
        self.directory = directory
        self.maxBatch = maxBatch
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
        var handle = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let started = pthread_create(
            &handle, nil,
            { argument in
                let writer = Unmanaged<GroupCommitWriter>.fromOpaque(argument!)
                writer.takeUnretainedValue().run()
                writer.release()
                return nil
            }, context)
        guard started == 0 else {
            Unmanaged<GroupCommitWriter>.fromOpaque(context).release()
            throw StoreError(.io, "cannot start the store's writer thread (error \(started))")
        }
        thread = handle
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// What the writer has done so far.
    public var statistics: Counts { counts.withLock { $0 } }

    /// Queues a write; `done` runs on the writer thread once its batch committed or failed. After `stop()`, `done`
    /// gets a failure at once.
    public func enqueue(
        _ apply: @escaping @Sendable (StoreTransaction) throws(StoreError) -> Void,
        done: @escaping @Sendable (Result<Void, StoreError>) -> Void
    ) {
        pthread_mutex_lock(mutex)
        if stopping {
            pthread_mutex_unlock(mutex)
            done(.failure(StoreError(.io, "the store is closed")))
            return
        }
        queue.append(Write(apply: apply, done: done))
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Writes queued and not yet taken into a batch.
    public var queued: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return queue.count
    }

    /// Test seam: while held, the writer takes no batch, so that what is enqueued meanwhile forms one.
    public func hold(_ on: Bool) {
        pthread_mutex_lock(mutex)
        held = on
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Commits what is queued, ends the thread and waits for it, then closes the directory (releasing its lock).
    /// Idempotent.
    public func stop() {
        pthread_mutex_lock(mutex)
        stopping = true
        held = false
        let running = thread
        thread = nil
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
        if let running {
            pthread_join(running, nil)
            directory.close()
        }
    }

    private func run() {
        while let batch = nextBatch() {
            commit(batch)
        }
    }

    /// Waits for writes and takes up to `maxBatch` of them; nil once stopping with nothing left.
    private func nextBatch() -> [Write]? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while (queue.isEmpty || held) && !stopping { pthread_cond_wait(condition, mutex) }
        if queue.isEmpty { return nil }
        let count = min(queue.count, maxBatch)
        let batch = Array(queue.prefix(count))
        queue.removeFirst(count)
        return batch
    }

    private func commit(_ batch: [Write]) {
        let transaction = StoreTransaction(connection: directory.connection)
        let outcome: Result<Void, StoreError>
        do throws(StoreError) {
            try directory.connection.execute("BEGIN IMMEDIATE")
            do throws(StoreError) {
                for write in batch { try write.apply(transaction) }
                if faults.takeFailure() {
                    throw StoreError(.io, "\(directory.path): commit failed: database or disk is full (injected)")
                }
                try directory.connection.execute("COMMIT")
            } catch {
                try? directory.connection.execute("ROLLBACK")
                throw error
            }
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        counts.withLock { counts in
            if case .success = outcome {
                counts.commits += 1
                counts.stored += batch.count
            } else {
                counts.failed += batch.count
            }
            counts.largestBatch = max(counts.largestBatch, batch.count)
        }
        for write in batch { write.done(outcome) }
    }
}

/// What a write may do inside its batch's transaction: run SQL with bound values. Only valid during `apply`.
public struct StoreTransaction: @unchecked Sendable {  // used only on the writer thread, inside one batch
    let connection: SQLiteConnection

    /// Runs `sql` (no rows) with `values` bound in order (integers, text, or nil for NULL).
    public func execute(_ sql: String, _ values: [StoreValue] = []) throws(StoreError) {
        let statement = try connection.prepare(sql)
        for (index, value) in values.enumerated() {
            switch value {
            case .integer(let number): statement.bind(Int32(index + 1), number)
            case .text(let text): statement.bind(Int32(index + 1), text)
            case .null: statement.bind(Int32(index + 1), nil as String?)
            }
        }
        while try statement.step() {}
    }

    /// The rows of a query's first column, as text.
    public func strings(_ sql: String) throws(StoreError) -> [String] {
        try connection.strings(sql)
    }
}

/// A value bound to a statement.
public enum StoreValue: Sendable, Equatable {
    /// An integer.
    case integer(Int64)
    /// Text.
    case text(String)
    /// NULL.
    case null
}
