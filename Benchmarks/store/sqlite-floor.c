/* What SQLite itself costs for the store's writes, with no taskgate code around it (docs/benchmarks.md, "The os
 * mode's CPU budget"): the durable store's write pattern under a steady POST load, replayed from C through the same
 * statements as Sources/TaskGateStore/TaskRows.swift, on a database set up as StoreDirectory sets it up (WAL,
 * synchronous NORMAL as in the os mode, incremental auto-vacuum, a 32 MiB page cache, a checkpoint every 1,000 pages).
 *
 * Per task: its creation (the 35-column INSERT OR REPLACE), its finish (one UPDATE of the 23 changing columns: the
 * running and succeeded changes of an echo task fold into one within a batch), and the eviction of the task finished
 * `retain` tasks earlier (the retention limit's UPDATE that empties it into a tombstone). `batch` tasks per transaction
 * (a batch's finishes are those of the batch before). It first fills the table to the retention limit, then measures
 * the process's CPU time (user + system, getrusage) over the next `tasks` tasks: the steady state, evictions included.
 *
 * `blob` replays the same pattern on a table of five columns, the task's fields in one BLOB of about the size the
 * columns hold (the fields the loader filters on kept as columns): a layout that would make SQLite's part cheaper.
 *
 * Build: cc -O2 -o sqlite-floor sqlite-floor.c $(pkg-config --cflags --libs sqlite3)
 * Run:   ./sqlite-floor PATH columns|blob [BATCH [TASKS [RETAIN]]]   (defaults 14, 300000, 100000; PATH is created
 *        and must not exist) */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double cpu_seconds(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

static void check(sqlite3 *db, int status, const char *what) {
    if (status != SQLITE_OK && status != SQLITE_DONE && status != SQLITE_ROW) {
        fprintf(stderr, "%s failed: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

static void run(sqlite3 *db, const char *sql) { check(db, sqlite3_exec(db, sql, 0, 0, 0), sql); }

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql) {
    sqlite3_stmt *statement = 0;
    check(db, sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &statement, 0), sql);
    return statement;
}

static void step(sqlite3 *db, sqlite3_stmt *statement) {
    check(db, sqlite3_step(statement), sqlite3_sql(statement));
    sqlite3_reset(statement);
}

static const char schema[] =
    "CREATE TABLE tasks (id INTEGER PRIMARY KEY, function TEXT NOT NULL, args BLOB, priority INTEGER NOT NULL, "
    "timeout_ns INTEGER, max_retries INTEGER NOT NULL, tags BLOB, idempotency_key TEXT, fingerprint INTEGER NOT NULL, "
    "traceparent TEXT, created_at INTEGER NOT NULL, state TEXT NOT NULL, version INTEGER NOT NULL, result BLOB, "
    "error_code TEXT, error_detail TEXT, attempt INTEGER NOT NULL, updated_at INTEGER NOT NULL, started_at INTEGER, "
    "finished_at INTEGER, expires_at INTEGER, cancel_requested_at INTEGER, cancel_confirm TEXT, "
    "cancel_worker_finished INTEGER, tombstone_until INTEGER, callback_url TEXT, callback_state TEXT, "
    "callback_attempts INTEGER, callback_status INTEGER, callback_error TEXT, callback_next_at INTEGER, "
    "callback_done_at INTEGER, attempts BLOB, logs BLOB, logs_dropped INTEGER)";

static const char insert_sql[] =
    "INSERT OR REPLACE INTO tasks (id, state, version, result, error_code, error_detail, attempt, updated_at, "
    "started_at, finished_at, expires_at, cancel_requested_at, cancel_confirm, cancel_worker_finished, "
    "callback_state, callback_attempts, callback_status, callback_error, callback_next_at, callback_done_at, "
    "attempts, logs, logs_dropped, function, args, priority, timeout_ns, max_retries, tags, idempotency_key, "
    "fingerprint, traceparent, created_at, callback_url) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
    "?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34)";

static const char update_sql[] =
    "UPDATE tasks SET state = ?2, version = ?3, result = ?4, error_code = ?5, error_detail = ?6, attempt = ?7, "
    "updated_at = ?8, started_at = ?9, finished_at = ?10, expires_at = ?11, cancel_requested_at = ?12, "
    "cancel_confirm = ?13, cancel_worker_finished = ?14, callback_state = ?15, callback_attempts = ?16, "
    "callback_status = ?17, callback_error = ?18, callback_next_at = ?19, callback_done_at = ?20, attempts = ?21, "
    "logs = ?22, logs_dropped = ?23 WHERE id = ?1";

static const char evict_sql[] =
    "UPDATE tasks SET args = NULL, result = NULL, error_detail = NULL, tags = NULL, traceparent = NULL, "
    "callback_url = NULL, callback_error = NULL, attempts = NULL, logs = NULL, tombstone_until = ?2 WHERE id = ?1";

/* What an echo task holds: its args (echoed as its result) and one attempt record. */
static const char args[] = "{\"message\":\"hello\"}";
static unsigned char attempt[48];
static unsigned char created_blob[160];
static unsigned char finished_blob[240];

int main(int argc, char **argv) {
    if (argc < 3 || (strcmp(argv[2], "columns") != 0 && strcmp(argv[2], "blob") != 0)) {
        fprintf(stderr, "usage: %s PATH columns|blob [BATCH [TASKS [RETAIN]]]\n", argv[0]);
        return 2;
    }
    const int blob = strcmp(argv[2], "blob") == 0;
    const long long batch = argc > 3 ? atoll(argv[3]) : 14;
    const long long measured = argc > 4 ? atoll(argv[4]) : 300000;
    const long long retain = argc > 5 ? atoll(argv[5]) : 100000;
    memset(attempt, 1, sizeof attempt);
    memset(created_blob, 2, sizeof created_blob);
    memset(finished_blob, 3, sizeof finished_blob);

    sqlite3 *db = 0;
    if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, 0) != 0) {
        fprintf(stderr, "cannot open %s\n", argv[1]);
        return 1;
    }
    run(db, "PRAGMA auto_vacuum = INCREMENTAL");
    run(db, blob ? "CREATE TABLE tasks (id INTEGER PRIMARY KEY, tombstone_until INTEGER, idempotency_key TEXT, "
                   "fingerprint INTEGER NOT NULL, body BLOB)"
                 : schema);
    run(db, "PRAGMA journal_mode = WAL");
    run(db, "PRAGMA synchronous = NORMAL");
    run(db, "PRAGMA journal_size_limit = 67108864");
    run(db, "PRAGMA cache_size = -32768");
    sqlite3_wal_autocheckpoint(db, 1000);
    sqlite3_stmt *insert = prepare(db, blob ? "INSERT OR REPLACE INTO tasks (id, idempotency_key, fingerprint, body) "
                                              "VALUES (?1, ?2, ?3, ?4)"
                                            : insert_sql);
    sqlite3_stmt *update = prepare(db, blob ? "UPDATE tasks SET body = ?2 WHERE id = ?1" : update_sql);
    sqlite3_stmt *evict =
        prepare(db, blob ? "UPDATE tasks SET body = NULL, tombstone_until = ?2 WHERE id = ?1" : evict_sql);
    sqlite3_stmt *begin = prepare(db, "BEGIN IMMEDIATE");
    sqlite3_stmt *commit = prepare(db, "COMMIT");

    const long long first = 1LL << 32;
    const long long epoch = 1780000000000000000LL;
    long long created = 0, finished = 0;
    double started = 0;
    const long long total = retain + measured;
    while (created < total) {
        if (created >= retain && started == 0) started = cpu_seconds();
        step(db, begin);
        for (long long i = 0; i < batch; i++) {
            const long long id = first + created++;
            sqlite3_bind_int64(insert, 1, id);
            if (blob) {
                sqlite3_bind_null(insert, 2);
                sqlite3_bind_int64(insert, 3, id * 2654435761LL);
                sqlite3_bind_blob(insert, 4, created_blob, sizeof created_blob, SQLITE_STATIC);
            } else {
                sqlite3_bind_text(insert, 2, "pending", -1, SQLITE_STATIC);
                sqlite3_bind_int64(insert, 3, 1);
                for (int column = 4; column <= 6; column++) sqlite3_bind_null(insert, column);
                sqlite3_bind_int64(insert, 7, 0);
                sqlite3_bind_int64(insert, 8, epoch + id);
                for (int column = 9; column <= 23; column++) sqlite3_bind_null(insert, column);
                sqlite3_bind_text(insert, 24, "echo", -1, SQLITE_STATIC);
                sqlite3_bind_blob(insert, 25, args, sizeof args - 1, SQLITE_STATIC);
                sqlite3_bind_int64(insert, 26, 0);
                sqlite3_bind_null(insert, 27);
                sqlite3_bind_int64(insert, 28, 0);
                sqlite3_bind_null(insert, 29);
                sqlite3_bind_null(insert, 30);
                sqlite3_bind_int64(insert, 31, id * 2654435761LL);
                sqlite3_bind_null(insert, 32);
                sqlite3_bind_int64(insert, 33, epoch + id);
                sqlite3_bind_null(insert, 34);
            }
            step(db, insert);
        }
        /* The previous batch's tasks finish, and as many of the oldest finished ones are evicted. */
        for (long long i = 0; i < batch && finished < created - batch; i++) {
            const long long id = first + finished++;
            sqlite3_bind_int64(update, 1, id);
            if (blob) {
                sqlite3_bind_blob(update, 2, finished_blob, sizeof finished_blob, SQLITE_STATIC);
            } else {
                sqlite3_bind_text(update, 2, "succeeded", -1, SQLITE_STATIC);
                sqlite3_bind_int64(update, 3, 3);
                sqlite3_bind_blob(update, 4, args, sizeof args - 1, SQLITE_STATIC);
                sqlite3_bind_null(update, 5);
                sqlite3_bind_null(update, 6);
                sqlite3_bind_int64(update, 7, 1);
                for (int column = 8; column <= 10; column++) sqlite3_bind_int64(update, column, epoch + id);
                sqlite3_bind_int64(update, 11, epoch + id + 3600000000000LL);
                for (int column = 12; column <= 20; column++) sqlite3_bind_null(update, column);
                sqlite3_bind_blob(update, 21, attempt, sizeof attempt, SQLITE_STATIC);
                sqlite3_bind_null(update, 22);
                sqlite3_bind_null(update, 23);
            }
            step(db, update);
            if (id - retain >= first) {
                sqlite3_bind_int64(evict, 1, id - retain);
                sqlite3_bind_int64(evict, 2, epoch + id);
                step(db, evict);
            }
        }
        step(db, commit);
    }
    const double used = cpu_seconds() - started;
    printf("%s: %lld tasks after %lld, %lld per commit: %.2f us CPU per task\n", argv[2], measured, retain, batch,
           used * 1e6 / (double)measured);
    sqlite3_finalize(insert);
    sqlite3_finalize(update);
    sqlite3_finalize(evict);
    sqlite3_finalize(begin);
    sqlite3_finalize(commit);
    sqlite3_close(db);
    return 0;
}
