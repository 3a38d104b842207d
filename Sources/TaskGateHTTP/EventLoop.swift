import CMicroHTTPD
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The thread that runs a daemon started without an internal thread: it waits on libmicrohttpd's epoll set, lets
/// libmicrohttpd serve every ready connection (`MHD_run`), then runs the work the handlers deferred in that batch.
/// So the worker wake-ups of a burst of submissions cost one wake per batch, after the answers are on their way,
/// instead of one per request in the middle of it.
///
/// Owns the loop's epoll fd, its wake eventfd (both closed on deinit) and its thread; `stop()` ends the thread and
/// must run before `MHD_stop_daemon`.
// `deferred` is touched on the loop thread only; the other state is set before the thread starts.
final class EventLoop: @unchecked Sendable {
    private var daemon: OpaquePointer?
    private var connectionLimit = Int.max
    private var loopFD: Int32 = -1
    private let wakeFD: Int32
    /// Set by `wake()` until the loop wakes: a burst of resumes (a store commit acknowledging many requests at once)
    /// writes the eventfd once, not once per request.
    private let wakePending = Atomic<Bool>(false)
    private let thread = ThreadHandle()
    /// Work deferred by the handlers of the current batch; only the loop thread touches it.
    var deferred = WakeupQueue()
    /// Answers waiting for the store, resumed by this loop as commits land; set before `start`.
    var storeWaits: StoreWaits?

    private let threadName: String

    /// Creates the loop's wake fd; `start(daemon:)` starts it.
    init(threadName: String) throws(HTTPServer.StartError) {
        self.threadName = threadName
        wakeFD = eventfd(0, Int32(EFD_CLOEXEC))
        guard wakeFD >= 0 else { throw HTTPServer.StartError(description: "eventfd failed (errno \(errno))") }
    }

    deinit {
        assert(!thread.isRunning, "EventLoop released without stop()")
        if loopFD >= 0 { close(loopFD) }
        close(wakeFD)
    }

    /// Starts the thread serving `daemon` (started without an internal thread, with `MHD_USE_EPOLL`).
    func start(daemon: OpaquePointer, connectionLimit: Int) throws(HTTPServer.StartError) {
        self.daemon = daemon
        self.connectionLimit = connectionLimit
        loopFD = cmhd_loop_create(daemon, wakeFD)
        guard loopFD >= 0 else {
            throw HTTPServer.StartError(description: "cannot create the HTTP event loop's epoll set (errno \(errno))")
        }
        try thread.start(self, routine: MHDCallbacks.eventLoop, failure: "cannot start the HTTP event-loop thread")
    }

    /// The loop; returns once `stop()` has been called.
    func run() {
        cmhd_name_thread(threadName)
        guard let daemon else { return }
        // At its connection limit libmicrohttpd takes its listening socket out of its epoll set, and puts it back
        // only at the start of a later MHD_run once connections have closed. Run by its own thread it always comes
        // back for that; run here, nothing would wake this loop once the last connection has gone (no socket left
        // to report anything), and the server would stop accepting for good. So after a run that began at the limit
        // and ended below it, run once more.
        var atLimit = false
        // Answers whose changes were committed while this loop ran: the next iteration serves them without waiting.
        var storedReady = false
        while true {
            if storedReady {
                if thread.isStopping { break }
            } else if cmhd_loop_wait(daemon, loopFD, wakeFD) != 0, thread.isStopping {
                break
            }
            // Cleared before the run: a resume from now on wakes the loop again, one before it is served here.
            wakePending.store(false, ordering: .sequentiallyConsistent)
            // Connections whose answers are now stored are resumed, and libmicrohttpd sends them in this run.
            storeWaits?.settle()
            atLimit = atLimit || Int(cmhd_connection_count(daemon)) >= connectionLimit
            _ = MHD_run(daemon)
            if atLimit && Int(cmhd_connection_count(daemon)) < connectionLimit {
                atLimit = false
                _ = MHD_run(daemon)
            }
            deferred.run()
            storedReady = storeWaits?.hasReady ?? false
        }
        deferred.run()
    }

    /// Makes the loop run `MHD_run` soon, from any thread. libmicrohttpd drops its own wake-up channel (ITC)
    /// when it runs without internal threads, so whoever resumes a suspended connection must call this after
    /// `MHD_resume_connection`.
    func wake() {
        if wakePending.exchange(true, ordering: .sequentiallyConsistent) { return }
        _ = eventfd_write(wakeFD, 1)
    }

    /// Ends the loop and waits for it. Idempotent.
    func stop() {
        thread.stop { wake() }
    }
}
