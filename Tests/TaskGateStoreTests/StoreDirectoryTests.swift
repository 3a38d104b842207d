import CSQLite
import TaskGateTesting
import TaskScheduler
import Testing

@testable import TaskGateStore

#if canImport(Glibc)
    import Glibc
#endif

/// The data directory: created, locked against a second server, and refused without being touched when it is
/// foreign, damaged or of a newer schema.
struct StoreDirectoryTests {
    /// A fresh empty directory under the system's temporary directory, removed by `cleanup`.
    final class TemporaryDirectory {
        let path: String

        init() {
            path = makeTemporaryDirectory(prefix: "taskgate-store")
        }

        deinit {
            remove(path)
        }

        private func remove(_ path: String) {
            if let directory = opendir(path) {
                while let entry = readdir(directory) {
                    let name = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
                        String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
                    }
                    if name == "." || name == ".." { continue }
                    let child = path + "/" + name
                    if unlink(child) != 0 { remove(child) }
                }
                closedir(directory)
            }
            rmdir(path)
        }

        func write(_ name: String, _ bytes: [UInt8]) {
            let fd = open(path + "/" + name, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            precondition(fd >= 0)
            _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            Glibc.close(fd)
        }

        /// A file's size in bytes (0 when missing).
        func size(_ name: String) -> Int {
            var status = stat()
            return stat(path + "/" + name, &status) == 0 ? Int(status.st_size) : 0
        }

        func read(_ name: String) -> [UInt8] {
            let fd = open(path + "/" + name, O_RDONLY)
            guard fd >= 0 else { return [] }
            defer { Glibc.close(fd) }
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if count <= 0 { break }
                bytes += buffer[0..<count]
            }
            return bytes
        }

        /// Runs SQL on a database file of this directory with SQLite directly (to make foreign or newer ones).
        func sqlite(_ name: String, _ sql: String) {
            var db: OpaquePointer?
            precondition(sqlite3_open(path + "/" + name, &db) == SQLITE_OK)
            precondition(sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK, String(cString: sqlite3_errmsg(db)))
            sqlite3_close(db)
        }
    }

    func refusal(_ path: String, _ durability: Durability = .fsync) -> StoreError? {
        do {
            _ = try StoreDirectory(path: path, durability: durability)
            return nil
        } catch {
            return error
        }
    }

    /// Writes `bytes` as the database file, then expects a start to be refused as `kind` (its message naming
    /// `mention`) and the file to be left exactly as it was.
    func expectRefused(
        _ temporary: TemporaryDirectory, database bytes: [UInt8], as kind: StoreError.Kind,
        mentioning mention: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        temporary.write(StoreDirectory.databaseName, bytes)
        let refused = refusal(temporary.path)
        #expect(refused?.kind == kind, sourceLocation: sourceLocation)
        if let mention {
            #expect(refused?.description.contains(mention) == true, sourceLocation: sourceLocation)
        }
        #expect(temporary.read(StoreDirectory.databaseName) == bytes, sourceLocation: sourceLocation)
    }

    @Test func aNewDirectoryIsCreatedAndOpensAgainWithItsMode() throws {
        let temporary = TemporaryDirectory()
        let path = temporary.path + "/data"
        do {
            let store = try StoreDirectory(path: path, durability: .fsync)
            #expect(store.synchronousSetting == 2)
            #expect(store.journalMode == "wal")
        }
        let store = try StoreDirectory(path: path, durability: .os)
        #expect(store.synchronousSetting == 1)
        #expect(try store.connection.strings("SELECT value FROM meta WHERE key = 'schema_version'") == ["3"])
    }

    @Test func aMissingParentIsAnIOErrorNotACreatedTree() {
        let temporary = TemporaryDirectory()
        #expect(refusal(temporary.path + "/missing/data")?.kind == .io)
        #expect(opendir(temporary.path + "/missing") == nil)
    }

    @Test func aSecondServerIsRefusedUntilTheFirstCloses() throws {
        let temporary = TemporaryDirectory()
        let first = try StoreDirectory(path: temporary.path, durability: .fsync)
        let refused = refusal(temporary.path)
        #expect(refused?.kind == .locked)
        #expect(refused?.description.contains(temporary.path) == true)
        first.close()
        #expect(refusal(temporary.path) == nil)
    }

    @Test func aDirectoryOfOtherFilesIsRefusedAndLeftAlone() {
        let temporary = TemporaryDirectory()
        temporary.write("PG_VERSION", Array("15\n".utf8))
        let refused = refusal(temporary.path)
        #expect(refused?.kind == .foreign)
        #expect(refused?.description.contains("PG_VERSION") == true)
        #expect(temporary.read("PG_VERSION") == Array("15\n".utf8))
        #expect(temporary.read(StoreDirectory.databaseName).isEmpty)
    }

    @Test func aFileThatIsNotADatabaseIsRefusedAsDamagedAndKept() {
        let temporary = TemporaryDirectory()
        let garbage = Array(repeating: Array("not a database ".utf8), count: 400).flatMap { $0 }
        expectRefused(temporary, database: garbage, as: .corrupt, mentioning: "damaged")
    }

    @Test func aStoreWhoseHeaderWasOverwrittenIsRefusedAsDamaged() throws {
        let temporary = TemporaryDirectory()
        do { _ = try StoreDirectory(path: temporary.path, durability: .fsync) }
        var bytes = temporary.read(StoreDirectory.databaseName)
        #expect(bytes.count >= 100)
        for index in 0..<16 { bytes[index] = 0x41 }
        expectRefused(temporary, database: bytes, as: .corrupt)
    }

    @Test func aDamagedPageInsideTheStoreIsFoundAtStartAndRefused() throws {
        let temporary = TemporaryDirectory()
        do { _ = try StoreDirectory(path: temporary.path, durability: .fsync) }
        // Enough rows for a b-tree of several pages, then one page in the middle overwritten.
        temporary.sqlite(
            StoreDirectory.databaseName,
            """
            CREATE TABLE filler (id INTEGER PRIMARY KEY, text TEXT);
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
            INSERT INTO filler SELECT i, printf('%0200d', i) FROM n;
            """)
        var bytes = temporary.read(StoreDirectory.databaseName)
        #expect(bytes.count > 16 * 4_096)
        for index in (8 * 4_096)..<(9 * 4_096) { bytes[index] = 0xA5 }
        expectRefused(temporary, database: bytes, as: .corrupt, mentioning: "damaged")
    }

    /// Damage SQLite's integrity check reports as findings rather than as an error: a wrong free-list count in the
    /// header.
    @Test func damageTheQuickCheckReportsIsRefusedWithItsFindings() throws {
        let temporary = TemporaryDirectory()
        do { _ = try StoreDirectory(path: temporary.path, durability: .fsync) }
        var bytes = temporary.read(StoreDirectory.databaseName)
        bytes[36..<40] = [0, 0, 0, 5]
        expectRefused(temporary, database: bytes, as: .corrupt, mentioning: "freelist")
    }

    @Test func anotherProgramsSQLiteDatabaseIsRefusedAsForeign() {
        let temporary = TemporaryDirectory()
        temporary.sqlite(StoreDirectory.databaseName, "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        let refused = refusal(temporary.path)
        #expect(refused?.kind == .foreign)
        #expect(refused?.description.contains("users") == true)
    }

    @Test func aNewerSchemaIsRefusedAndNotDowngraded() throws {
        let temporary = TemporaryDirectory()
        do { _ = try StoreDirectory(path: temporary.path, durability: .os) }
        temporary.sqlite(StoreDirectory.databaseName, "UPDATE meta SET value = '99' WHERE key = 'schema_version'")
        let refused = refusal(temporary.path)
        #expect(refused?.kind == .version)
        #expect(refused?.description.contains("99") == true)
        temporary.sqlite(StoreDirectory.databaseName, "UPDATE meta SET value = '3' WHERE key = 'schema_version'")
        #expect(refusal(temporary.path) == nil)
    }

    /// A version 1 database (before completion webhooks) gets the columns of versions 2 and 3, keeps its rows, and
    /// says version 3.
    @Test func aVersionOneDatabaseIsMigratedInPlace() throws {
        let temporary = TemporaryDirectory()
        do {
            let directory = try StoreDirectory(path: temporary.path, durability: .os)
            defer { directory.close() }
            try directory.connection.execute(
                "INSERT INTO tasks (id, function, priority, max_retries, fingerprint, created_at, state, version, "
                    + "attempt, updated_at) VALUES (7, 'f', 0, 3, 0, 1, 'pending', 1, 1, 1)")
        }
        let dropped = (TaskRows.callbackColumns + TaskRows.profileColumns).map {
            "ALTER TABLE tasks DROP COLUMN \($0.split(separator: " ")[0]);"
        }
        temporary.sqlite(
            StoreDirectory.databaseName,
            dropped.joined() + "UPDATE meta SET value = '1' WHERE key = 'schema_version';")
        let directory = try StoreDirectory(path: temporary.path, durability: .os)
        defer { directory.close() }
        #expect(try directory.connection.strings("SELECT value FROM meta WHERE key = 'schema_version'") == ["3"])
        var loaded: [TaskRecord] = []
        try TaskRows.loadRecords(directory.connection) { loaded.append($0) }
        #expect(loaded.map(\.id.rawValue) == [7] && loaded.first?.callbackURL == nil && loaded.first?.callback == nil)
    }
}
