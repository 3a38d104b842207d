import TaskScheduler

/// The `tasks` table: one row per task the scheduler holds, live or evicted (a tombstone), and the statements
/// that write and read it. Ids, fingerprints and times are stored as 64-bit integers (ids and fingerprints by bit
/// pattern, times as nanoseconds since the epoch); states, failure codes and cancel confirms as their wire strings.
///
/// Owner: the statements belong to the store's writer thread after `init` (or to the loading thread before it).
final class TaskRows: @unchecked Sendable {  // its statements are used by one thread at a time (see Owner)
    /// The table, created with the database (schema version 3: version 1, plus the completion webhook columns of
    /// version 2, plus the attempts and logs of version 3).
    static let schema = """
        CREATE TABLE tasks (
            id INTEGER PRIMARY KEY,
            function TEXT NOT NULL,
            args BLOB,
            priority INTEGER NOT NULL,
            timeout_ns INTEGER,
            max_retries INTEGER NOT NULL,
            tags BLOB,
            idempotency_key TEXT,
            fingerprint INTEGER NOT NULL,
            traceparent TEXT,
            created_at INTEGER NOT NULL,
            state TEXT NOT NULL,
            version INTEGER NOT NULL,
            result BLOB,
            error_code TEXT,
            error_detail TEXT,
            attempt INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            started_at INTEGER,
            finished_at INTEGER,
            expires_at INTEGER,
            cancel_requested_at INTEGER,
            cancel_confirm TEXT,
            cancel_worker_finished INTEGER,
            tombstone_until INTEGER,
            \((callbackColumns + profileColumns).joined(separator: ",\n    "))
        );
        """

    /// What schema version 2 added to version 1: a task's `callback_url` and its delivery's state.
    static let callbackColumns = [
        "callback_url TEXT", "callback_state TEXT", "callback_attempts INTEGER", "callback_status INTEGER",
        "callback_error TEXT", "callback_next_at INTEGER", "callback_done_at INTEGER",
    ]

    /// What schema version 3 added: a task's attempts and the tail of its log.
    static let profileColumns = ["attempts BLOB", "logs BLOB", "logs_dropped INTEGER"]

    private let insert: SQLiteStatement
    private let update: SQLiteStatement
    private let evict: SQLiteStatement
    private let forget: SQLiteStatement
    /// Which change of a batch is each task's last record change (reused from batch to batch).
    private var folds = FoldTable()

    init(_ connection: SQLiteConnection) throws(StoreError) {
        insert = try connection.prepare(
            """
            INSERT OR REPLACE INTO tasks (id, state, version, result, error_code, error_detail, attempt, updated_at,
                started_at, finished_at, expires_at, cancel_requested_at, cancel_confirm, cancel_worker_finished,
                callback_state, callback_attempts, callback_status, callback_error, callback_next_at, callback_done_at,
                attempts, logs, logs_dropped, function, args, priority, timeout_ns, max_retries, tags, idempotency_key,
                fingerprint, traceparent, created_at, callback_url)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22,
                ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34)
            """)
        update = try connection.prepare(
            """
            UPDATE tasks SET state = ?2, version = ?3, result = ?4, error_code = ?5, error_detail = ?6, attempt = ?7,
                updated_at = ?8, started_at = ?9, finished_at = ?10, expires_at = ?11, cancel_requested_at = ?12,
                cancel_confirm = ?13, cancel_worker_finished = ?14, callback_state = ?15, callback_attempts = ?16,
                callback_status = ?17, callback_error = ?18, callback_next_at = ?19, callback_done_at = ?20,
                attempts = ?21, logs = ?22, logs_dropped = ?23
            WHERE id = ?1
            """)
        evict = try connection.prepare(
            """
            UPDATE tasks SET args = NULL, result = NULL, error_detail = NULL, tags = NULL, traceparent = NULL,
                callback_url = NULL, callback_error = NULL, attempts = NULL, logs = NULL, tombstone_until = ?2
            WHERE id = ?1
            """)
        forget = try connection.prepare("DELETE FROM tasks WHERE id = ?1")
    }

    /// Writes a batch of changes, folding each task's record changes into one row write: its last record, inserted
    /// when the batch holds its creation, else updated. Evictions and removals are written in their place.
    func write(_ changes: GroupCommitWriter<StoreChange>.Batch) throws(StoreError) {
        folds.reset(for: changes.count)
        for (place, change) in changes.enumerated() {
            switch change {
            case .created(let record): folds.note(record.id, at: place, created: true)
            case .updated(let record): folds.note(record.id, at: place, created: false)
            case .evicted, .forgotten: break
            }
        }
        for (place, change) in changes.enumerated() {
            switch change {
            case .created(let record), .updated(let record):
                if let created = folds.isLast(record.id, at: place) { try write(record, created: created) }
            case .evicted(let id, let until):
                evict.bind(1, Int64(bitPattern: id.rawValue))
                evict.bind(2, until.nanoseconds)
                while try evict.step() {}
            case .forgotten(let id):
                forget.bind(1, Int64(bitPattern: id.rawValue))
                while try forget.step() {}
            }
        }
    }

    /// Writes a task's row: inserted whole when `created`, else its changing part updated.
    private func write(_ record: borrowing TaskRecord, created: Bool) throws(StoreError) {
        if created {
            bindState(insert, record)
            insert.bind(24, record.function)
            insert.bind(25, bytes: record.args.bytes)
            insert.bind(26, Int64(record.priority))
            insert.bind(27, record.timeout.map { $0.nanoseconds })
            insert.bind(28, Int64(record.maxRetries))
            insert.bind(29, bytes: record.tags.isEmpty ? nil : Self.encode(record.tags))
            insert.bind(30, record.idempotencyKey)
            insert.bind(31, Int64(bitPattern: record.fingerprint))
            insert.bind(32, record.traceparent)
            insert.bind(33, record.createdAt.nanoseconds)
            insert.bind(34, record.callbackURL)
            while try insert.step() {}
        } else {
            bindState(update, record)
            while try update.step() {}
        }
    }

    /// Binds parameters 1 to 23: the id and what changes over a task's life.
    private func bindState(_ statement: SQLiteStatement, _ record: borrowing TaskRecord) {
        statement.bind(1, Int64(bitPattern: record.id.rawValue))
        statement.bind(2, record.state.rawValue)
        statement.bind(3, Int64(bitPattern: record.version))
        statement.bind(4, bytes: record.result?.bytes)
        statement.bind(5, record.error?.code.rawValue)
        statement.bind(6, record.error?.detail)
        statement.bind(7, Int64(record.attempt))
        statement.bind(8, record.updatedAt.nanoseconds)
        statement.bind(9, record.startedAt?.nanoseconds)
        statement.bind(10, record.finishedAt?.nanoseconds)
        statement.bind(11, record.expiresAt?.nanoseconds)
        statement.bind(12, record.cancel?.requestedAt.nanoseconds)
        statement.bind(13, record.cancel?.confirm?.rawValue)
        statement.bind(14, record.cancel.map { $0.workerFinished ? 1 : 0 })
        let delivery = record.callback
        statement.bind(15, delivery?.state.rawValue)
        statement.bind(16, delivery.map { Int64($0.attempts) })
        statement.bind(17, delivery?.lastStatus.map { Int64($0) })
        statement.bind(18, delivery?.lastError)
        statement.bind(19, delivery?.nextAttemptAt?.nanoseconds)
        statement.bind(20, delivery?.finishedAt?.nanoseconds)
        statement.bind(21, bytes: ProfileBlobs.encode(record.attempts))
        statement.bind(22, bytes: ProfileBlobs.encode(record.logs))
        statement.bind(23, record.logsDropped == 0 ? nil : Int64(record.logsDropped))
    }

    /// The tombstones, and how many live records there are.
    static func loadTombstones(_ connection: SQLiteConnection) throws(StoreError) -> ([StoredTombstone], Int) {
        let query = try connection.prepare(
            "SELECT id, idempotency_key, fingerprint, tombstone_until FROM tasks WHERE tombstone_until IS NOT NULL")
        var tombstones: [StoredTombstone] = []
        while try query.step() {
            tombstones.append(
                StoredTombstone(
                    id: TaskID(rawValue: UInt64(bitPattern: query.int64(0))),
                    until: Timestamp(nanoseconds: query.int64(3)), idempotencyKey: query.text(1),
                    fingerprint: UInt64(bitPattern: query.int64(2))))
        }
        let live = try connection.strings("SELECT count(*) FROM tasks WHERE tombstone_until IS NULL")
        return (tombstones, live.first.flatMap { Int($0) } ?? 0)
    }

    /// Every live record, in id order, each handed to `add` as it is read.
    static func loadRecords(_ connection: SQLiteConnection, _ add: (TaskRecord) -> Void) throws(StoreError) {
        let query = try connection.prepare(
            """
            SELECT id, state, version, result, error_code, error_detail, attempt, updated_at, started_at, finished_at,
                expires_at, cancel_requested_at, cancel_confirm, cancel_worker_finished, function, args, priority,
                timeout_ns, max_retries, tags, idempotency_key, fingerprint, traceparent, created_at, callback_url,
                callback_state, callback_attempts, callback_status, callback_error, callback_next_at, callback_done_at,
                attempts, logs, logs_dropped
            FROM tasks WHERE tombstone_until IS NULL ORDER BY id
            """)
        // One string storage per function name, shared by all its tasks.
        var functions: [String: String] = [:]
        while try query.step() {
            let id = TaskID(rawValue: UInt64(bitPattern: query.int64(0)))
            guard let state = query.text(1).flatMap(TaskState.init(rawValue:)) else {
                throw StoreError(.corrupt, "task \(id) has the unknown state '\(query.text(1) ?? "")'")
            }
            let name = query.text(14) ?? ""
            let function: String
            if let shared = functions[name] {
                function = shared
            } else {
                functions[name] = name
                function = name
            }
            let error = query.text(4).map { code in
                TaskFailure(code: TaskFailure.Code(rawValue: code) ?? .functionError, detail: query.text(5) ?? "")
            }
            let cancel = query.optionalInt64(11).map { requested in
                CancelInfo(
                    requestedAt: Timestamp(nanoseconds: requested),
                    confirm: query.text(12).flatMap(CancelConfirm.init(rawValue:)),
                    workerFinished: query.int64(13) != 0)
            }
            let delivery = query.text(25).flatMap(CallbackDelivery.State.init(rawValue:)).map { state in
                CallbackDelivery(
                    state: state, attempts: Int(query.int64(26)), lastStatus: query.optionalInt64(27).map { Int($0) },
                    lastError: query.text(28), nextAttemptAt: query.optionalInt64(29).map(Timestamp.init),
                    finishedAt: query.optionalInt64(30).map(Timestamp.init))
            }
            add(
                TaskRecord(
                    id: id, function: function, args: Payload(query.bytes(15) ?? Array("null".utf8)),
                    priority: Int(query.int64(16)), timeout: query.optionalInt64(17).map { .nanoseconds($0) },
                    maxRetries: Int(query.int64(18)), tags: query.bytes(19).map(decode) ?? [],
                    idempotencyKey: query.text(20), fingerprint: UInt64(bitPattern: query.int64(21)),
                    traceparent: query.text(22), createdAt: Timestamp(nanoseconds: query.int64(23)), state: state,
                    version: UInt64(bitPattern: query.int64(2)), result: query.bytes(3).map(Payload.init),
                    error: error, attempt: Int(query.int64(6)), updatedAt: Timestamp(nanoseconds: query.int64(7)),
                    startedAt: query.optionalInt64(8).map(Timestamp.init),
                    finishedAt: query.optionalInt64(9).map(Timestamp.init),
                    expiresAt: query.optionalInt64(10).map(Timestamp.init), cancel: cancel, callbackURL: query.text(24),
                    callback: delivery, attempts: ProfileBlobs.attempts(query.bytes(31)),
                    logs: ProfileBlobs.logs(query.bytes(32)), logsDropped: Int(query.optionalInt64(33) ?? 0)))
        }
    }

    /// Tags as one blob: each tag's UTF-8 length in two bytes (big-endian; a tag is at most 65,535 bytes), then it.
    static func encode(_ tags: [String]) -> [UInt8] {
        var bytes: [UInt8] = []
        for tag in tags {
            let utf8 = Array(tag.utf8.prefix(0xFFFF))
            bytes.append(UInt8(utf8.count >> 8))
            bytes.append(UInt8(utf8.count & 0xFF))
            bytes.append(contentsOf: utf8)
        }
        return bytes
    }

    /// The tags of a blob written by `encode`.
    static func decode(_ bytes: [UInt8]) -> [String] {
        var tags: [String] = []
        var index = 0
        while index + 2 <= bytes.count {
            let count = Int(bytes[index]) << 8 | Int(bytes[index + 1])
            let end = min(bytes.count, index + 2 + count)
            tags.append(String(decoding: bytes[(index + 2)..<end], as: UTF8.self))
            index = end
        }
        return tags
    }
}

/// For one batch: each task's last record change, and whether the batch holds its creation. An open-addressing
/// table keyed by task id (ids are sequential, so the low bits spread them), reused from batch to batch.
struct FoldTable {
    private var ids: [UInt64] = []
    private var last: [Int] = []
    private var created: [Bool] = []
    private var used: [Int] = []
    private var mask = 0

    /// Empties the table and sizes it for `count` changes.
    mutating func reset(for count: Int) {
        for slot in used { ids[slot] = 0 }
        used.removeAll(keepingCapacity: true)
        var size = max(16, ids.count)
        while size < count * 2 { size *= 2 }
        if size != ids.count {
            ids = Array(repeating: 0, count: size)
            last = Array(repeating: 0, count: size)
            created = Array(repeating: false, count: size)
        }
        mask = size - 1
    }

    /// Notes that the change at `index` is a record change of task `id` (its creation when `created`).
    mutating func note(_ id: TaskID, at index: Int, created isCreation: Bool) {
        let slot = find(id.rawValue)
        if ids[slot] == 0 {
            ids[slot] = id.rawValue
            used.append(slot)
            created[slot] = false
        }
        last[slot] = index
        if isCreation { created[slot] = true }
    }

    /// Whether the change at `index` is task `id`'s last record change in the batch: nil if not, else whether the
    /// batch holds its creation (the row is then inserted).
    func isLast(_ id: TaskID, at index: Int) -> Bool? {
        let slot = find(id.rawValue)
        guard ids[slot] == id.rawValue, last[slot] == index else { return nil }
        return created[slot]
    }

    /// The slot holding `id`, or the empty one where it would go. Task ids start at 1, so 0 marks an empty slot.
    private func find(_ id: UInt64) -> Int {
        var slot = Int(truncatingIfNeeded: (id &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
        while ids[slot] != 0 && ids[slot] != id { slot = (slot + 1) & mask }
        return slot
    }
}
