import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A response as tests look at it.
public struct TestResponse: Sendable {
    /// The status code.
    public var status: Int
    /// Headers by lowercased name.
    public var headers: [String: String]
    /// The body.
    public var body: [UInt8]

    /// The body decoded as a JSON object (fails the caller's expectations if it is not one).
    public var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
    }

    /// The body as text.
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// An HTTP client for tests over AsyncHTTPClient, with room for many concurrent connections. A request waits for a
/// pooled connection as long as its own timeout allows (a loaded machine can starve the test process for seconds);
/// a client released without `shutdown()` shuts itself down instead of tripping AsyncHTTPClient's assertion.
public final class TestHTTPClient: Sendable {
    let client: HTTPClient
    /// Prefixed to every path.
    public let baseURL: String

    /// Creates a client for `baseURL` allowing `connections` concurrent connections.
    public init(baseURL: String, connections: Int = 64) {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(
            idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
        // AsyncHTTPClient bounds the wait for a pooled connection with the connect timeout.
        configuration.timeout = .init(connect: .seconds(120), read: .seconds(120))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.baseURL = baseURL
    }

    deinit {
        // A test that threw before `shutdown()`: shut down without blocking (the client keeps itself alive until
        // it is down). Shutting down twice is an error AsyncHTTPClient reports, not a crash; it is ignored here.
        client.shutdown { _ in }
    }

    /// Sends a request and collects the whole response.
    public func request(
        _ method: String, _ path: String, headers: [String: String] = [:], body: [UInt8]? = nil,
        timeout: Duration = .seconds(120)
    ) async throws -> TestResponse {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await client.execute(
            request, timeout: .nanoseconds(timeout.components.seconds * 1_000_000_000))
        let buffer = try await response.body.collect(upTo: 64 << 20)
        var collected: [String: String] = [:]
        for header in response.headers { collected[header.name.lowercased()] = header.value }
        return TestResponse(
            status: Int(response.status.code), headers: collected, body: Array(buffer.readableBytesView))
    }

    /// `POST` with a JSON body.
    public func post(_ path: String, json: String, headers: [String: String] = [:]) async throws -> TestResponse {
        try await request(
            "POST", path, headers: ["Content-Type": "application/json"].merging(headers) { $1 }, body: Array(json.utf8))
    }

    /// Shuts the client down.
    public func shutdown() async throws {
        try await client.shutdown()
    }
}
