import CMicroHTTPD
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// An embedded libmicrohttpd daemon: binds in `init`, serves every request through `handler` on its own threads,
/// and stops in `stop()`. It owns the `MHD_Daemon*`.
public final class HTTPServer: Sendable {
    /// Listening and resource limits.
    public struct Configuration: Sendable {
        /// The address to bind: an IPv4 or IPv6 literal, or `localhost`.
        public var host = "127.0.0.1"
        /// The port; 0 picks a free one (read it back from `port`).
        public var port = 8080
        /// Bodies larger than this are dropped (and flagged on the request); `GatewayService` sets it from the
        /// gateway's limit.
        public var maxBodyBytes = 1 << 20
        /// Open connections at most, parked ones included; libmicrohttpd leaves further ones in the listen backlog
        /// (and the kernel refuses them once that is full). Keep it within `ResourceBudget.maxConnections`.
        public var connectionLimit = 20_000
        /// Memory libmicrohttpd gives each connection for its request line, headers and read buffer. libmicrohttpd
        /// zeroes all of it after every request on a kept-alive connection, so it costs time per request in
        /// proportion: 32 KiB (its default) holds an 8 KB URL, a 4 KB token and the usual headers, because taskgate
        /// keeps libmicrohttpd from storing the query's parameters in it (see `RequestTarget`).
        public var connectionMemoryBytes = 32 * 1_024
        /// Idle connections are closed after this many seconds (parked ones never are).
        public var connectionTimeoutSeconds = 90
        /// libmicrohttpd's own polling threads; 0 for one event-loop thread run by taskgate, which batches the
        /// deferred work of each iteration.
        public var threads = 0
        /// The name of the event-loop thread as `ps -L` and `top -H` show it (the kernel keeps 15 bytes).
        public var threadName = "taskgate-http"
        /// Serve HTTPS with this PEM certificate (chain) and PEM private key, through libmicrohttpd's own TLS
        /// (GnuTLS); nil for plain HTTP.
        public var tls: TLS?

        /// A certificate and its key, both PEM text.
        public struct TLS: Sendable {
            /// The certificate, then any intermediates, PEM.
            public var certificatePEM: String
            /// The private key, PEM.
            public var keyPEM: String

            /// A certificate and key.
            public init(certificatePEM: String, keyPEM: String) {
                self.certificatePEM = certificatePEM
                self.keyPEM = keyPEM
            }
        }

        /// The defaults.
        public init() {}
    }

    /// Why the daemon could not start.
    public struct StartError: Error, CustomStringConvertible {
        /// What went wrong.
        public var description: String
    }

    /// The handler every request goes to, on a libmicrohttpd thread; it must not block. What it leaves in its
    /// `WakeupQueue` runs after its answer is queued (with the event loop, after the whole batch).
    let handler: @Sendable (HTTPRequest, inout WakeupQueue) -> HandlerResult
    /// Told of every answer queued: the request, the status, and the time since its headers were read.
    let observer: (@Sendable (HTTPRequest, Int, Duration) -> Void)?
    /// The loop thread when libmicrohttpd runs without its own threads (`threads == 0`).
    let eventLoop: EventLoop?
    /// Answers parked on the event loop until the store commits them (with a loop and a store gate).
    let storeWaits: StoreWaits?
    /// Releases parked requests whose clients went away.
    let hangups: HangupWatcher
    /// The configuration it was started with.
    public let configuration: Configuration
    /// The daemon pointer; set once in `init`, cleared once in `stop()`.
    private let daemon: Mutex<UnsafeSendablePointer?>
    private let boundPort = Atomic<Int>(0)
    /// The port actually bound.
    public var port: Int { boundPort.load(ordering: .relaxed) }
    /// Requests parked (suspended) right now.
    let parkedCount = Atomic<Int>(0)

    /// Binds and starts serving; `observer` is told of every answer (for the metrics). Answers that wait for
    /// `storeGate` park on the event loop (see `StoreWaits`); others, through a responder.
    public init(
        configuration: Configuration, observer: (@Sendable (HTTPRequest, Int, Duration) -> Void)? = nil,
        storeGate: StoreGate? = nil,
        handler: @escaping @Sendable (HTTPRequest, inout WakeupQueue) -> HandlerResult
    ) throws {
        self.configuration = configuration
        self.handler = handler
        self.observer = observer
        self.daemon = Mutex(nil)
        let eventLoop = configuration.threads > 0 ? nil : try EventLoop(threadName: configuration.threadName)
        self.eventLoop = eventLoop
        if let eventLoop, let storeGate {
            let waits = StoreWaits(gate: storeGate)
            eventLoop.storeWaits = waits
            storeWaits = waits
        } else {
            storeWaits = nil
        }
        self.hangups = try HangupWatcher()
        var options: [MHD_OptionItem] = [
            MHD_OptionItem(option: .CONNECTION_LIMIT, value: configuration.connectionLimit, ptr_value: nil),
            MHD_OptionItem(
                option: .CONNECTION_MEMORY_LIMIT, value: configuration.connectionMemoryBytes, ptr_value: nil),
            MHD_OptionItem(option: .CONNECTION_TIMEOUT, value: configuration.connectionTimeoutSeconds, ptr_value: nil),
            MHD_OptionItem(option: .LISTEN_BACKLOG_SIZE, value: 4096, ptr_value: nil),
        ]
        if configuration.threads > 0 {
            options.append(MHD_OptionItem(option: .THREAD_POOL_SIZE, value: configuration.threads, ptr_value: nil))
        }
        // libmicrohttpd reads the PEM texts while it starts (GnuTLS copies them); they live until then.
        let certificate = configuration.tls.map { strdup($0.certificatePEM) }
        let key = configuration.tls.map { strdup($0.keyPEM) }
        defer {
            free(certificate ?? nil)
            free(key ?? nil)
        }
        if let certificate, let key {
            guard MHD_is_feature_supported(.FEATURE_TLS) == .YES else {
                hangups.stop()
                throw StartError(description: "this libmicrohttpd was built without TLS support")
            }
            options.append(
                MHD_OptionItem(option: .HTTPS_MEM_CERT, value: 0, ptr_value: UnsafeMutableRawPointer(certificate)))
            options.append(MHD_OptionItem(option: .HTTPS_MEM_KEY, value: 0, ptr_value: UnsafeMutableRawPointer(key)))
        }
        options.append(MHD_OptionItem(option: .END, value: 0, ptr_value: nil))
        // With threads, libmicrohttpd polls in its own pool; without, it runs on `eventLoop`'s thread.
        var flags = MHD_USE_EPOLL.rawValue | MHD_ALLOW_SUSPEND_RESUME.rawValue
        if configuration.threads > 0 { flags |= MHD_USE_INTERNAL_POLLING_THREAD.rawValue }
        if configuration.tls != nil { flags |= MHD_USE_TLS.rawValue }
        let host = configuration.host == "localhost" ? "127.0.0.1" : configuration.host
        var address4 = sockaddr_in()
        var address6 = sockaddr_in6()
        if inet_pton(AF_INET, host, &address4.sin_addr) == 1 {
            address4.sin_family = sa_family_t(AF_INET)
            address4.sin_port = in_port_t(UInt16(configuration.port).bigEndian)
        } else if inet_pton(AF_INET6, host, &address6.sin6_addr) == 1 {
            address6.sin6_family = sa_family_t(AF_INET6)
            address6.sin6_port = in_port_t(UInt16(configuration.port).bigEndian)
            flags |= MHD_USE_IPv6.rawValue
        } else {
            hangups.stop()
            throw StartError(description: "the host must be an IPv4 or IPv6 address or localhost, got '\(host)'")
        }
        let context = Unmanaged.passUnretained(self).toOpaque()
        let started: OpaquePointer? = options.withUnsafeBufferPointer { items in
            func start(_ address: UnsafePointer<sockaddr>) -> OpaquePointer? {
                cmhd_start_daemon(
                    flags, address, MHDCallbacks.access, context, MHDCallbacks.completed, nil, MHDCallbacks.uriLog,
                    context, items.baseAddress)
            }
            if address4.sin_family == sa_family_t(AF_INET) {
                return withUnsafePointer(to: &address4) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1, start) }
            }
            return withUnsafePointer(to: &address6) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1, start) }
        }
        guard let started else {
            hangups.stop()
            throw StartError(
                description: "libmicrohttpd could not listen on \(host):\(configuration.port) (in use, or not allowed"
                    + (configuration.tls == nil ? ")" : ", or the TLS certificate or key is not valid PEM)"))
        }
        boundPort.store(Int(cmhd_bound_port(started)), ordering: .relaxed)
        daemon.withLock { $0 = UnsafeSendablePointer(pointer: started) }
        if let storeWaits, let eventLoop {
            // The writer wakes the loop after a commit when answers wait for it (cleared again in `stop`).
            storeWaits.gate.store.onProgress { [weak eventLoop] in
                if storeWaits.waiting.load(ordering: .sequentiallyConsistent) > 0 { eventLoop?.wake() }
            }
            storeWaits.gate.store.onDemand { storeWaits.waiting.load(ordering: .sequentiallyConsistent) }
        }
        do {
            try eventLoop?.start(daemon: started, connectionLimit: configuration.connectionLimit)
        } catch {
            stop()
            throw error
        }
    }

    deinit {
        assert(daemon.withLock { $0 == nil }, "HTTPServer released without stop()")
    }

    /// Open connections, parked ones included.
    public var connectionCount: Int {
        daemon.withLock { $0.map { Int(cmhd_connection_count($0.pointer)) } ?? 0 }
    }

    /// Requests parked right now.
    public var parked: Int {
        parkedCount.load(ordering: .relaxed) + (storeWaits?.waiting.load(ordering: .relaxed) ?? 0)
    }

    /// Parked connections whose sockets are watched for the client going away.
    public var watchedForHangup: Int { hangups.count }

    /// Stops the daemon. Every parked request must have been completed first (libmicrohttpd forbids stopping with
    /// suspended connections); the gateway's drain does that.
    public func stop() {
        guard
            let daemon = daemon.withLock({ state -> UnsafeSendablePointer? in
                defer { state = nil }
                return state
            })
        else { return }
        eventLoop?.stop()
        if let storeWaits {
            storeWaits.gate.store.onProgress(nil)
            storeWaits.gate.store.onDemand(nil)
            storeWaits.resumeAll()
        }
        MHD_stop_daemon(daemon.pointer)
        hangups.stop()
    }
}
