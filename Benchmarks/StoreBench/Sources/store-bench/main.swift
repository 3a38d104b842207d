// store-bench DIR [ROWS] [BATCH] [RUNS]: the SQLite C API against GRDB.swift for taskgate's store (issue 13).
//
// Every case writes ROWS task rows (the columns the store keeps for an accepted task, an echo task's sizes) into a
// fresh database in DIR, in WAL mode, BATCH rows per transaction (a group commit), then marks each of them
// finished with an UPDATE in the same batches (what a result costs). `synchronous=FULL` is taskgate's `fsync`
// mode (each commit is fsynced before it returns); `synchronous=NORMAL` is its `os` mode (each commit is written
// to the OS; the WAL is synced at checkpoints). A batch of 1 is the latency of one commit on its own. The machine's
// own fsync (4 KiB written, then fdatasync) is measured first, as the floor of a durable commit. Each figure is the
// median of RUNS runs.
import CSQLite
import Foundation
import GRDB

#if canImport(Glibc)
    import Glibc
#endif

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    print("usage: store-bench DIR [ROWS] [BATCH] [RUNS]")
    exit(2)
}
let directory = arguments[1]
let rows = arguments.count > 2 ? Int(arguments[2])! : 20_000
let batch = arguments.count > 3 ? Int(arguments[3])! : 64
let runs = arguments.count > 4 ? Int(arguments[4])! : 3

let schema = """
    CREATE TABLE tasks (
        id INTEGER PRIMARY KEY, function TEXT NOT NULL, args BLOB NOT NULL, state INTEGER NOT NULL,
        version INTEGER NOT NULL, priority INTEGER NOT NULL, attempt INTEGER NOT NULL, max_retries INTEGER NOT NULL,
        created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, result BLOB, idempotency_key TEXT)
    """
let insertSQL = """
    INSERT INTO tasks (id, function, args, state, version, priority, attempt, max_retries, created_at, updated_at)
    VALUES (?, ?, ?, 0, 1, 0, 0, 3, ?, ?)
    """
let finishSQL = "UPDATE tasks SET state = 3, version = 3, result = ?, updated_at = ? WHERE id = ?"
let args: [UInt8] = Array(#"{"i":1}"#.utf8)
let now: Int64 = 1_764_000_000_000_000_000

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1
        ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e3 + Double(duration.components.attoseconds) / 1e15
}

/// One case's figures: rows written (inserted, then finished) per second, and the median commit time.
struct Figures {
    var rowsPerSecond: Double
    var commitMilliseconds: Double
}

/// Runs both phases (0: insert, 1: finish) in batches, `commit` writing one batch in one transaction, and times it.
func timedBatches(_ commit: (_ phase: Int, _ ids: Range<Int>) throws -> Void) rethrows -> Figures {
    var commits: [Double] = []
    let clock = ContinuousClock()
    let start = clock.now
    for phase in 0..<2 {
        for first in stride(from: 0, to: rows, by: batch) {
            let began = clock.now
            try commit(phase, first..<min(first + batch, rows))
            commits.append(milliseconds(clock.now - began))
        }
    }
    let seconds = milliseconds(clock.now - start) / 1e3
    return Figures(rowsPerSecond: Double(2 * rows) / seconds, commitMilliseconds: median(commits))
}

/// The machine's fsync: 4 KiB written and fdatasync'ed, 200 times; the median in ms.
func fsyncMedian() -> Double {
    let path = directory + "/fsync-probe"
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    precondition(fd >= 0, "cannot open \(path)")
    defer {
        close(fd)
        unlink(path)
    }
    let block = [UInt8](repeating: 7, count: 4_096)
    var times: [Double] = []
    let clock = ContinuousClock()
    for _ in 0..<200 {
        let start = clock.now
        _ = block.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        fdatasync(fd)
        times.append(milliseconds(clock.now - start))
    }
    return median(times)
}

func freshPath(_ name: String) -> String {
    let path = directory + "/" + name + ".sqlite"
    for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
    return path
}

/// The SQLite C API, prepared statements reused, values bound in place.
func runC(synchronous: String) -> Figures {
    let path = freshPath("c")
    var db: OpaquePointer?
    precondition(
        sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK)
    defer { sqlite3_close_v2(db) }
    func exec(_ sql: String) {
        precondition(sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK, String(cString: sqlite3_errmsg(db)))
    }
    exec("PRAGMA journal_mode = WAL")
    exec("PRAGMA synchronous = \(synchronous)")
    exec(schema)
    var insert: OpaquePointer?
    var finish: OpaquePointer?
    precondition(sqlite3_prepare_v3(db, insertSQL, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &insert, nil) == SQLITE_OK)
    precondition(sqlite3_prepare_v3(db, finishSQL, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &finish, nil) == SQLITE_OK)
    defer {
        sqlite3_finalize(insert)
        sqlite3_finalize(finish)
    }
    let function = "echo"
    return timedBatches { phase, ids in
        exec("BEGIN")
        for id in ids {
            let statement = phase == 0 ? insert : finish
            if phase == 0 {
                sqlite3_bind_int64(statement, 1, Int64(id))
                sqlite3_bind_text(statement, 2, function, -1, csqlite_transient())
                args.withUnsafeBytes {
                    _ = sqlite3_bind_blob(statement, 3, $0.baseAddress, Int32($0.count), csqlite_transient())
                }
                sqlite3_bind_int64(statement, 4, now)
                sqlite3_bind_int64(statement, 5, now)
            } else {
                args.withUnsafeBytes {
                    _ = sqlite3_bind_blob(statement, 1, $0.baseAddress, Int32($0.count), csqlite_transient())
                }
                sqlite3_bind_int64(statement, 2, now)
                sqlite3_bind_int64(statement, 3, Int64(id))
            }
            precondition(sqlite3_step(statement) == SQLITE_DONE, String(cString: sqlite3_errmsg(db)))
            sqlite3_reset(statement)
        }
        exec("COMMIT")
    }
}

/// GRDB.swift as its documentation shows: a `DatabaseQueue`, cached statements, arguments as `StatementArguments`.
func runGRDB(synchronous: String) throws -> Figures {
    let path = freshPath("grdb")
    var configuration = Configuration()
    configuration.prepareDatabase { db in
        try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
    }
    let queue = try DatabaseQueue(path: path, configuration: configuration)
    try queue.writeWithoutTransaction { db in
        try db.execute(sql: "PRAGMA journal_mode = WAL")
        try db.execute(sql: schema)
    }
    let blob = Data(args)
    let figures = try timedBatches { phase, ids in
        try queue.write { db in
            if phase == 0 {
                let statement = try db.cachedStatement(sql: insertSQL)
                for id in ids { try statement.execute(arguments: [Int64(id), "echo", blob, now, now]) }
            } else {
                let statement = try db.cachedStatement(sql: finishSQL)
                for id in ids { try statement.execute(arguments: [blob, now, Int64(id)]) }
            }
        }
    }
    try queue.close()
    return figures
}

print("== \(rows) rows inserted then finished, \(batch) per transaction, WAL, median of \(runs) runs, in \(directory)")
print("machine fsync (4 KiB + fdatasync) p50: \(String(format: "%.3f", fsyncMedian())) ms")
for (mode, synchronous) in [("fsync", "FULL"), ("os", "NORMAL")] {
    var c: [Figures] = []
    var grdb: [Figures] = []
    for _ in 0..<runs {
        c.append(runC(synchronous: synchronous))
        grdb.append(try runGRDB(synchronous: synchronous))
    }
    for (name, figures) in [("C API", c), ("GRDB ", grdb)] {
        print(
            "\(mode) (synchronous=\(synchronous)) \(name): "
                + "\(String(format: "%.0f", median(figures.map(\.rowsPerSecond)))) rows/s, "
                + "commit p50 \(String(format: "%.3f", median(figures.map(\.commitMilliseconds)))) ms")
    }
}
