import CSQLite

#if canImport(Glibc)
    import Glibc
#endif

/// What an acknowledgement means (issue 13; docs/operations.md will state what each survives).
public enum Durability: String, Sendable, CaseIterable {
    /// Committed and fsynced before the answer: survives a process crash and a power cut.
    case fsync
    /// Committed to the operating system before the answer: survives a process crash, not a power cut.
    case os
    /// Nothing written: today's behaviour, no data directory.
    case memory

    /// SQLite's `synchronous` setting for the mode (WAL journal): FULL syncs the WAL at every commit, NORMAL only at
    /// checkpoints.
    var synchronous: String? {
        switch self {
        case .fsync: "FULL"
        case .os: "NORMAL"
        case .memory: nil
        }
    }
}

/// A data directory opened by one server: created when missing, locked against a second server, and checked to
/// hold taskgate's database of a schema this build reads. Nothing in a directory that fails a check is changed or
/// removed: a foreign, damaged or newer directory is refused with a message that names it, never emptied.
///
/// What the directory may hold: `taskgate.sqlite` (with SQLite's `-wal` and `-shm` beside it in WAL mode) and
/// `taskgate.lock`. A directory that holds anything else and no `taskgate.sqlite` is foreign.
///
/// Owner: it owns the database connection and the lock file's descriptor; `close()` (or `deinit`) closes the one and
/// then the other, and with the descriptor the lock.
public final class StoreDirectory {
    /// The database file's name.
    public static let databaseName = "taskgate.sqlite"
    /// The lock file's name.
    public static let lockName = "taskgate.lock"
    /// What `meta.format` says in every taskgate database.
    static let format = "taskgate-store"
    /// The schema this build writes and reads.
    public static let schemaVersion = 3

    /// The directory.
    public let path: String
    /// The mode it was opened in (`fsync` or `os`).
    public let durability: Durability
    /// The open database.
    let connection: SQLiteConnection
    private var lockDescriptor: Int32

    /// Opens `path` for a server in `durability` (`fsync` or `os`): creates the directory (not its parents) when
    /// missing, takes the lock, and creates or checks the database.
    public init(path: String, durability: Durability) throws(StoreError) {
        precondition(durability != .memory, "the memory mode has no data directory")
        self.path = path
        self.durability = durability
        let entries = try Self.prepareDirectory(path)
        let hasDatabase = entries.contains(Self.databaseName)
        let others = entries.filter {
            ![Self.databaseName, Self.lockName].contains($0) && !$0.hasPrefix(Self.databaseName + "-")
        }
        if !hasDatabase && !others.isEmpty {
            throw StoreError(
                .foreign,
                "\(path) holds files taskgate did not write (\(others.sorted().prefix(5).joined(separator: ", "))) and "
                    + "no \(Self.databaseName); give taskgate an empty or new directory")
        }
        // The lock is taken first and, if a check fails, released last (after the database is closed), and only
        // here: a failed init never reaches `deinit`'s release, so no descriptor is closed twice.
        let descriptor = try Self.lock(path)
        var opened: SQLiteConnection?
        do {
            let database = try SQLiteConnection(path: path + "/" + Self.databaseName)
            opened = database
            try Self.check(database, path: path, durability: durability)
        } catch {
            opened?.close()
            flock(descriptor, LOCK_UN)
            Glibc.close(descriptor)
            throw error
        }
        connection = opened!
        lockDescriptor = descriptor
    }

    deinit {
        close()
    }

    /// Closes the database, then releases the lock. Idempotent; the directory may not be used after it.
    public func close() {
        guard lockDescriptor >= 0 else { return }
        connection.close()
        // Unlock explicitly: a child forked meanwhile (until it execs) shares the lock's open file description, and
        // closing this descriptor alone would leave the lock held for as long as the child has it.
        flock(lockDescriptor, LOCK_UN)
        Glibc.close(lockDescriptor)
        lockDescriptor = -1
    }

    /// Creates the directory when missing and lists its entries.
    private static func prepareDirectory(_ path: String) throws(StoreError) -> [String] {
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw StoreError(.io, "cannot create the data directory \(path): \(String(cString: strerror(errno)))")
        }
        guard let directory = opendir(path) else {
            throw StoreError(.io, "cannot read the data directory \(path): \(String(cString: strerror(errno)))")
        }
        defer { closedir(directory) }
        var entries: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
                String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { entries.append(name) }
        }
        return entries
    }

    /// Takes the directory's lock (`flock` on `taskgate.lock`, held while the descriptor is open, released by the
    /// kernel when the process dies) or refuses.
    private static func lock(_ path: String) throws(StoreError) -> Int32 {
        let lockPath = path + "/" + lockName
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw StoreError(.io, "cannot open \(lockPath): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            Glibc.close(descriptor)
            if reason == EWOULDBLOCK {
                throw StoreError(.locked, "another taskgate server is using the data directory \(path)")
            }
            throw StoreError(.io, "cannot lock \(lockPath): \(String(cString: strerror(reason)))")
        }
        return descriptor
    }

    /// Creates the schema in a new database, or checks an existing one: SQLite's quick check, then that `meta` says
    /// it is taskgate's, of a version this build reads. Then sets the journal and sync modes.
    private static func check(_ connection: SQLiteConnection, path: String, durability: Durability) throws(StoreError) {
        let integrity = try connection.strings("PRAGMA quick_check")
        guard integrity == ["ok"] else {
            throw StoreError(
                .corrupt,
                "\(path)/\(databaseName) is damaged: \(integrity.prefix(3).joined(separator: "; ")); "
                    + "restore it from a backup or move it away")
        }
        let tables = try connection.strings("SELECT name FROM sqlite_master WHERE type = 'table'")
        if tables.isEmpty {
            // New (or created by a start that stopped before its first commit): write the schema in one step.
            // Freed pages are given back to the file system by `PRAGMA incremental_vacuum` (set before any table).
            try connection.execute("PRAGMA auto_vacuum = INCREMENTAL")
            try connection.execute(
                """
                BEGIN;
                CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
                \(TaskRows.schema)
                INSERT INTO meta VALUES ('format', '\(format)'), ('schema_version', '\(schemaVersion)');
                COMMIT;
                """)
        } else {
            guard tables.contains("meta"),
                let found = try? connection.strings("SELECT value FROM meta WHERE key = 'format'"), found == [format]
            else {
                throw StoreError(
                    .foreign,
                    "\(path)/\(databaseName) is an SQLite database taskgate did not write (tables: "
                        + "\(tables.sorted().prefix(5).joined(separator: ", "))); give taskgate its own directory")
            }
            var version = try connection.strings("SELECT value FROM meta WHERE key = 'schema_version'")
            // Older versions get the columns added since, empty, each step in one transaction: 1 -> 2 the completion
            // webhooks, 2 -> 3 the attempts and logs.
            for (from, columns) in [("1", TaskRows.callbackColumns), ("2", TaskRows.profileColumns)]
            where version == [from] {
                let next = String(Int(from)! + 1)
                let added = columns.map { "ALTER TABLE tasks ADD COLUMN \($0);" }
                try connection.execute(
                    """
                    BEGIN;
                    \(added.joined(separator: "\n"))
                    UPDATE meta SET value = '\(next)' WHERE key = 'schema_version';
                    COMMIT;
                    """)
                version = [next]
            }
            guard version == ["\(schemaVersion)"] else {
                throw StoreError(
                    .version,
                    "\(path)/\(databaseName) has schema version \(version.first ?? "none"); this taskgate reads "
                        + "version \(schemaVersion)")
            }
        }
        try connection.execute("PRAGMA journal_mode = WAL")
        try connection.execute("PRAGMA synchronous = \(durability.synchronous!)")
        // After a checkpoint the WAL file is cut back to this size, so it does not stay at its largest.
        try connection.execute("PRAGMA journal_size_limit = 67108864")
        // A page cache of up to 32 MiB (SQLite's default is 2 MiB): under a steady load, retention evicts the oldest
        // finished tasks while new ones are inserted, so two regions of the table are written at once, and with the
        // default the eviction front's pages were read back from the file for each batch (the writer's CPU per task
        // fell by about a tenth; see docs/benchmarks.md).
        try connection.execute("PRAGMA cache_size = -32768")
    }

    /// SQLite's `synchronous` setting in force (2 is FULL, 1 NORMAL), for tests and `/stats`.
    var synchronousSetting: Int64 {
        (try? connection.strings("PRAGMA synchronous")).flatMap { $0.first }.flatMap { Int64($0) } ?? -1
    }

    /// SQLite's journal mode in force.
    var journalMode: String {
        (try? connection.strings("PRAGMA journal_mode"))?.first ?? ""
    }
}
