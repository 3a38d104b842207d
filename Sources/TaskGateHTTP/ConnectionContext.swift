/// Per-request state carried through libmicrohttpd's `con_cls` between the calls of one request.
///
/// Owner: created and retained (`passRetained`) on the first access-handler call, released by the
/// request-completed callback. Only libmicrohttpd's thread that serves the connection touches it.
final class ConnectionContext {
    var request: HTTPRequest
    var responder: Responder?

    init(request: HTTPRequest) {
        self.request = request
    }
}
