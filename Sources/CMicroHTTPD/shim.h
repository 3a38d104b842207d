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
#include <microhttpd.h>

/// Wraps MHD_start_daemon: listens on `addr` (an IPv4 or IPv6 socket address; the caller keeps it alive for the
/// call), calls `handler` for every request and `completed` when a request's resources can be freed. `options`
/// ends with MHD_OPTION_END; it is copied by MHD.
static inline struct MHD_Daemon *
cmhd_start_daemon(unsigned int flags, const struct sockaddr *addr,
                  MHD_AccessHandlerCallback handler, void *handler_cls,
                  MHD_RequestCompletedCallback completed, void *completed_cls,
                  const struct MHD_OptionItem *options)
{
    return MHD_start_daemon(flags, 0, NULL, NULL, handler, handler_cls,
                            MHD_OPTION_SOCK_ADDR, addr,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, completed_cls,
                            MHD_OPTION_ARRAY, options,
                            MHD_OPTION_END);
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

#endif
