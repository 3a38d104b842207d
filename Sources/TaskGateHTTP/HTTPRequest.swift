/// One HTTP request as the router sees it: everything copied out of libmicrohttpd, so it outlives the callback.
public struct HTTPRequest: Sendable {
    /// The method, e.g. `GET`.
    public var method: String
    /// The path without the query string, e.g. `/tasks/00000001`.
    public var path: String
    /// Query arguments (the last one wins when a name repeats).
    public var query: [String: String]
    /// The headers the gateway reads (repeated headers are joined with `, `).
    public var headers: HTTPHeaders
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
        self.init(
            method: method, path: path, query: query, headers: HTTPHeaders(headers), body: body,
            bodyTooLarge: bodyTooLarge)
    }

    /// Creates a request with headers already in their slots.
    public init(
        method: String, path: String, query: [String: String] = [:], headers: HTTPHeaders, body: [UInt8] = [],
        bodyTooLarge: Bool = false
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.bodyTooLarge = bodyTooLarge
    }

    /// The query parameters the gateway reads; only these are decoded from the request target.
    static let queryParameters = [
        "wait", "state", "function", "limit", "cursor", "ids", "kinds", "results", "last_event_id",
    ]

    /// A header by case-insensitive name (nil for one the gateway does not read).
    public func header(_ name: String) -> String? {
        headers[name.lowercased()]
    }

    /// A header the gateway reads.
    func header(_ name: HTTPHeaders.Name) -> String? {
        headers[name]
    }
}

/// The request headers the gateway reads, in a slot each: only these are copied out of libmicrohttpd (in one pass),
/// and reading one is an array index, not a hashed lookup.
public struct HTTPHeaders: Sendable {
    /// A header the gateway reads.
    public enum Name: Int, CaseIterable, Sendable {
        case contentType, prefer, ifNoneMatch, idempotencyKey, authorization, workerSecret, contentLength
        case transferEncoding, traceparent, lastEventID

        /// The lowercase name on the wire.
        public var text: String {
            switch self {
            case .contentType: "content-type"
            case .prefer: "prefer"
            case .ifNoneMatch: "if-none-match"
            case .idempotencyKey: "idempotency-key"
            case .authorization: "authorization"
            case .workerSecret: "taskgate-worker-secret"
            case .contentLength: "content-length"
            case .transferEncoding: "transfer-encoding"
            case .traceparent: "traceparent"
            case .lastEventID: "last-event-id"
            }
        }

        /// The name of a lowercase wire name, or nil for one the gateway does not read.
        public init?(text: String) {
            guard let name = Name.allCases.first(where: { $0.text == text }) else { return nil }
            self = name
        }
    }

    private var values = InlineArray<10, String?>(repeating: nil)

    /// No header.
    public init() {}

    /// The headers of `dictionary` the gateway reads (names in any case); the others are dropped.
    public init(_ dictionary: [String: String]) {
        for (name, value) in dictionary { self[name.lowercased()] = value }
    }

    /// A header by its lowercase name; nil (and setting it does nothing) for one the gateway does not read.
    public subscript(text: String) -> String? {
        get { Name(text: text).flatMap { self[$0] } }
        set { if let name = Name(text: text) { self[name] = newValue } }
    }

    /// A header the gateway reads.
    public subscript(name: Name) -> String? {
        get { values[name.rawValue] }
        set { values[name.rawValue] = newValue }
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
    /// The number of the store change this answer reports (0 for none): it is sent only once that change is
    /// committed, so nothing is acknowledged that a crash could take back.
    public var storeSeq: UInt64 = 0

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
    /// Answer once the store has committed what the answer reports (the connection is parked meanwhile).
    case awaitStore(StoreWait)
    /// Answer with an event stream (200, `text/event-stream`) that lasts until the client or the server ends it.
    case stream(EventSubscription, headers: [(name: String, value: String)])
}

/// An open event stream of an `EventHub`, to be served as a response.
public struct EventSubscription: Sendable {
    let hub: EventHub
    let id: EventStreamCore.StreamID

    /// What the stream has to send now, after which it is closed: for callers that cannot hold a stream open (the
    /// in-memory client of the tests).
    public func takeAvailableAndClose() -> [UInt8] {
        hub.takeAvailableAndClose(id)
    }
}

/// What an event stream's response reads from: its hub, its stream, and its connection (to suspend and resume).
final class EventStreamBox {
    let hub: EventHub
    let id: EventStreamCore.StreamID
    let connection: OpaquePointer

    init(_ subscription: EventSubscription, connection: OpaquePointer) {
        hub = subscription.hub
        id = subscription.id
        self.connection = connection
    }
}
