import CSQLite
import HeapModule
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The store's one writer: a thread that commits every item that arrived while it was busy as one transaction, so
/// one fsync (in `fsync` mode) covers many items. No timer forms the batches. The window is the time the previous
/// commit took, so a lone item commits at once, and under load the batches grow with the arrival rate.
///
/// Items are numbered in the order they are enqueued, from 1. `committed` is the number of the last item stored:
/// every item up to it is in the database. An acknowledgement waits for it (`whenCommitted`).
///
/// A failed batch (disk full, I/O error) is rolled back whole, so nothing of it is stored, and the same batch is
/// tried again, with a growing pause, until it commits: the writer never drops an item the caller's memory already
/// holds, and it recovers by itself when space returns. Meanwhile `failure` says why, callers waiting longer than
/// their timeout are told the failure, and new items keep queueing behind the batch.
///
/// Owner: the writer owns the thread, started in `init` and joined in `stop()` (which first commits what is
/// queued), and the directory, closed in `stop()`. The directory's connection is used only on that thread from
/// `init` until the thread ends. `stop()` must be called: the running thread keeps the writer alive.
public final class GroupCommitWriter<Item: Sendable>: @unchecked Sendable {
    // `chunks`, `spareChunks`, `queuedCount`, `enqueued`, `waiters`, `failing`, `stopping`, `held`, `progress`,
    // `demand` and `lingering` are guarded by `mutex`; `directory` and `apply` are used only on the writer thread;
    // `committedSeq`, `counts`, `faults` and `waitingUnawaited` (written only under `mutex`) are synchronized
    // themselves.

    /// Writes one batch of items inside its transaction.
    public typealias Apply = @Sendable (Batch, StoreTransaction) throws(StoreError) -> Void

    /// The items of one batch, in the order they were enqueued. They stay in the arrays they were enqueued in: the
    /// batch is not a copy of them (an item that holds references would cost a retain and a release each).
    public struct Batch: Sequence {
        let chunks: [[Item]]
        /// How many items.
        public let count: Int

        init(chunks: [[Item]], count: Int) {
            self.chunks = chunks
            self.count = count
        }

        /// The items of `items`, as one batch.
        public init(_ items: [Item]) {
            self.init(chunks: [items], count: items.count)
        }

        /// The items in order.
        public func makeIterator() -> FlattenSequence<[[Item]]>.Iterator { chunks.joined().makeIterator() }
    }

    /// Housekeeping run in a transaction of its own while nothing waits to be written.
    public typealias Maintenance = @Sendable (StoreTransaction) throws(StoreError) -> MaintenanceStep

    /// What one step of housekeeping did.
    public enum MaintenanceStep: Sendable {
        /// Nothing was left to do.
        case nothing
        /// Some work, and there is more.
        case more
        /// The last of the work: the writer then checkpoints the WAL, so what the work gave back (pages freed by
        /// a vacuum) leaves the database file now rather than at the next automatic checkpoint.
        case done
    }

    /// Counts for the metrics and tests.
    public struct Counts: Sendable, Equatable {
        /// Transactions committed.
        public var commits = 0
        /// Items committed.
        public var stored = 0
        /// Commits that failed (each retried).
        public var failedCommits = 0
        /// The largest batch so far.
        public var largestBatch = 0
        /// Total time spent committing (successful commits), in nanoseconds.
        public var commitNanoseconds: Int64 = 0
    }

    /// A seam for tests of the failure paths: makes the next commits fail as a full disk would.
    public final class Faults: Sendable {
        private let failingCommits = Atomic<Int>(0)

        /// Makes the next `count` commits fail with SQLite's "database or disk is full".
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

    struct Waiter: Comparable {
        var seq: UInt64
        var deadline: Int64
        var order: UInt64
        var action: @Sendable (Result<Void, StoreError>) -> Void

        static func < (lhs: Waiter, rhs: Waiter) -> Bool { (lhs.seq, lhs.order) < (rhs.seq, rhs.order) }
        static func == (lhs: Waiter, rhs: Waiter) -> Bool { (lhs.seq, lhs.order) == (rhs.seq, rhs.order) }
    }

    /// How the writer paces itself against the threads that feed it.
    public struct Pacing: Sendable {
        /// When at least `busyWaiters` acknowledgements wait for commits as the writer takes a batch (many clients at
        /// once: a load), and fewer than `fullBatch` items are queued, the writer waits up to this long for more
        /// before it commits (zero: never), so each commit's fixed cost is shared by more items and more answers. A
        /// linger also ends after a quarter of it in which nothing arrived. A lone client's changes commit at once.
        public var linger: Duration = .zero
        /// How many waiting acknowledgements make the writer linger.
        public var busyWaiters = 8
        /// The batch size that ends a linger at once.
        public var fullBatch = 64
        /// The writer thread's nice value (0 keeps the process's): above 0, the threads that serve requests win
        /// the CPU when it is short, and the writer catches up with larger batches.
        public var niceness: Int32 = 0
        /// When nothing waits for what is queued (no acknowledgement, no `whenCommitted` callback), the writer waits
        /// up to this long (zero: never) for one more item or for something to wait, then commits. A request that
        /// waits for its task to finish (`Prefer: wait`) is answered with the task's finish; its creation, which
        /// nobody waits for, would otherwise start a commit of its own just before the finish arrives, and the
        /// answer would wait for two commits (two fsyncs) instead of one. Nothing acknowledged waits longer: an
        /// acknowledgement that starts waiting ends the wait at once (`whenCommitted`, `nudge`).
        public var unawaitedWindow: Duration = .zero
        /// The WAL's size, in pages, at which the writer checkpoints it (copies its pages into the database file, which
        /// then lets the WAL start over), after the acknowledgements of the commit that reached it were released; 0
        /// keeps SQLite's automatic checkpoint, which runs inside that commit (at 1,000 pages) and so delays them. A
        /// larger threshold makes each checkpoint, and the writer's stall during it, longer.
        public var checkpointPages = 0

        /// No linger, the process's priority.
        public init() {}
    }

    /// The most items in one transaction (a bound on how long one commit holds the writer).
    public let maxBatch: Int
    /// Test seam: injected commit failures.
    public let faults = Faults()
    /// Called on the writer thread after each commit attempt, with its outcome, batch size and duration (metrics).
    private let observe: (@Sendable (Result<Void, StoreError>, Int, Duration) -> Void)?
    private let directory: StoreDirectory
    // Released after the thread ends, before the directory closes: what they hold (prepared statements) must be
    // finalized first, or SQLite keeps the connection open and does not checkpoint its WAL.
    private var apply: Apply?
    private var maintenance: Maintenance?
    /// BEGIN IMMEDIATE, COMMIT and ROLLBACK, prepared once (`sqlite3_exec` would parse them for every batch).
    private var transactionStatements: (begin: SQLiteStatement, commit: SQLiteStatement, rollback: SQLiteStatement)?
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    /// What is queued, as enqueued: one array per `enqueue` (appending the caller's array copies no item on its
    /// thread; the writer flattens them into a batch on its own).
    private var chunks: [[Item]] = []
    private var spareChunks: [[Item]] = []
    private var queuedCount = 0
    private var enqueued: UInt64 = 0
    private var waiters = Heap<Waiter>()
    private var waiterOrder: UInt64 = 0
    private var failing: StoreError?
    private var stopping = false
    private var held = false
    private var progress: (@Sendable () -> Void)?
    private let pacing: Pacing
    /// How many acknowledgements wait for commits outside `waiters` (answers parked by an event loop); see
    /// `onDemand`.
    private var demand: (@Sendable () -> Int)?
    /// Set while the writer lingers for a fuller batch: an enqueue that fills it wakes the writer.
    private var lingering = false
    /// Set while the writer waits with nothing awaited (`Pacing.unawaitedWindow`): an enqueue, a new waiter or a
    /// `nudge` wakes it. Written under `mutex`; atomic because `nudge` reads it without.
    private let waitingUnawaited = Atomic<Bool>(false)
    private var thread: pthread_t?
    private let committedSeq = Atomic<UInt64>(0)
    /// Mirrors `failing != nil` for readers that poll it often (an event loop with parked answers) without the mutex.
    private let failingFlag = Atomic<Bool>(false)
    private let counts = Mutex(Counts())

    /// Starts the writer thread over `directory`; `apply` writes each batch. With `startHeld` it takes no batch (and
    /// does not touch the connection) until `hold(false)`, so the caller may still read the database meanwhile.
    public init(
        directory: StoreDirectory, maxBatch: Int = 4_096, pacing: Pacing = Pacing(),
        observe: (@Sendable (Result<Void, StoreError>, Int, Duration) -> Void)? = nil,
        maintenance: Maintenance? = nil, startHeld: Bool = false, apply: @escaping Apply
    ) throws(StoreError) {
        self.held = startHeld
        self.directory = directory
        self.maxBatch = maxBatch
        self.pacing = pacing
        self.observe = observe
        self.maintenance = maintenance
        self.apply = apply
        transactionStatements = (
            try directory.connection.prepare("BEGIN IMMEDIATE"), try directory.connection.prepare("COMMIT"),
            try directory.connection.prepare("ROLLBACK")
        )
        if pacing.checkpointPages > 0 { directory.connection.trackWAL() }
        mutex = .allocate(capacity: 1)
        condition = Self.monotonicCondition()
        pthread_mutex_init(mutex, nil)
        let started = startThread()
        guard started == 0 else {
            throw StoreError(.io, "cannot start the store's writer thread (error \(started))")
        }
    }

    /// Starts the writer thread; it keeps `self` alive until it ends. Returns `pthread_create`'s result.
    private func startThread() -> Int32 {
        var handle = pthread_t()
        let context = Unmanaged.passRetained(ThreadBody { self.run() }).toOpaque()
        let started = pthread_create(
            &handle, nil,
            { argument in
                let body = Unmanaged<ThreadBody>.fromOpaque(argument!)
                body.takeUnretainedValue().run()
                body.release()
                return nil
            }, context)
        if started == 0 {
            thread = handle
        } else {
            Unmanaged<ThreadBody>.fromOpaque(context).release()
        }
        return started
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// What the writer has done so far.
    public var statistics: Counts { counts.withLock { $0 } }

    /// The number of the last item stored: every item up to it is committed.
    public var committed: UInt64 { committedSeq.load(ordering: .acquiring) }

    /// Whether the last commit failed (the writer is retrying it); a lock-free read of `failure != nil`.
    public var isFailing: Bool { failingFlag.load(ordering: .acquiring) }

    /// Why the last commit failed, while the writer is retrying it; nil when it is healthy.
    public var failure: StoreError? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return failing
    }

    /// Queues items and returns the number of the last one. Items enqueued after `stop()` are not stored (and
    /// `whenCommitted` on them reports the store closed).
    @discardableResult
    public func enqueue(_ items: [Item]) -> UInt64 {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        enqueued += UInt64(items.count)
        if stopping || items.isEmpty { return enqueued }
        let wasEmpty = chunks.isEmpty
        chunks.append(items)
        queuedCount += items.count
        if wasEmpty || waitingUnawaited.load(ordering: .relaxed) || lingering && queuedCount >= pacing.fullBatch {
            pthread_cond_signal(condition)
        }
        return enqueued
    }

    /// Queues items and returns the number of the last one (see `enqueue(_: [Item])`).
    @discardableResult
    public func enqueue(_ items: some Collection<Item>) -> UInt64 {
        enqueue(Array(items))
    }

    /// Items queued and not yet taken into a batch.
    public var queued: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return queuedCount
    }

    /// Runs `action` once item `seq` is committed (at once, on the caller's thread, when it is already; else on the
    /// writer thread). While commits fail, an action waiting longer than `timeout` gets the failure instead; after
    /// `stop()`, one whose item was not stored gets a "store closed" failure.
    public func whenCommitted(
        _ seq: UInt64, timeout: Duration, _ action: @escaping @Sendable (Result<Void, StoreError>) -> Void
    ) {
        if seq <= committed {
            action(.success(()))
            return
        }
        pthread_mutex_lock(mutex)
        if seq <= committed || stopping && thread == nil {
            pthread_mutex_unlock(mutex)
            action(seq <= committed ? .success(()) : .failure(StoreError(.io, "the store is closed")))
            return
        }
        waiterOrder += 1
        let deadline = Self.monotonicNow() &+ timeout.nanoseconds
        waiters.insert(Waiter(seq: seq, deadline: deadline, order: waiterOrder, action: action))
        if waitingUnawaited.load(ordering: .relaxed) { pthread_cond_signal(condition) }
        pthread_mutex_unlock(mutex)
    }

    /// Tells the writer that an acknowledgement counted by `onDemand` has started waiting: a writer waiting with
    /// nothing awaited (`Pacing.unawaitedWindow`) commits now. Cheap when it is not waiting (one atomic load). Call it
    /// after the count has grown.
    public func nudge() {
        guard waitingUnawaited.load(ordering: .sequentiallyConsistent) else { return }
        pthread_mutex_lock(mutex)
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Sets what runs on the writer thread after each commit attempt, once `committed` and `failure` say its
    /// outcome (nil removes it): an event loop that parks answers itself wakes up here to send those now stored.
    public func onProgress(_ action: (@Sendable () -> Void)?) {
        pthread_mutex_lock(mutex)
        progress = action
        pthread_mutex_unlock(mutex)
    }

    /// Sets how many acknowledgements wait for commits besides the writer's own `whenCommitted` callbacks (an event
    /// loop's parked answers; nil counts only the callbacks): the writer lingers for a fuller batch only while
    /// `Pacing.busyWaiters` or more wait.
    public func onDemand(_ count: (@Sendable () -> Int)?) {
        pthread_mutex_lock(mutex)
        demand = count
        pthread_mutex_unlock(mutex)
    }

    /// Test seam: while held, the writer takes no batch, so that what is enqueued meanwhile forms one.
    public func hold(_ on: Bool) {
        pthread_mutex_lock(mutex)
        held = on
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Commits what is queued (trying a failing batch a few more times), ends the thread and waits for it, then
    /// closes the directory (releasing its lock). Waiters whose items were not stored are told so. Idempotent.
    public func stop() {
        pthread_mutex_lock(mutex)
        stopping = true
        held = false
        let running = thread
        thread = nil
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
        guard let running else { return }
        pthread_join(running, nil)
        apply = nil
        maintenance = nil
        transactionStatements = nil
        directory.close()
        pthread_mutex_lock(mutex)
        var left: [Waiter] = []
        while let waiter = waiters.popMin() { left.append(waiter) }
        pthread_mutex_unlock(mutex)
        let closed = StoreError(.io, "the store closed before this write was stored")
        for waiter in left { waiter.action(waiter.seq <= committed ? .success(()) : .failure(closed)) }
    }

    private func run() {
        csqlite_name_thread("taskgate-store")
        if pacing.niceness != 0 { _ = csqlite_nice_thread(pacing.niceness) }
        while let (batch, last) = nextBatch() {
            var pause: Int64 = 10_000_000
            var attemptsWhileStopping = 0
            while true {
                let outcome = commit(batch)
                if case .failure(let error) = outcome {
                    let stop = settleFailure(error, pause: pause)
                    if stop {
                        attemptsWhileStopping += 1
                        if attemptsWhileStopping >= 3 { break }
                    }
                    pause = min(pause * 2, 1_000_000_000)
                    continue
                }
                settleSuccess(through: last)
                checkpointWhenDue()
                break
            }
            recycle(batch)
            maintainWhileIdle()
        }
    }

    /// Runs `maintenance` step by step while no item waits; a failed step is left for a later idle moment.
    private func maintainWhileIdle() {
        guard let maintenance else { return }
        while isIdle {
            var step = MaintenanceStep.nothing
            do throws(StoreError) {
                try inTransaction { () throws(StoreError) in
                    step = try maintenance(StoreTransaction(connection: directory.connection))
                }
            } catch {
                return
            }
            switch step {
            case .more: continue
            case .nothing: return
            case .done:
                // A failed checkpoint is harmless: a later one copies the same pages.
                directory.connection.checkpoint()
                return
            }
        }
    }

    /// With `Pacing.checkpointPages`: checkpoints the WAL once it has grown to that size. Runs after a commit's
    /// acknowledgements were released, so none of them waits for it. A failed checkpoint is tried again after a
    /// later commit.
    private func checkpointWhenDue() {
        guard pacing.checkpointPages > 0, directory.connection.walFrames >= pacing.checkpointPages else { return }
        directory.connection.checkpoint()
    }

    /// Runs `body` in a transaction of its own (`BEGIN IMMEDIATE`), committed when it returns and rolled back when it
    /// throws.
    private func inTransaction(_ body: () throws(StoreError) -> Void) throws(StoreError) {
        guard let statements = transactionStatements else { throw StoreError(.io, "the store is closed") }
        while try statements.begin.step() {}
        do throws(StoreError) {
            try body()
            while try statements.commit.step() {}
        } catch {
            _ = try? statements.rollback.step()
            throw error
        }
    }

    private var isIdle: Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return chunks.isEmpty && !stopping && failing == nil
    }

    /// Waits for items and takes up to `maxBatch` of them with the number of the last; nil once stopping with
    /// nothing left.
    private func nextBatch() -> (Batch, UInt64)? {
        pthread_mutex_lock(mutex)
        while true {
            while (chunks.isEmpty || held) && !stopping { pthread_cond_wait(condition, mutex) }
            waitWhileUnawaited()
            if !held || stopping { break }
        }
        if pacing.linger > .zero && queuedCount < pacing.fullBatch && !stopping
            && (demand?() ?? waiters.count) >= pacing.busyWaiters
        {
            // In quarters of the linger: a quarter in which nothing more arrived ends it (the load has passed, and a
            // lone request should not wait for company that is not coming).
            let end = Self.monotonicNow() + pacing.linger.nanoseconds
            let step = max(pacing.linger.nanoseconds / 4, 1)
            lingering = true
            while queuedCount < pacing.fullBatch && !stopping {
                let before = queuedCount
                var deadline = Self.deadline(at: min(Self.monotonicNow() + step, end))
                while queuedCount < pacing.fullBatch && !stopping {
                    if pthread_cond_timedwait(condition, mutex, &deadline) == ETIMEDOUT { break }
                }
                if queuedCount == before || Self.monotonicNow() >= end { break }
            }
            lingering = false
        }
        if chunks.isEmpty {
            pthread_mutex_unlock(mutex)
            return nil
        }
        var taken: [[Item]]
        var count = 0
        if queuedCount <= maxBatch {
            // The usual case: everything queued, swapped out with the spare list (no allocation under the lock).
            taken = chunks
            chunks = spareChunks
            spareChunks = []
            count = queuedCount
        } else {
            taken = []
            var used = 0
            while count < maxBatch {
                let chunk = chunks[used]
                let room = maxBatch - count
                if chunk.count <= room {
                    taken.append(chunk)
                    count += chunk.count
                    used += 1
                } else {
                    taken.append(Array(chunk.prefix(room)))
                    chunks[used] = Array(chunk.dropFirst(room))
                    count += room
                }
            }
            chunks.removeFirst(used)
        }
        queuedCount -= count
        let last = enqueued - UInt64(queuedCount)
        pthread_mutex_unlock(mutex)
        return (Batch(chunks: taken, count: count), last)
    }

    /// Gives the emptied list of a committed batch's arrays back for the next swap (no allocation under the lock).
    private func recycle(_ batch: consuming Batch) {
        // Moved out of the batch, so the list is unique and keeps its buffer (its arrays, and their items, go here).
        var chunks = (consume batch).chunks
        chunks.removeAll(keepingCapacity: true)
        pthread_mutex_lock(mutex)
        if spareChunks.capacity < chunks.capacity { spareChunks = chunks }
        pthread_mutex_unlock(mutex)
    }

    /// With `Pacing.unawaitedWindow`, and nothing waiting for a commit: waits (the mutex held, released meanwhile)
    /// until one more item arrives, something starts to wait, the writer stops, or the window ends.
    private func waitWhileUnawaited() {
        guard pacing.unawaitedWindow > .zero, !stopping, !held, waiters.isEmpty else { return }
        // The flag is set before the demand is read, and a parked answer is counted before it nudges: one of the two
        // sees the other (both sequentially consistent), so an answer is never left behind a window.
        waitingUnawaited.store(true, ordering: .sequentiallyConsistent)
        defer { waitingUnawaited.store(false, ordering: .sequentiallyConsistent) }
        let arrived = enqueued
        var deadline = Self.deadline(at: Self.monotonicNow() + pacing.unawaitedWindow.nanoseconds)
        while enqueued == arrived && waiters.isEmpty && (demand?() ?? 0) == 0 && !stopping && !held {
            if pthread_cond_timedwait(condition, mutex, &deadline) == ETIMEDOUT { break }
        }
    }

    private func settleSuccess(through last: UInt64) {
        committedSeq.store(last, ordering: .releasing)
        var ready: [Waiter] = []
        pthread_mutex_lock(mutex)
        failing = nil
        failingFlag.store(false, ordering: .releasing)
        while let first = waiters.min, first.seq <= last { ready.append(waiters.removeMin()) }
        let progress = self.progress
        pthread_mutex_unlock(mutex)
        for waiter in ready { waiter.action(.success(())) }
        progress?()
    }

    /// Records a failed commit, tells waiters past their deadline, and pauses before the retry (cut short by
    /// `stop()`). Returns whether the writer is stopping.
    private func settleFailure(_ error: StoreError, pause: Int64) -> Bool {
        let now = Self.monotonicNow()
        var expired: [Waiter] = []
        pthread_mutex_lock(mutex)
        failing = error
        failingFlag.store(true, ordering: .releasing)
        var keep: [Waiter] = []
        while let waiter = waiters.popMin() {
            if waiter.deadline <= now { expired.append(waiter) } else { keep.append(waiter) }
        }
        waiters = Heap(keep)
        if !stopping {
            var deadline = Self.deadline(at: Self.monotonicNow() + pause)
            _ = pthread_cond_timedwait(condition, mutex, &deadline)
        }
        let stopping = self.stopping
        let progress = self.progress
        pthread_mutex_unlock(mutex)
        for waiter in expired { waiter.action(.failure(error)) }
        progress?()
        return stopping
    }

    private func commit(_ batch: Batch) -> Result<Void, StoreError> {
        let transaction = StoreTransaction(connection: directory.connection)
        let started = Self.monotonicNow()
        let outcome: Result<Void, StoreError>
        do throws(StoreError) {
            try inTransaction { () throws(StoreError) in
                try apply?(batch, transaction)
                if faults.takeFailure() {
                    throw StoreError(.full, "\(directory.path): commit failed: database or disk is full (injected)")
                }
            }
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        let elapsed = Self.monotonicNow() - started
        counts.withLock { counts in
            if case .success = outcome {
                counts.commits += 1
                counts.stored += batch.count
                counts.commitNanoseconds += elapsed
            } else {
                counts.failedCommits += 1
            }
            counts.largestBatch = max(counts.largestBatch, batch.count)
        }
        observe?(outcome, batch.count, .nanoseconds(elapsed))
        return outcome
    }

    /// A condition variable whose timed waits use the monotonic clock.
    private static func monotonicCondition() -> UnsafeMutablePointer<pthread_cond_t> {
        let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
        return condition
    }

    /// A monotonic-clock instant, in nanoseconds, as a `timespec` for timed waits.
    static func deadline(at nanoseconds: Int64) -> timespec {
        timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
    }

    static func monotonicNow() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}

/// What a thread runs, boxed for `pthread_create` (whose C entry point cannot name a generic type). Owner: the
/// thread's entry releases it when `run` returns.
final class ThreadBody {
    let run: () -> Void

    init(_ run: @escaping () -> Void) {
        self.run = run
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

    /// The first column of a query's first row as an integer (0 when there is none).
    public func integer(_ sql: String) throws(StoreError) -> Int64 {
        let statement = try connection.prepare(sql)
        guard try statement.step() else { return 0 }
        let value = statement.int64(0)
        while try statement.step() {}
        return value
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
