import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A webhook receiver on 127.0.0.1 and an ephemeral port, for tests: records every request it gets and answers as
/// told per path (a status, after an optional delay), so a test can be a receiver that works, fails, is slow or is gone.
public final class WebhookReceiver: Sendable {
    /// One request as received.
    public struct Request: Sendable {
        /// The request target (path and query).
        public var path: String
        /// Header names lowercased, with their values.
        public var headers: [String: String]
        /// The body.
        public var body: [UInt8]
    }

    /// How the receiver answers one path.
    public struct Behavior: Sendable {
        /// The statuses of successive requests; the last one repeats.
        public var statuses: [Int]
        /// How long to wait before answering.
        public var delay: Duration

        /// Answers `statuses` in turn after `delay`.
        public init(statuses: [Int], delay: Duration = .zero) {
            self.statuses = statuses
            self.delay = delay
        }
    }

    private struct State {
        var requests: [Request] = []
        var behaviors: [String: Behavior] = [:]
        var served: [String: Int] = [:]
    }

    private final class Shared: Sendable {
        let state = Mutex(State())
    }

    private let shared = Shared()
    private let channel: any Channel
    /// The port it listens on.
    public let port: Int

    /// Starts listening.
    public init() async throws {
        let shared = self.shared
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(shared: shared))
                }
            }
        channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
    }

    /// `http://127.0.0.1:<port>`.
    public var origin: String { "http://127.0.0.1:\(port)" }

    /// Sets how `path` is answered (default: 204).
    public func behave(_ path: String, _ behavior: Behavior) {
        shared.state.withLock { $0.behaviors[path] = behavior }
    }

    /// Every request so far, in arrival order.
    public var requests: [Request] { shared.state.withLock { $0.requests } }

    /// Stops listening.
    public func stop() async {
        try? await channel.close()
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {  // used on its channel's event loop only
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let shared: Shared
        var head: HTTPRequestHead?
        var body: [UInt8] = []

        init(shared: Shared) {
            self.shared = shared
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = []
            case .body(var buffer):
                body.append(contentsOf: buffer.readBytes(length: buffer.readableBytes) ?? [])
            case .end:
                guard let head else { return }
                var headers: [String: String] = [:]
                for (name, value) in head.headers { headers[name.lowercased()] = value }
                let path = String(head.uri.prefix { $0 != "?" })
                let request = Request(path: head.uri, headers: headers, body: body)
                let (status, delay) = shared.state.withLock { state -> (Int, Duration) in
                    state.requests.append(request)
                    let count = state.served[path, default: 0]
                    state.served[path] = count + 1
                    guard let behavior = state.behaviors[path], !behavior.statuses.isEmpty else { return (204, .zero) }
                    return (behavior.statuses[min(count, behavior.statuses.count - 1)], behavior.delay)
                }
                let keepAlive = head.isKeepAlive
                let respond = { [self] in
                    var responseHead = HTTPResponseHead(version: head.version, status: .init(statusCode: status))
                    responseHead.headers.add(name: "Content-Length", value: "0")
                    if !keepAlive { responseHead.headers.add(name: "Connection", value: "close") }
                    context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
                    context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                    if !keepAlive { context.close(promise: nil) }
                }
                if delay > .zero {
                    context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(delay)) {
                        respond()
                    }
                } else {
                    respond()
                }
                self.head = nil
            }
        }
    }
}
