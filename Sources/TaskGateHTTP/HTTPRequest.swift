/// One HTTP request as the router sees it: everything copied out of libmicrohttpd, so it outlives the callback.
public struct HTTPRequest: Sendable {
    /// The method, e.g. `GET`.
    public var method: String
    /// The path without the query string, e.g. `/tasks/00000001`.
    public var path: String
    /// Query arguments (the last one wins when a name repeats).
    public var query: [String: String]
    /// Headers by lowercased name (repeated headers are joined with `, `).
    public var headers: [String: String]
    /// The body.
    public var body: [UInt8]
    /// True when the body passed the size limit (or its `Content-Length` said it would) and was dropped.
    public var bodyTooLarge: Bool
    /// What the HTTP layer found malformed, if anything; the gateway refuses such a request with a 400.
    public var defect: RequestDefect?

    /// Creates a request.
    public init(
        method: String, path: String, query: [String: String] = [:], headers: [String: String] = [:],
        body: [UInt8] = [], bodyTooLarge: Bool = false
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.bodyTooLarge = bodyTooLarge
    }

    /// The headers the gateway reads (lowercase); only these are copied out of libmicrohttpd, in one pass.
    static let headerNames = [
        "content-type", "prefer", "if-none-match", "idempotency-key", "authorization", "taskgate-worker-secret",
        "content-length", "transfer-encoding", "traceparent",
    ]
    /// The query parameters the gateway reads; only these are decoded from the request target.
    static let queryParameters = ["wait", "state", "function", "limit", "cursor"]

    /// A header by case-insensitive name.
    public func header(_ name: String) -> String? {
        if let value = headers[name] { return value }
        let lowered = name.lowercased()
        return lowered == name ? nil : headers[lowered]
    }
}

/// One HTTP response.
public struct HTTPResponse: Sendable {
    /// The status code.
    public var status: Int
    /// Headers in order.
    public var headers: [(name: String, value: String)]
    /// The body.
    public var body: [UInt8]

    /// Creates a response.
    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON response.
    public static func json(_ status: Int, _ body: [UInt8], headers: [(name: String, value: String)] = [])
        -> HTTPResponse
    {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: body)
    }

    /// The first header with this case-insensitive name.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// What a handler does with a request: answer now, or park the connection and answer later through a `Responder`.
public enum HandlerResult: Sendable {
    /// Answer now.
    case respond(HTTPResponse)
    /// Park the connection; `start` gets the responder and must make sure it is completed exactly once.
    case park(@Sendable (Responder) -> Void)
}
