import DequeModule
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization
import TaskGateSupport

/// Keep-alive HTTP/1.1 connections to one server (`http://host:port`), at most `maxConnections`, each carrying one
/// exchange at a time. A request takes an idle connection, opens a new one while under the limit, or waits in
/// line (first come, first served) for one to come back.
///
/// Why not AsyncHTTPClient: measured on the client benchmark (docs/benchmarks.md, issue 11), AsyncHTTPClient spent
/// about 100 µs of CPU per small request (URL parsing, tracing, its pool's state machine, the async body stream),
/// which capped 64 concurrent submits at 10,000 tasks/s on two cores; this pool, on SwiftNIO's own HTTP/1 codec,
/// does what the client needs and nothing else. The test client (`TaskGateTesting`) still uses AsyncHTTPClient.
final class ConnectionPool: Sendable {
    /// Where and how to connect.
    struct Target: Sendable {
        var host: String
        var port: Int
        /// The `Host` header.
        var authority: String
        /// `https://`: TLS on every connection.
        var tls: Bool

        /// Reads `http://host[:port]` or `https://host[:port]` (no path); nil for anything else.
        init?(baseURL: String) {
            if baseURL.hasPrefix("http://") {
                tls = false
            } else if baseURL.hasPrefix("https://") {
                tls = true
            } else {
                return nil
            }
            let defaultPort = tls ? 443 : 80
            let rest = baseURL.dropFirst(tls ? "https://".count : "http://".count)
            guard !rest.isEmpty, !rest.contains("/"), !rest.contains("@") else { return nil }
            authority = String(rest)
            if rest.hasPrefix("[") {
                // [IPv6]:port
                guard let close = rest.firstIndex(of: "]") else { return nil }
                host = String(rest[rest.index(after: rest.startIndex)..<close])
                let after = rest[rest.index(after: close)...]
                if after.isEmpty {
                    port = defaultPort
                } else {
                    guard after.hasPrefix(":"), let value = Int(after.dropFirst()), (1...65535).contains(value) else {
                        return nil
                    }
                    port = value
                }
            } else if let colon = rest.lastIndex(of: ":") {
                host = String(rest[..<colon])
                guard let value = Int(rest[rest.index(after: colon)...]), (1...65535).contains(value) else {
                    return nil
                }
                port = value
            } else {
                host = String(rest)
                port = defaultPort
            }
            guard !host.isEmpty else { return nil }
        }
    }

    private struct Waiter {
        var id: Int
        var deadline: NIODeadline
        var continuation: CheckedContinuation<HTTP1Connection, any Error>

        /// Hands the waiter a connection or a failure.
        func resume(with result: Result<HTTP1Connection, any Error>) {
            continuation.resume(with: result)
        }
    }

    private struct State {
        /// Connections between exchanges, with when each went idle; the most recent last.
        var idle: [(connection: HTTP1Connection, since: NIODeadline)] = []
        /// Connections open or opening, by id: at most `maxConnections`.
        var all: [Int: HTTP1Connection] = [:]
        var waiters: Deque<Waiter> = []
        var nextID = 0
        var closed = false
        /// A sweep that fails waiters past their deadline is scheduled (one timer for all waiters: a timer per
        /// waiter cost two event-loop wake-ups per request and doubled the client's CPU under 64 concurrent calls).
        var sweeping = false
    }

    /// How often waiters are checked against their deadlines (so a wait may overrun its deadline by this much).
    static let sweepInterval = TimeAmount.milliseconds(50)

    let target: Target
    let group: any EventLoopGroup
    let maxConnections: Int
    let connectTimeout: Duration
    let idleTimeout: Duration
    let maxResponseBytes: Int
    /// The TLS context of an `https://` target.
    let tls: NIOSSLContext?
    private let state = Mutex(State())

    init(
        target: Target, group: any EventLoopGroup, maxConnections: Int, connectTimeout: Duration,
        idleTimeout: Duration, maxResponseBytes: Int, tls: NIOSSLContext? = nil
    ) {
        self.tls = tls
        self.target = target
        self.group = group
        self.maxConnections = max(1, maxConnections)
        self.connectTimeout = connectTimeout
        self.idleTimeout = idleTimeout
        self.maxResponseBytes = maxResponseBytes
    }

    /// Connections open or opening (tests).
    var connections: Int { state.withLock { $0.all.count } }

    /// One exchange: a connection from the pool, the request, the whole answer; the connection goes back to the
    /// pool after a complete keep-alive answer. Fails with `HTTP1Connection.Failure` or a connect error; cancelling
    /// the calling task fails it with `.cancelled` at once. A connection found closed before anything was written
    /// is replaced, and the request sent on another (three times at most).
    func execute(head: HTTPRequestHead, body: [UInt8]?, deadline: NIODeadline) async throws -> Transport.Response {
        var replaced = 0
        while true {
            let connection = try await lease(deadline: deadline)
            // A leased connection is connected: `channel` was set when it connected.
            let eventLoop = connection.channel!.eventLoop
            let promise = eventLoop.makePromise(of: Transport.Response.self)
            eventLoop.execute {
                connection.execute(head: head, body: body, deadline: deadline, promise: promise)
            }
            do {
                let response = try await withTaskCancellationHandler {
                    try await promise.futureResult.get()
                } onCancel: {
                    eventLoop.execute { connection.cancel() }
                }
                giveBack(connection)
                return response
            } catch HTTP1Connection.Failure.notSent {
                // Closed between leaving the pool and the write; a server that closes every connection at once
                // must not keep the request looping.
                replaced += 1
                if replaced >= 3 { throw HTTP1Connection.Failure.closed("the server closed 3 connections in a row") }
                continue
            }
        }
    }

    /// Closes every connection and fails the requests waiting for one. Idempotent.
    func shutdown() {
        let (connections, waiters) = state.withLock { state -> ([HTTP1Connection], Deque<Waiter>) in
            state.closed = true
            defer {
                state.waiters.removeAll()
                state.idle.removeAll()
            }
            return (Array(state.all.values), state.waiters)
        }
        for waiter in waiters { waiter.resume(with: .failure(HTTP1Connection.Failure.closed("shut down"))) }
        for connection in connections { close(connection) }
    }

    // MARK: - Leasing

    private enum Lease {
        case idle(HTTP1Connection)
        case open(HTTP1Connection)
        case wait
        case waitAndSweep
        case closed
    }

    private func lease(deadline: NIODeadline) async throws -> HTTP1Connection {
        // The common case, without a continuation: an idle connection that is fresh enough.
        let now = NIODeadline.now()
        let maxIdle = TimeAmount.nanoseconds(idleTimeout.nanoseconds)
        let (idle, waiterID) = state.withLock { state -> (HTTP1Connection?, Int) in
            state.nextID += 1
            guard !state.closed, let (connection, since) = state.idle.last, now - since <= maxIdle,
                connection.isOpen
            else { return (nil, state.nextID) }
            state.idle.removeLast()
            return (connection, state.nextID)
        }
        if let idle { return idle }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation {
                (continuation: CheckedContinuation<HTTP1Connection, any Error>) in
                let now = NIODeadline.now()
                let maxIdle = TimeAmount.nanoseconds(idleTimeout.nanoseconds)
                var stale: [HTTP1Connection] = []
                let lease = state.withLock { state -> Lease in
                    if state.closed || Task.isCancelled { return .closed }
                    while let (connection, since) = state.idle.popLast() {
                        // Idle too long: the server may be closing it right now; open a fresh one instead.
                        guard now - since <= maxIdle, connection.isOpen else {
                            stale.append(connection)
                            continue
                        }
                        return .idle(connection)
                    }
                    if state.all.count < maxConnections { return .open(newConnection(&state)) }
                    state.waiters.append(Waiter(id: waiterID, deadline: deadline, continuation: continuation))
                    if state.sweeping { return .wait }
                    state.sweeping = true
                    return .waitAndSweep
                }
                for connection in stale { close(connection) }
                switch lease {
                case .idle(let connection): continuation.resume(returning: connection)
                case .open(let connection): connect(connection, deadline: deadline, for: continuation)
                case .wait: break
                case .waitAndSweep: scheduleSweep()
                case .closed:
                    let failure = Task.isCancelled ? HTTP1Connection.Failure.cancelled : .closed("shut down")
                    continuation.resume(throwing: failure)
                }
            }
        } onCancel: {
            failWaiter(waiterID, with: .cancelled)
        }
    }

    private func scheduleSweep() {
        group.next().scheduleTask(in: Self.sweepInterval) { [self] in sweep() }
    }

    /// Fails the waiters whose deadline passed; comes back while any is left.
    private func sweep() {
        let now = NIODeadline.now()
        let (expired, again) = state.withLock { state -> ([Waiter], Bool) in
            var expired: [Waiter] = []
            state.waiters.removeAll { waiter in
                guard waiter.deadline <= now else { return false }
                expired.append(waiter)
                return true
            }
            state.sweeping = !state.waiters.isEmpty && !state.closed
            return (expired, state.sweeping)
        }
        for waiter in expired { waiter.resume(with: .failure(HTTP1Connection.Failure.timedOut)) }
        if again { scheduleSweep() }
    }

    private func failWaiter(_ id: Int, with failure: HTTP1Connection.Failure) {
        let waiter = state.withLock { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        waiter?.resume(with: .failure(failure))
    }

    /// A connection counted in `all`, not yet connected.
    private func newConnection(_ state: inout State) -> HTTP1Connection {
        state.nextID += 1
        let connection = HTTP1Connection(id: state.nextID, maxResponseBytes: maxResponseBytes) { [weak self] in
            self?.closed($0)
        }
        state.all[connection.id] = connection
        return connection
    }

    /// Connects `connection` and hands it to `continuation`; on failure frees its slot and fails `continuation`.
    private func connect(
        _ connection: HTTP1Connection, deadline: NIODeadline,
        for continuation: CheckedContinuation<HTTP1Connection, any Error>
    ) {
        let left = deadline - .now()
        let timeout = TimeAmount.nanoseconds(
            max(1_000_000, min(connectTimeout.nanoseconds, left.nanoseconds)))
        ClientBootstrap(group: group)
            .connectTimeout(timeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                connection.attach(channel)
                return channel.eventLoop.makeCompletedFuture { [tls = self.tls, target = self.target] in
                    if let tls {
                        // The server name for SNI and the certificate check; an IP literal is checked against the
                        // certificate's IP addresses instead.
                        let isAddress = target.host.contains(":") || target.host.allSatisfy { $0.isNumber || $0 == "." }
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: tls, serverHostname: isAddress ? nil : target.host))
                    }
                    // `Transport.send` refuses header values with CR, LF or NUL itself (cheaper than NIO's
                    // validator, which took 5% of the event loop's time).
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(enableOutboundHeaderValidation: false)
                    try channel.pipeline.syncOperations.addHandler(connection)
                }
            }
            .connect(host: target.host, port: target.port)
            .whenComplete { [self] result in
                switch result {
                case .success:
                    if state.withLock({ $0.closed }) {
                        close(connection)
                        continuation.resume(throwing: HTTP1Connection.Failure.closed("shut down"))
                    } else {
                        continuation.resume(returning: connection)
                    }
                case .failure(let error):
                    closed(connection)
                    continuation.resume(throwing: error)
                }
            }
    }

    /// An exchange ended with a whole answer: the connection goes to the first waiter or back to the idle list,
    /// unless it closed (its slot was then freed by `closed`).
    private func giveBack(_ connection: HTTP1Connection) {
        let now = NIODeadline.now()
        let waiter = state.withLock { state -> Waiter? in
            guard !state.closed, state.all[connection.id] != nil, connection.isOpen else { return nil }
            if let waiter = state.waiters.popFirst() { return waiter }
            state.idle.append((connection, now))
            return nil
        }
        waiter?.resume(with: .success(connection))
    }

    /// A connection closed (or never connected): its slot is free, and the first waiter gets a new connection in it.
    private func closed(_ connection: HTTP1Connection) {
        let next = state.withLock { state -> (HTTP1Connection, Waiter)? in
            guard state.all.removeValue(forKey: connection.id) != nil else { return nil }
            state.idle.removeAll { $0.connection === connection }
            guard !state.closed, let waiter = state.waiters.popFirst() else { return nil }
            return (newConnection(&state), waiter)
        }
        if let (replacement, waiter) = next {
            connect(replacement, deadline: waiter.deadline, for: waiter.continuation)
        }
    }

    private func close(_ connection: HTTP1Connection) {
        guard let channel = connection.channel else {
            closed(connection)
            return
        }
        channel.eventLoop.execute { connection.close() }
    }
}
