/// Per-request state carried through libmicrohttpd's `con_cls` between the calls of one request.
///
/// Owner: created and retained (`passRetained`) by the URI callback, which libmicrohttpd calls with the raw
/// request target before anything else; released by the request-completed callback. Only libmicrohttpd's thread
/// that serves the connection touches it.
final class ConnectionContext {
    /// The request target as sent (path and query, not decoded).
    let target: [UInt8]
    /// Whether the headers have been read into `request` (the access handler's first call).
    var started = false
    /// When the headers were read (for the request's duration in the metrics).
    var startedAt: ContinuousClock.Instant?
    var request = HTTPRequest(method: "", path: "")
    var responder: Responder?
    /// The answer of a request parked until the store committed it (`StoreWaits`), set when it is resumed.
    var storedAnswer: HTTPResponse?

    init(target: [UInt8]) {
        self.target = target
    }
}
