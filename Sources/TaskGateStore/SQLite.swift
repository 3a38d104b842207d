import CSQLite

/// Why the store refused to open, or failed.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure.
    public enum Kind: Sendable, Equatable {
        /// Another process holds the data directory.
        case locked
        /// The directory or database holds something taskgate did not write.
        case foreign
        /// The database was written by a newer taskgate (a schema this one does not read).
        case version
        /// The database is damaged.
        case corrupt
        /// The disk (or the database's size limit) is full.
        case full
        /// A file operation or SQLite call failed (permissions, I/O).
        case io
    }

    /// What kind of failure.
    public var kind: Kind
    /// What happened, for an operator: the path and the reason.
    public var description: String

    /// An error of `kind`.
    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}

/// One SQLite connection. Owner: it owns its `sqlite3*`, closed in `deinit`. Used from one thread at a time (the
/// store's writer), opened without SQLite's own mutex.
final class SQLiteConnection {
    let handle: OpaquePointer
    let path: String
    private var closed = false
    /// The WAL's size in frames after the last commit, once `trackWAL()` ran (written by SQLite's WAL hook). Owned by
    /// the connection: freed in `deinit`, after the connection closed (no commit can call the hook then).
    private let frames: UnsafeMutablePointer<Int32>

    /// SQLite's process-wide settings, made once before the first connection opens.
    private static let configured: Void = { _ = csqlite_configure() }()

    /// Opens (creating when missing) the database at `path`.
    init(path: String) throws(StoreError) {
        Self.configured
        var opened: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &opened, flags, nil)
        guard status == SQLITE_OK, let opened else {
            let reason = opened.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(status))
            sqlite3_close_v2(opened)
            throw StoreError(.io, "cannot open \(path): \(reason)")
        }
        handle = opened
        self.path = path
        frames = .allocate(capacity: 1)
        frames.initialize(to: 0)
        sqlite3_extended_result_codes(handle, 1)
    }

    deinit {
        close()
        frames.deallocate()
    }

    /// Turns SQLite's automatic checkpoint off and counts the WAL's frames instead (`walFrames`): the owner checkpoints
    /// when it chooses, outside the commits whose acknowledgements wait.
    func trackWAL() {
        csqlite_track_wal(handle, frames)
    }

    /// The WAL's size in frames (pages) after the last commit, since `trackWAL()`; 0 before.
    var walFrames: Int { Int(frames.pointee) }

    /// Copies the WAL's pages into the database file (`PRAGMA wal_checkpoint(PASSIVE)`), so that the next commit
    /// starts the WAL over; `walFrames` is 0 until that commit reports its size. A failure is ignored: the pages stay
    /// in the WAL, and a later checkpoint copies them.
    func checkpoint() {
        frames.pointee = 0
        try? execute("PRAGMA wal_checkpoint(PASSIVE)")
    }

    /// Closes the database (SQLite checkpoints the WAL when the last connection closes). Idempotent; nothing may use
    /// the connection after it.
    func close() {
        guard !closed else { return }
        closed = true
        sqlite3_close_v2(handle)
    }

    /// The last error's message.
    var message: String { String(cString: sqlite3_errmsg(handle)) }

    /// The error for a failed call: damage (`SQLITE_CORRUPT`, `SQLITE_NOTADB`) or anything else.
    func failure(_ status: Int32, _ what: String) -> StoreError {
        switch status & 0xFF {
        case SQLITE_CORRUPT, SQLITE_NOTADB: StoreError(.corrupt, "\(path) is damaged (\(what)): \(message)")
        case SQLITE_FULL: StoreError(.full, "\(path): \(what) failed: \(message)")
        default: StoreError(.io, "\(path): \(what) failed: \(message)")
        }
    }

    /// Runs SQL that returns no rows.
    func execute(_ sql: String) throws(StoreError) {
        let status = sqlite3_exec(handle, sql, nil, nil, nil)
        guard status == SQLITE_OK else { throw failure(status, sql) }
    }

    /// A prepared statement for `sql`.
    func prepare(_ sql: String) throws(StoreError) -> SQLiteStatement {
        var statement: OpaquePointer?
        let status = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard status == SQLITE_OK, let statement else { throw failure(status, sql) }
        return SQLiteStatement(statement, connection: self)
    }

    /// The rows of a query of one text-or-number column, as text.
    func strings(_ sql: String) throws(StoreError) -> [String] {
        let statement = try prepare(sql)
        var values: [String] = []
        while try statement.step() { values.append(statement.text(0) ?? "") }
        return values
    }
}

/// One prepared statement. Owner: it owns its `sqlite3_stmt*`, finalized in `deinit`, and keeps its connection.
final class SQLiteStatement {
    let handle: OpaquePointer
    let connection: SQLiteConnection

    init(_ handle: OpaquePointer, connection: SQLiteConnection) {
        self.handle = handle
        self.connection = connection
    }

    deinit {
        sqlite3_finalize(handle)
    }

    /// Binds a parameter (1-based).
    func bind(_ index: Int32, _ value: Int64) {
        sqlite3_bind_int64(handle, index, value)
    }

    /// Binds a parameter (1-based); SQLite copies the text.
    func bind(_ index: Int32, _ value: String?) {
        guard var text = value else {
            sqlite3_bind_null(handle, index)
            return
        }
        // Bound from the string's own UTF-8 storage (no C copy made first; native strings need none).
        text.withUTF8 { text in
            _ = text.withMemoryRebound(to: CChar.self) { chars in
                guard let start = chars.baseAddress else { return sqlite3_bind_text(handle, index, "", 0, nil) }
                return sqlite3_bind_text(handle, index, start, Int32(chars.count), csqlite_transient())
            }
        }
    }

    /// Binds a blob parameter (1-based), or NULL; SQLite copies the bytes.
    func bind(_ index: Int32, bytes: [UInt8]?) {
        guard let bytes else {
            sqlite3_bind_null(handle, index)
            return
        }
        bytes.withUnsafeBytes { buffer in
            _ = sqlite3_bind_blob(
                handle, index, buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(buffer.count),
                csqlite_transient())
        }
    }

    /// Binds an integer or NULL.
    func bind(_ index: Int32, _ value: Int64?) {
        guard let value else {
            sqlite3_bind_null(handle, index)
            return
        }
        sqlite3_bind_int64(handle, index, value)
    }

    /// Steps: true when a row is ready, false when done (the statement is then reset for the next use).
    func step() throws(StoreError) -> Bool {
        let status = sqlite3_step(handle)
        switch status {
        case SQLITE_ROW: return true
        case SQLITE_DONE:
            sqlite3_reset(handle)
            return false
        default:
            let error = connection.failure(status, String(cString: sqlite3_sql(handle)))
            sqlite3_reset(handle)
            throw error
        }
    }

    /// A column of the current row as text (nil for NULL).
    func text(_ column: Int32) -> String? {
        guard let text = sqlite3_column_text(handle, column) else { return nil }
        return String(cString: text)
    }

    /// A column of the current row as an integer.
    func int64(_ column: Int32) -> Int64 {
        sqlite3_column_int64(handle, column)
    }

    /// A column of the current row as an integer, nil for NULL.
    func optionalInt64(_ column: Int32) -> Int64? {
        sqlite3_column_type(handle, column) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, column)
    }

    /// A column of the current row as bytes, nil for NULL.
    func bytes(_ column: Int32) -> [UInt8]? {
        guard sqlite3_column_type(handle, column) != SQLITE_NULL else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let base = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: base, count: count))
    }
}
