// The SQLite C API for TaskGateStore (Debian's libsqlite3-dev), with what Swift cannot import from its macros.
#include <sqlite3.h>

/// SQLITE_TRANSIENT (a cast of -1 to a destructor pointer, which Swift cannot import): SQLite copies a bound value
/// before the bind returns.
static inline sqlite3_destructor_type csqlite_transient(void) { return SQLITE_TRANSIENT; }

#include <sys/prctl.h>

/// Names the calling thread (at most 15 bytes show) for `top -H`, perf and gdb: the store's writer thread. prctl is
/// variadic, which Swift cannot call.
static inline void csqlite_name_thread(const char *name) { (void)prctl(PR_SET_NAME, name, 0, 0, 0); }
