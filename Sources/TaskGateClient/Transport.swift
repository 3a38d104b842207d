import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TaskGateAPI
import TaskGateSupport

/// One HTTP exchange with the server over the client's connection pool; maps transport failures to
/// `TaskGateError.disconnected` and keeps Swift task cancellation as `CancellationError`. Shared with the worker
/// runtime (`package`).
package struct Transport: Sendable {
    /// A whole answer.
    package struct Response: Sendable {
        package var status: Int
        package var headers: HTTPHeaders
        package var body: [UInt8]
    }

    let http: HTTPClient
    let baseURL: String
    let token: String?
    let maxResponseBytes: Int

    /// A transport over `http` to the server at `baseURL`.
    package init(http: HTTPClient, baseURL: String, token: String?, maxResponseBytes: Int) {
        self.http = http
        self.baseURL = baseURL
        self.token = token
        self.maxResponseBytes = maxResponseBytes
    }

    /// Sends one request and reads the whole answer.
    package func send(
        _ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, headers: [(String, String)] = [],
        timeout: Duration
    ) async throws -> Response {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        do {
            let response = try await http.execute(request, timeout: .nanoseconds(timeout.nanoseconds))
            let buffer = try await response.body.collect(upTo: maxResponseBytes)
            return Response(
                status: Int(response.status.code), headers: response.headers, body: Array(buffer.readableBytesView))
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as HTTPClientError where error == .cancelled {
            throw CancellationError()
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw TaskGateError.disconnected(String(describing: error))
        }
    }

    /// Reads an answer with one of the wire types' one-pass readers (`WireTask.init(json:)`, ...).
    package func read<T>(_ response: Response, _ read: ([UInt8]) throws(WireFormatError) -> T) throws -> T {
        do throws(WireFormatError) {
            return try read(response.body)
        } catch {
            throw TaskGateError.invalidResponse("\(response.status): \(error)")
        }
    }

    /// Decodes a JSON answer with `JSONDecoder` (the rarely read ones: stats, a worker's registration).
    package func decode<T: Decodable>(_ type: T.Type, from response: Response) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(response.body))
        } catch {
            throw TaskGateError.invalidResponse("\(response.status): \(error)")
        }
    }

    /// The problem a 4xx/5xx answer carries (or one made up when the body is not a problem).
    package func problem(_ response: Response) -> WireProblem {
        if let problem = try? WireProblem(json: response.body) { return problem }
        return WireProblem(
            type: "about:blank", title: "Unexpected answer", status: response.status,
            detail: String(decoding: response.body.prefix(200), as: UTF8.self), code: "unexpected_status")
    }
}
