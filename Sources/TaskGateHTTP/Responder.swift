import CMicroHTTPD
import Synchronization

/// Completes a parked (suspended) request from any thread, exactly once.
///
/// libmicrohttpd may only be told to resume a connection after it has been suspended, and the answer may be ready
/// before that: `complete` stores the response and resumes only if the suspend already happened; otherwise
/// `markSuspended` resumes at once. The resumed connection is then answered on libmicrohttpd's thread.
public final class Responder: Sendable {
    enum Sink: Sendable {
        /// A suspended libmicrohttpd connection; only ever passed to `MHD_resume_connection` (thread-safe). With
        /// an event loop (no libmicrohttpd threads), the loop is woken after the resume.
        case connection(UnsafeSendablePointer, EventLoop?)
        /// An in-memory caller (tests, the in-memory router client).
        case callback(@Sendable (HTTPResponse) -> Void)
    }

    struct State {
        var response: HTTPResponse?
        var suspended = false
        var completed = false
    }

    private let state = Mutex(State())
    private let sink: Sink
    private let onComplete: @Sendable () -> Void

    init(sink: Sink, onComplete: @escaping @Sendable () -> Void = {}) {
        self.sink = sink
        self.onComplete = onComplete
    }

    /// A responder that hands the response to `callback` (for answering requests in memory).
    public static func inMemory(_ callback: @escaping @Sendable (HTTPResponse) -> Void) -> Responder {
        Responder(sink: .callback(callback))
    }

    /// Answers the request; returns false (and does nothing) if it was already answered.
    @discardableResult
    public func complete(_ response: HTTPResponse) -> Bool {
        let mustResume: Bool? = state.withLock { state in
            if state.completed { return nil }
            state.completed = true
            state.response = response
            return state.suspended
        }
        guard let mustResume else { return false }
        onComplete()
        switch sink {
        case .connection(let connection, let eventLoop):
            if mustResume { Self.resume(connection, eventLoop) }
        case .callback(let callback):
            callback(response)
        }
        return true
    }

    /// Called right after `MHD_suspend_connection`.
    func markSuspended() {
        let alreadyDone = state.withLock { state -> Bool in
            if state.completed { return true }
            state.suspended = true
            return false
        }
        if alreadyDone, case .connection(let connection, let eventLoop) = sink { Self.resume(connection, eventLoop) }
    }

    private static func resume(_ connection: UnsafeSendablePointer, _ eventLoop: EventLoop?) {
        MHD_resume_connection(connection.pointer)
        eventLoop?.wake()
    }

    /// The stored response, once completed (read on the resumed libmicrohttpd call).
    func takeResponse() -> HTTPResponse? {
        state.withLock { state in
            defer { state.response = nil }
            return state.response
        }
    }
}

/// An `OpaquePointer` that may cross threads because the only thing done with it is thread-safe.
struct UnsafeSendablePointer: @unchecked Sendable {  // only passed to MHD_resume_connection, which is thread-safe
    let pointer: OpaquePointer
}
