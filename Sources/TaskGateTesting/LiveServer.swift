import Logging
import TaskGateFunctions
import TaskGateHTTP
import TaskGateStore
import TaskScheduler

#if canImport(Glibc)
    import Glibc
#endif

/// A real taskgate server for tests: scheduler, in-process workers and the libmicrohttpd daemon on 127.0.0.1 and
/// a free port. Tests reach it through `withLiveServer`, which always shuts it down.
public final class LiveServer: Sendable {
    /// The scheduler behind the API.
    public let scheduler: Scheduler
    /// The in-process workers.
    public let pool: InProcessWorkerPool
    /// The API and its daemon.
    public let service: GatewayService
    /// The durable store (`os` mode), when started with a store directory.
    public let store: TaskStore?
    private let timers: Task<Void, Never>

    /// Starts a server with the built-in functions plus `functions`; with `storeDirectory`, durable there (`os`).
    public init(
        functions: FunctionRegistry = FunctionRegistry(), slots: Int = 2, storeDirectory: String? = nil,
        scheduler configure: (inout SchedulerConfiguration) -> Void = { _ in },
        gateway configureGateway: (inout Gateway.Configuration) -> Void = { _ in },
        server configureServer: (inout HTTPServer.Configuration) -> Void = { _ in }
    ) throws {
        // Tests park thousands of connections, each a socket on both ends.
        _ = ResourceBudget.raisingOpenFileLimit()
        let logger = Logger(label: "taskgate.test") { _ in SwiftLogNoOpLogHandler() }
        var configuration = SchedulerConfiguration()
        configure(&configuration)
        let metrics = GatewayMetrics()
        let scheduler = Scheduler(configuration: configuration, logger: logger, observer: metrics.observe)
        self.scheduler = scheduler
        let store = try storeDirectory.map { try TaskStore.open(path: $0, durability: .os, restoringInto: scheduler) }
        self.store = store
        var registry = Builtins.registry
        for name in functions.names { registry.register(name, functions[name]!) }
        pool = InProcessWorkerPool(
            scheduler: scheduler, registry: registry, configuration: .init(slots: slots), logger: logger)
        do {
            try pool.start()
        } catch {
            store?.stop()
            throw error
        }
        var gatewayConfiguration = Gateway.Configuration()
        configureGateway(&gatewayConfiguration)
        var serverConfiguration = HTTPServer.Configuration()
        serverConfiguration.host = "127.0.0.1"
        serverConfiguration.port = 0
        configureServer(&serverConfiguration)
        do {
            service = try GatewayService(
                gateway: Gateway(
                    scheduler: scheduler, configuration: gatewayConfiguration, metrics: metrics, store: store,
                    logger: logger),
                server: serverConfiguration, logger: logger)
        } catch {
            store?.stop()
            throw error
        }
        timers = Task { try? await scheduler.run() }
    }

    /// The bound port.
    public var port: Int { service.server.port }

    /// `http://127.0.0.1:PORT`.
    public var baseURL: String { "\(service.server.configuration.tls == nil ? "http" : "https")://127.0.0.1:\(port)" }

    /// The REST API.
    public var gateway: Gateway { service.gateway }

    /// Drains (answers parked requests), stops the workers and the daemon.
    public func shutdown() async {
        gateway.beginDrain()
        await pool.stop()
        // The drain answers every parked request at once; their completions come back on the daemon's thread.
        await yield(until: self.service.server.parked == 0, bound: .seconds(30))
        service.server.stop()
        store?.stop()
        timers.cancel()
        await timers.value
    }
}

/// Runs `body` against a fresh `LiveServer` and a `TestHTTPClient` for it, and shuts both down however `body` ends
/// (a thrown error included), so a failing test reports its failure instead of crashing the run.
public func withLiveServer<Result>(
    functions: FunctionRegistry = FunctionRegistry(), slots: Int = 2, connections: Int = 64,
    scheduler configure: (inout SchedulerConfiguration) -> Void = { _ in },
    gateway configureGateway: (inout Gateway.Configuration) -> Void = { _ in },
    server configureServer: (inout HTTPServer.Configuration) -> Void = { _ in },
    isolation: isolated (any Actor)? = #isolation,
    _ body: (LiveServer, TestHTTPClient) async throws -> Result
) async throws -> Result {
    let server = try LiveServer(
        functions: functions, slots: slots, scheduler: configure, gateway: configureGateway, server: configureServer)
    let client = TestHTTPClient(baseURL: server.baseURL, connections: connections)
    let result: Swift.Result<Result, any Error>
    do {
        result = .success(try await body(server, client))
    } catch {
        result = .failure(error)
    }
    try? await client.shutdown()
    await server.shutdown()
    return try result.get()
}
