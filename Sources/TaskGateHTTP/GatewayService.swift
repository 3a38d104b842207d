import Logging
import ServiceLifecycle
import TaskScheduler

/// The HTTP front door as a `Service`: serves until graceful shutdown, then drains — readiness fails, new tasks
/// are refused, every parked long-poll is answered with the current state — and stops the daemon.
public final class GatewayService: Service, Sendable {
    /// The REST API.
    public let gateway: Gateway
    /// The daemon.
    public let server: HTTPServer
    /// Renders and sends the event streams' events.
    let eventPump: EventPump
    let logger: Logger

    /// Binds the daemon (throws if it cannot listen) in front of `gateway`; the daemon drops bodies above the
    /// gateway's `maxBodyBytes`.
    public init(gateway: Gateway, server configuration: HTTPServer.Configuration, logger: Logger) throws {
        self.gateway = gateway
        self.logger = logger
        var configuration = configuration
        configuration.maxBodyBytes = gateway.configuration.maxBodyBytes
        var observer: (@Sendable (HTTPRequest, Int, Duration) -> Void)?
        if let metrics = gateway.metrics {
            observer = { request, status, duration in
                metrics.recordRequest(method: request.method, path: request.path, status: status, duration: duration)
            }
        }
        let server = try HTTPServer(configuration: configuration, observer: observer, storeGate: gateway.storeGate) {
            request, deferred in
            gateway.handle(request, deferring: &deferred)
        }
        self.server = server
        do {
            eventPump = try EventPump(hub: gateway.events, eventLoop: server.eventLoop, hangups: server.hangups)
        } catch {
            server.stop()
            throw error
        }
        gateway.startPublishing()
        gateway.connectionCount.withLock { $0 = { server.connectionCount } }
    }

    /// Serves until graceful shutdown or cancellation, then drains and stops.
    public func run() async throws {
        try? await gracefulShutdown()
        logger.info("draining", metadata: ["http.parked": "\(gateway.parked)"])
        gateway.beginDrain()
        // Parked requests were just answered; give libmicrohttpd a moment to send them before it stops.
        // Event streams end once what they were sent is out; libmicrohttpd may not stop while one is suspended.
        for _ in 0..<200 where gateway.parked > 0 || server.parked > 0 || gateway.events.streams > 0 {
            try? await Task.sleep(for: .milliseconds(10))
        }
        try? await Task.sleep(for: .milliseconds(50))
        server.stop()
        eventPump.stop()
        logger.info("http server stopped")
    }
}
