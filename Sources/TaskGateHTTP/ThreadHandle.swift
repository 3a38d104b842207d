import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A pthread the HTTP server runs a loop on (the event loop, the hang-up watcher), and the flag that ends it.
final class ThreadHandle: Sendable {
    private let thread = Mutex<UnsafeSendableThread?>(nil)
    private let stopping = Atomic<Bool>(false)

    /// Whether `stop` was called; the loop checks it after each wake-up.
    var isStopping: Bool { stopping.load(ordering: .acquiring) }

    /// Whether a thread was started and not yet joined.
    var isRunning: Bool { thread.withLock { $0 != nil } }

    /// Starts `routine` with `owner` retained for the thread (the routine releases it when the loop ends).
    func start<Owner: AnyObject>(
        _ owner: Owner, routine: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer?,
        failure: String
    ) throws(HTTPServer.StartError) {
        var handle = pthread_t()
        let context = Unmanaged.passRetained(owner).toOpaque()
        guard pthread_create(&handle, nil, routine, context) == 0 else {
            Unmanaged<Owner>.fromOpaque(context).release()
            throw HTTPServer.StartError(description: failure)
        }
        thread.withLock { $0 = UnsafeSendableThread(handle: handle) }
    }

    /// Sets the flag, wakes the loop with `wake` and waits for the thread. Idempotent.
    func stop(wake: () -> Void) {
        guard
            let running = thread.withLock({ state -> UnsafeSendableThread? in
                defer { state = nil }
                return state
            })
        else { return }
        stopping.store(true, ordering: .releasing)
        wake()
        _ = pthread_join(running.handle, nil)
    }
}

/// A `pthread_t` that crosses threads only to be joined once.
struct UnsafeSendableThread: @unchecked Sendable {  // joined exactly once, by whoever takes it out of the Mutex
    let handle: pthread_t
}
