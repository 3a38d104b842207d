import CMicroHTTPD
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Notices a parked request's client going away. libmicrohttpd does not watch a suspended connection's socket, so
/// a client that asks for a long wait and closes at once would hold its connection, its descriptor and its parked
/// slot until the wait's deadline. This watcher keeps the sockets of parked connections in an epoll set of its own
/// (hang-ups only: a pipelined next request is not a hang-up) and, when one hangs up, tells its `Responder`, which
/// releases the wait; libmicrohttpd then resumes the connection, finds it closed and frees it.
///
/// A half-closed client (one that shut down its sending side and still reads) looks the same and is released too.
///
/// Owns its epoll fd, its wake eventfd and its thread; `stop()` ends the thread.
// The fds are set in init and never change; the registry is behind a Mutex.
final class HangupWatcher: @unchecked Sendable {
    private struct Registry {
        var nextToken: UInt64 = 1
        var watched: [UInt64: (fd: Int32, onHangup: @Sendable () -> Void)] = [:]
    }

    private let epollFD: Int32
    private let wakeFD: Int32
    private let registry = Mutex(Registry())
    private let thread = ThreadHandle()
    private static let wakeToken: UInt64 = 0

    /// Creates the epoll set and starts the thread.
    init() throws(HTTPServer.StartError) {
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeFD = eventfd(0, Int32(EFD_CLOEXEC))
        guard epollFD >= 0, wakeFD >= 0, cmhd_watch(epollFD, wakeFD, EPOLLIN.rawValue, Self.wakeToken) == 0 else {
            // All stored properties are set: the deinit runs and closes what was opened.
            let code = errno
            throw HTTPServer.StartError(description: "cannot create the hang-up watcher (errno \(code))")
        }
        // The deinit closes the fds if the thread cannot start.
        try thread.start(self, routine: MHDCallbacks.hangupWatcher, failure: "cannot start the hang-up watcher thread")
    }

    deinit {
        assert(!thread.isRunning, "HangupWatcher released without stop()")
        if epollFD >= 0 { close(epollFD) }
        if wakeFD >= 0 { close(wakeFD) }
    }

    /// A token for `watch` and `unwatch`; reserved before the responder exists so that its completion can name it.
    func reserveToken() -> UInt64 {
        registry.withLock { registry in
            defer { registry.nextToken += 1 }
            return registry.nextToken
        }
    }

    /// Starts watching `fd` (a parked connection's socket) for `responder`. Returns false if the socket cannot be
    /// watched (the request then simply waits as it would have without the watcher).
    @discardableResult
    func watch(_ token: UInt64, fd: Int32, responder: Responder) -> Bool {
        watch(token, fd: fd) { responder.hangUp() }
    }

    /// Starts watching `fd` (a suspended connection's socket); `onHangup` runs once, on the watcher's thread, if the
    /// client goes away before `unwatch`. Returns false if the socket cannot be watched.
    @discardableResult
    func watch(_ token: UInt64, fd: Int32, onHangup: @escaping @Sendable () -> Void) -> Bool {
        guard fd >= 0 else { return false }
        return registry.withLock { registry in
            guard cmhd_watch(epollFD, fd, EPOLLRDHUP.rawValue, token) == 0 else { return false }
            registry.watched[token] = (fd, onHangup)
            return true
        }
    }

    /// Stops watching; called when the request is answered, before its connection is resumed (so the fd is still
    /// open, and no other connection can have reused its number). Removing the fd from the set under the same lock
    /// that the thread takes makes the two paths exclusive.
    func unwatch(_ token: UInt64) {
        registry.withLock { registry in
            guard let entry = registry.watched.removeValue(forKey: token) else { return }
            cmhd_unwatch(epollFD, entry.fd)
        }
    }

    /// Connections being watched.
    var count: Int { registry.withLock { $0.watched.count } }

    /// The thread's loop; returns once `stop()` has been called.
    func run() {
        cmhd_name_thread("taskgate-hangup")
        var tokens = [UInt64](repeating: 0, count: 64)
        while !thread.isStopping {
            let count = tokens.withUnsafeMutableBufferPointer { cmhd_wait_tokens(epollFD, $0.baseAddress, 64) }
            for index in 0..<Int(count) {
                let token = tokens[index]
                if token == Self.wakeToken {
                    var value: eventfd_t = 0
                    _ = eventfd_read(wakeFD, &value)
                    continue
                }
                let onHangup = registry.withLock { registry -> (@Sendable () -> Void)? in
                    guard let entry = registry.watched.removeValue(forKey: token) else { return nil }
                    cmhd_unwatch(epollFD, entry.fd)
                    return entry.onHangup
                }
                onHangup?()
            }
        }
    }

    /// Ends the thread and waits for it. Idempotent.
    func stop() {
        thread.stop { _ = eventfd_write(wakeFD, 1) }
    }
}
