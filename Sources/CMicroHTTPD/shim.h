// The slice of libmicrohttpd (0.9.75, Debian libmicrohttpd-dev) that taskgate uses, plus non-variadic wrappers.
// MHD_start_daemon is C-variadic and so not callable from Swift; cmhd_start_daemon passes the options as an
// MHD_OptionItem array instead. Ownership: the daemon pointer it returns belongs to the caller (TaskGateHTTP's
// HTTPServer), which must call MHD_stop_daemon exactly once.
#ifndef CMICROHTTPD_SHIM_H
#define CMICROHTTPD_SHIM_H

#include <stdarg.h>
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <sys/types.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <errno.h>
#include <limits.h>
#include <strings.h>
#include <sys/resource.h>
#include <microhttpd.h>

/// The signature of MHD_OPTION_URI_LOG_CALLBACK: called with the raw request target (path and query, not yet
/// decoded) before libmicrohttpd parses it; what it returns becomes the request's `con_cls`.
typedef void *(*cmhd_uri_log_callback)(void *cls, const char *uri, struct MHD_Connection *connection);

/// Wraps MHD_start_daemon: listens on `addr` (an IPv4 or IPv6 socket address; the caller keeps it alive for the
/// call), calls `uri_log` with each raw request target, `handler` for every request and `completed` when a
/// request's resources can be freed. `options` ends with MHD_OPTION_END; it is copied by MHD.
static inline struct MHD_Daemon *
cmhd_start_daemon(unsigned int flags, const struct sockaddr *addr,
                  MHD_AccessHandlerCallback handler, void *handler_cls,
                  MHD_RequestCompletedCallback completed, void *completed_cls,
                  cmhd_uri_log_callback uri_log, void *uri_log_cls,
                  const struct MHD_OptionItem *options)
{
    return MHD_start_daemon(flags, 0, NULL, NULL, handler, handler_cls,
                            MHD_OPTION_SOCK_ADDR, addr,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, completed_cls,
                            MHD_OPTION_URI_LOG_CALLBACK, uri_log, uri_log_cls,
                            MHD_OPTION_ARRAY, options,
                            MHD_OPTION_END);
}

/// Wraps MHD_get_connection_info(MHD_CONNECTION_INFO_CONNECTION_FD): the connection's socket, or -1. libmicrohttpd
/// owns it; it stays open at least until the connection is resumed.
static inline int cmhd_connection_fd(struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    return info ? info->connect_fd : -1;
}

/// One wanted header as `cmhd_scan_headers` found it: its first value and that value's length, and how many times
/// the header came (zero-initialise before the scan).
struct cmhd_header_value {
    const char *value;
    size_t length;
    unsigned int occurrences;
};

/// The wanted names (lowercase, with their lengths) and where `cmhd_scan_headers` writes what it found of each.
struct cmhd_header_scan {
    const char *const *names;
    const size_t *lengths;
    unsigned int count;
    struct cmhd_header_value *found;
};

static enum MHD_Result cmhd_scan_iterator(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
                                          const char *value, size_t value_size)
{
    (void)kind;
    struct cmhd_header_scan *scan = (struct cmhd_header_scan *)cls;
    if (key == NULL) return MHD_YES;
    for (unsigned int i = 0; i < scan->count; i++) {
        if (scan->lengths[i] != key_size || strncasecmp(key, scan->names[i], key_size) != 0) continue;
        if (scan->found[i].occurrences++ == 0) {
            scan->found[i].value = value;
            scan->found[i].length = value_size;
        }
        break;
    }
    return MHD_YES;
}

/// Wraps MHD_get_connection_values_n(MHD_HEADER_KIND): one pass over the request's headers that finds the wanted
/// ones (first value of each, and how often each came: libmicrohttpd's lookups see only the first of repeated
/// headers). The values point into libmicrohttpd's connection memory, valid during the access handler's call.
static inline void cmhd_scan_headers(struct MHD_Connection *connection, struct cmhd_header_scan *scan)
{
    (void)MHD_get_connection_values_n(connection, MHD_HEADER_KIND, cmhd_scan_iterator, scan);
}

/// Raises the soft open-file limit (RLIMIT_NOFILE) to the hard limit where it is lower, then returns the soft
/// limit in force (or 0 if it cannot be read).
static inline unsigned long cmhd_raise_open_file_limit(void)
{
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
    if (limit.rlim_cur < limit.rlim_max) {
        struct rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
    }
    return limit.rlim_cur == RLIM_INFINITY ? ULONG_MAX : (unsigned long)limit.rlim_cur;
}

/// Wraps MHD_get_daemon_info(MHD_DAEMON_INFO_LISTEN_FD) + getsockname: the port the daemon listens on (useful
/// after binding port 0), or 0 if unknown.
static inline uint16_t cmhd_bound_port(struct MHD_Daemon *daemon)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_LISTEN_FD);
    if (info == NULL) return 0;
    struct sockaddr_storage storage;
    socklen_t length = sizeof(storage);
    memset(&storage, 0, sizeof(storage));
    if (getsockname(info->listen_fd, (struct sockaddr *)&storage, &length) != 0) return 0;
    if (storage.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&storage)->sin_port);
    if (storage.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&storage)->sin6_port);
    return 0;
}

/// Wraps MHD_get_daemon_info(MHD_DAEMON_INFO_CURRENT_CONNECTIONS): open connections, suspended ones included.
static inline unsigned int cmhd_connection_count(struct MHD_Daemon *daemon)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    return info ? info->num_connections : 0;
}

/// For a daemon started without an internal thread (external event loop, MHD_USE_EPOLL): creates the loop's epoll
/// set holding libmicrohttpd's own epoll fd (MHD_DAEMON_INFO_EPOLL_FD, readable whenever MHD has work: a ready
/// socket, a resumed connection) and `wake_fd`, an eventfd the owner signals to stop the loop. Returns the new epoll
/// fd, which the caller owns and closes, or -1.
static inline int cmhd_loop_create(struct MHD_Daemon *daemon, int wake_fd)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_EPOLL_FD);
    if (info == NULL) return -1;
    int loop_fd = epoll_create1(EPOLL_CLOEXEC);
    if (loop_fd < 0) return -1;
    struct epoll_event event;
    memset(&event, 0, sizeof(event));
    event.events = EPOLLIN;
    event.data.fd = info->epoll_fd;
    if (epoll_ctl(loop_fd, EPOLL_CTL_ADD, info->epoll_fd, &event) != 0) { close(loop_fd); return -1; }
    event.data.fd = wake_fd;
    if (epoll_ctl(loop_fd, EPOLL_CTL_ADD, wake_fd, &event) != 0) { close(loop_fd); return -1; }
    return loop_fd;
}

/// Names the calling thread (prctl PR_SET_NAME, at most 15 characters), as top and perf show it.
static inline void cmhd_name_thread(const char *name)
{
    (void)prctl(PR_SET_NAME, name, 0, 0, 0);
}

/// Blocks until libmicrohttpd has work or its next connection timeout is due (MHD_get_timeout), or `wake_fd` is
/// signalled. Returns 1 when `wake_fd` was signalled (its counter is consumed), 0 otherwise; the caller then runs
/// MHD_run.
static inline int cmhd_loop_wait(struct MHD_Daemon *daemon, int loop_fd, int wake_fd)
{
    MHD_UNSIGNED_LONG_LONG timeout_ms = 0;
    int timeout = -1;
    if (MHD_get_timeout(daemon, &timeout_ms) == MHD_YES) timeout = timeout_ms > INT_MAX ? INT_MAX : (int)timeout_ms;
    struct epoll_event events[2];
    int count = epoll_wait(loop_fd, events, 2, timeout);
    int woken = 0;
    for (int i = 0; i < count; i++) {
        if (events[i].data.fd == wake_fd) {
            eventfd_t value;
            (void)eventfd_read(wake_fd, &value);
            woken = 1;
        }
    }
    return woken;
}

/// Adds `fd` to the epoll set `epoll_fd` for `events` (EPOLLRDHUP: a hang-up only, with EPOLLHUP and EPOLLERR, which
/// epoll always reports; EPOLLIN: readable, as a wake eventfd), tagged with `token`. Returns 0, or -1 with errno.
static inline int cmhd_watch(int epoll_fd, int fd, uint32_t events, uint64_t token)
{
    struct epoll_event event;
    memset(&event, 0, sizeof(event));
    event.events = events;
    event.data.u64 = token;
    return epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event);
}

/// Removes `fd` from `epoll_fd` (the fd must still be open).
static inline void cmhd_unwatch(int epoll_fd, int fd)
{
    struct epoll_event event;
    memset(&event, 0, sizeof(event));
    (void)epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, &event);
}

/// Waits (without a timeout) for events on `epoll_fd` and writes the token of each, at most `capacity`, to
/// `tokens`. Returns how many, 0 when interrupted.
static inline int cmhd_wait_tokens(int epoll_fd, uint64_t *tokens, int capacity)
{
    struct epoll_event events[64];
    if (capacity > 64) capacity = 64;
    int count = epoll_wait(epoll_fd, events, capacity, -1);
    if (count < 0) return 0;
    for (int i = 0; i < count; i++) tokens[i] = events[i].data.u64;
    return count;
}

#endif
