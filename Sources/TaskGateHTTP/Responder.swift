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
        /// The client went away while parked.
        var hungUp = false
        /// What releases the wait when the client goes away (set by the handler that parked the request).
        var hangupHandler: (@Sendable () -> Void)?
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
            state.hangupHandler = nil
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

    /// Sets what to do if the client goes away before the answer: typically release the wait, which completes the
    /// responder (its answer is then dropped). Runs `handler` at once if the client is gone already. Without a
    /// handler, a hang-up completes the responder with a `499` nobody reads, freeing the connection.
    public func onHangup(_ handler: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state -> Bool in
            if state.hungUp { return true }
            if !state.completed { state.hangupHandler = handler }
            return false
        }
        if runNow { handler() }
    }

    /// The client closed its connection while the request was parked (called by the `HangupWatcher`).
    func hangUp() {
        enum Action { case none, handler(@Sendable () -> Void), complete }
        let action = state.withLock { state -> Action in
            if state.completed || state.hungUp { return .none }
            state.hungUp = true
            if let handler = state.hangupHandler { return .handler(handler) }
            return .complete
        }
        switch action {
        case .none: break
        case .handler(let handler): handler()
        case .complete: complete(HTTPResponse(status: 499))
        }
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
