// The SQLite C API for TaskGateStore (Debian's libsqlite3-dev), with what Swift cannot import from its macros.
#include <sqlite3.h>

/// SQLITE_TRANSIENT (a cast of -1 to a destructor pointer, which Swift cannot import): SQLite copies a bound value
/// before the bind returns.
static inline sqlite3_destructor_type csqlite_transient(void) { return SQLITE_TRANSIENT; }

/// Turns off SQLite's memory statistics, whose global mutex every allocation would take. Must run before SQLite
/// initializes (before the first connection opens); returns SQLITE_MISUSE after.
static inline int csqlite_configure(void) { return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/// Names the calling thread (at most 15 bytes show) for `top -H`, perf and gdb: the store's writer thread. prctl is
/// variadic, which Swift cannot call.
static inline void csqlite_name_thread(const char *name) { (void)prctl(PR_SET_NAME, name, 0, 0, 0); }

/// Sets the calling thread's nice value (Linux threads have their own).
static inline int csqlite_nice_thread(int nice) { return setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice); }

/// Records the WAL's size in frames after each commit into `*frames` (written on the committing thread). It replaces
/// SQLite's automatic checkpoint (which runs inside the COMMIT that crosses its threshold), so the owner checkpoints
/// when it chooses to (`sqlite3_wal_hook`).
static inline int csqlite_wal_frames_hook(void *frames, sqlite3 *db, const char *name, int count) {
    (void)db;
    (void)name;
    *(int *)frames = count;
    return SQLITE_OK;
}

/// Installs `csqlite_wal_frames_hook` on `db`, writing into `frames` (which must outlive the connection's commits).
static inline void csqlite_track_wal(sqlite3 *db, int *frames) { (void)sqlite3_wal_hook(db, csqlite_wal_frames_hook, frames); }
