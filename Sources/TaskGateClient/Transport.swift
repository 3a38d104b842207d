import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
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

    /// Nil when `baseURL` is not one the transport can reach (every request then fails with
    /// `invalidConfiguration`, saying `unusable`).
    let pool: ConnectionPool?
    let unusable: String
    let baseURL: String
    let token: String?

    /// A transport to the server at `baseURL` (`http://host[:port]` or `https://host[:port]`) over at most
    /// `maxConnections` keep-alive connections on `group`'s event loops. For `https://` the server's certificate
    /// must chain to a certificate in `caFile` (PEM), or to the system's roots without one, and name the host. Any
    /// other URL (a path, another scheme), or a CA file that cannot be read, makes every request fail with
    /// `TaskGateError.invalidConfiguration`.
    package init(
        baseURL: String, token: String?, maxConnections: Int, connectTimeout: Duration,
        idleTimeout: Duration = .seconds(60), maxResponseBytes: Int, caFile: String? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.baseURL = baseURL
        self.token = token
        guard let target = ConnectionPool.Target(baseURL: baseURL) else {
            pool = nil
            unusable =
                "the server URL must be http://host[:port] or https://host[:port] without a path, got '\(baseURL)'"
            return
        }
        var tls: NIOSSLContext?
        if target.tls {
            var configuration = TLSConfiguration.makeClientConfiguration()
            if let caFile {
                configuration.trustRoots = .file(caFile)
            } else if let bundle = Self.systemBundle {
                // The system's roots, parsed here, once, on the caller's thread: with `.default` BoringSSL reads the
                // certificate directory during handshakes, on the event loop, which stalled every connection on
                // that loop for seconds on a loaded machine.
                configuration.trustRoots = .file(bundle)
            }
            do {
                tls = try NIOSSLContext(configuration: configuration)
            } catch {
                pool = nil
                unusable = "cannot set up TLS with the CA file '\(caFile ?? "(system roots)")': \(error)"
                return
            }
        }
        unusable = ""
        pool = ConnectionPool(
            target: target, group: group, maxConnections: maxConnections, connectTimeout: connectTimeout,
            idleTimeout: idleTimeout, maxResponseBytes: maxResponseBytes, tls: tls)
    }

    /// Closes the connections.
    package func shutdown() {
        pool?.shutdown()
    }

    /// Sends one request and reads the whole answer.
    package func send(
        _ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, headers: [(String, String)] = [],
        timeout: Duration
    ) async throws -> Response {
        guard let pool else { throw TaskGateError.invalidConfiguration(unusable) }
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.reserveCapacity(4 + headers.count)
        head.headers.add(name: "Host", value: pool.target.authority)
        if let token {
            guard Self.isValidHeaderValue(token) else {
                throw TaskGateError.invalidConfiguration("the token may not contain CR, LF or NUL")
            }
            head.headers.add(name: "Authorization", value: "Bearer \(token)")
        }
        if let body {
            head.headers.add(name: "Content-Type", value: "application/json")
            head.headers.add(name: "Content-Length", value: String(body.count))
        } else if method == .POST || method == .PUT {
            head.headers.add(name: "Content-Length", value: "0")
        }
        for (name, value) in headers {
            guard Self.isValidHeaderValue(value) else {
                throw TaskGateError.invalidConfiguration("the \(name) header may not contain CR, LF or NUL")
            }
            head.headers.add(name: name, value: value)
        }
        do {
            return try await pool.execute(head: head, body: body, deadline: .now() + .nanoseconds(timeout.nanoseconds))
        } catch HTTP1Connection.Failure.cancelled {
            throw CancellationError()
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw TaskGateError.disconnected(String(describing: error))
        }
    }

    /// The system's CA bundle where the usual Linux distributions keep it, if present.
    static let systemBundle: String? = [
        "/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem",
    ].first { FileManager.default.isReadableFile(atPath: $0) }

    /// `Prefer: return=minimal`: batch and wait answers then carry each task's status only (id, function, state,
    /// result, error), which is all a future reads — a third of the bytes to write and to read.
    static let minimal = [("Prefer", "return=minimal")]

    /// Whether `value` can be sent as a header value (no CR, LF or NUL: nothing that could end the header).
    static func isValidHeaderValue(_ value: String) -> Bool {
        !value.utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }
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
