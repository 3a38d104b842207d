import TaskGateHTTP

/// Sends requests straight to a `Gateway`, without sockets: parked requests are answered through an in-memory
/// responder.
public struct InMemoryClient: Sendable {
    /// The API under test.
    public let gateway: Gateway

    /// Creates a client for `gateway`.
    public init(gateway: Gateway) {
        self.gateway = gateway
    }

    /// Answers one request.
    public func send(_ request: HTTPRequest) async -> HTTPResponse {
        switch gateway.handle(request) {
        case .respond(let response):
            return response
        case .park(let start):
            return await withCheckedContinuation { continuation in
                start(Responder.inMemory { continuation.resume(returning: $0) })
            }
        case .awaitStore(let wait):
            return await withCheckedContinuation { continuation in
                wait.gate.complete(Responder.inMemory { continuation.resume(returning: $0) }, with: wait)
            }
        case .stream(let subscription, let headers):
            // What the stream has ready now; it is closed after (an in-memory answer cannot stay open).
            return HTTPResponse(status: 200, headers: headers, body: subscription.takeAvailableAndClose())
        }
    }

    /// A request with a JSON body.
    public func send(
        _ method: String, _ path: String, query: [String: String] = [:], headers: [String: String] = [:],
        json: String? = nil
    ) async -> HTTPResponse {
        var allHeaders = Dictionary(uniqueKeysWithValues: headers.map { ($0.key.lowercased(), $0.value) })
        if json != nil && allHeaders["content-type"] == nil { allHeaders["content-type"] = "application/json" }
        return await send(
            HTTPRequest(method: method, path: path, query: query, headers: allHeaders, body: Array((json ?? "").utf8)))
    }
}
