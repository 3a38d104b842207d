import ArgumentParser
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import TaskGateFunctions
import TaskGateHTTP
import TaskGateStore
import TaskGateWebhooks
import TaskScheduler

#if canImport(Glibc)
    import Glibc
#endif

/// `taskgate serve`: the scheduler, in-process workers with the built-in functions, and the HTTP API.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the scheduler and its HTTP API.",
        discussion: """
            Every option can also be set by an environment variable (TASKGATE_HOST, TASKGATE_PORT, \
            TASKGATE_WORKERS, TASKGATE_MAX_BODY, TASKGATE_MAX_WAIT, TASKGATE_MAX_PARKED, TASKGATE_MAX_STREAMS, TASKGATE_QUEUE_LIMIT, \
            TASKGATE_RESULT_TTL, TASKGATE_TOMBSTONE_TTL, TASKGATE_DRAIN_GRACE, TASKGATE_HTTP_THREADS, TASKGATE_TOKEN, \
            TASKGATE_WORKER_TOKEN, TASKGATE_METRICS_TOKEN, TASKGATE_TOKEN_FILE, TASKGATE_MAX_CONNECTIONS, TASKGATE_MAX_WORKERS, \
            TASKGATE_MAX_FUNCTIONS, TASKGATE_MAX_RETAINED, TASKGATE_MAX_RETAINED_BYTES, TASKGATE_TLS_CERT, \
            TASKGATE_TLS_KEY, TASKGATE_DURABILITY, TASKGATE_DATA_DIR, TASKGATE_CALLBACK_ALLOW, TASKGATE_WEBHOOK_SECRET, \
            TASKGATE_WEBHOOK_SECRET_FILE, TASKGATE_CALLBACK_TIMEOUT, TASKGATE_CALLBACK_ATTEMPTS, \
            TASKGATE_CALLBACK_CONCURRENCY); a flag wins over the variable.

            Completion webhooks: a task submitted with callback_url is POSTed there once finished, signed as the \
            Standard Webhooks specification describes, and retried with exponential backoff and jitter; only URLs \
            under a --callback-allow entry are accepted.

            Durability: in the fsync mode (the default) every accepted task, result, cancel and eviction is \
            committed and fsynced to the data directory before it is acknowledged, and a restart on the same \
            directory serves them again; os commits to the operating system only (survives a crash of taskgate, \
            not a power cut); memory keeps nothing on disk.

            The connection limit and the parked cap are derived from the open-file limit (raised to its hard \
            limit at start) with a reserve; larger values asked for are lowered to fit, with a warning. TASKGATE_TOKEN, \
            TASKGATE_WORKER_TOKEN and TASKGATE_METRICS_TOKEN may hold several tokens separated by commas.

            Auth is on when any token is given: every endpoint but /healthz and /readyz then needs \
            'Authorization: Bearer <token>', client tokens for the tasks API and /metrics, worker tokens for the \
            worker API, metrics tokens for /metrics only (a scraper such as Prometheus or KEDA). The token file \
            holds '<role> <token>' lines (role client, worker or metrics) and is read again on SIGHUP, \
            so tokens rotate without a restart. Binding an address other than loopback without a token is \
            refused unless --insecure is given.
            """
    )

    @Option(
        help:
            "What an acknowledgement means: fsync, os or memory (env TASKGATE_DURABILITY; default fsync).")
    var durability: Durability?

    @Option(
        name: .customLong("data-dir"),
        help: "The data directory of the fsync and os modes (env TASKGATE_DATA_DIR; default ./taskgate-data).")
    var dataDir: String?

    @Option(help: "Address to bind (env TASKGATE_HOST; default 127.0.0.1).")
    var host: String?

    @Option(help: "Port to bind; 0 picks a free one (env TASKGATE_PORT; default 8080).")
    var port: Int?

    @Option(
        help:
            "In-process worker slots; 0 for remote workers only (env TASKGATE_WORKERS; default: the number of cores).")
    var workers: Int?

    @Option(
        name: .customLong("max-body"), help: "Largest request body in bytes (env TASKGATE_MAX_BODY; default 1048576).")
    var maxBody: Int?

    @Option(
        name: .customLong("drain-grace"),
        help:
            "On SIGTERM, seconds running tasks may take before they are cancelled (env TASKGATE_DRAIN_GRACE; default 30)."
    )
    var drainGrace: Double?

    @Option(
        name: .customLong("http-threads"),
        help: "libmicrohttpd threads; 0 for one event-loop thread (env TASKGATE_HTTP_THREADS; default 0).")
    var httpThreads: Int?

    @Option(
        name: .customLong("max-wait"),
        help: "Longest wait a request may ask for, seconds (env TASKGATE_MAX_WAIT; default 60).")
    var maxWait: Double?

    @Option(
        name: .customLong("max-parked"),
        help:
            "Most parked long-polls at once (env TASKGATE_MAX_PARKED; default: nine tenths of the connection limit, at most 10000)."
    )
    var maxParked: Int?

    @Option(
        name: .customLong("max-streams"),
        help: "Most open event streams (GET /events) at once (env TASKGATE_MAX_STREAMS; default 1000).")
    var maxStreams: Int?

    @Option(
        name: .customLong("max-connections"),
        help:
            "Most open connections, parked ones included (env TASKGATE_MAX_CONNECTIONS; default: what the open-file limit allows, at most 20000)."
    )
    var maxConnections: Int?

    @Option(
        name: .customLong("max-workers"),
        help: "Most registered workers (env TASKGATE_MAX_WORKERS; default 10000).")
    var maxWorkers: Int?

    @Option(
        name: .customLong("max-functions"),
        help: "Most distinct function names workers may register (env TASKGATE_MAX_FUNCTIONS; default 10000).")
    var maxFunctions: Int?

    @Option(
        name: .customLong("max-retained"),
        help: "Most finished tasks kept; the oldest are evicted first (env TASKGATE_MAX_RETAINED; default 100000).")
    var maxRetained: Int?

    @Option(
        name: .customLong("max-retained-bytes"),
        help:
            "Most bytes of finished tasks kept; the oldest are evicted first (env TASKGATE_MAX_RETAINED_BYTES; default 536870912)."
    )
    var maxRetainedBytes: Int?

    @Option(name: .customLong("queue-limit"), help: "Most pending tasks (env TASKGATE_QUEUE_LIMIT; default 100000).")
    var queueLimit: Int?

    @Option(
        name: .customLong("result-ttl"),
        help: "Seconds a finished task is kept (env TASKGATE_RESULT_TTL; default 3600).")
    var resultTTL: Double?

    @Option(
        name: .customLong("tombstone-ttl"),
        help: "Seconds an evicted task answers 410 (env TASKGATE_TOMBSTONE_TTL; default 86400).")
    var tombstoneTTL: Double?

    @Option(
        name: .customLong("token"),
        help: "A client token for the tasks API; repeat for several (env TASKGATE_TOKEN, comma-separated).")
    var tokens: [String] = []

    @Option(
        name: .customLong("worker-token"),
        help: "A worker token for the worker API; repeat for several (env TASKGATE_WORKER_TOKEN, comma-separated).")
    var workerTokens: [String] = []

    @Option(
        name: .customLong("metrics-token"),
        help: """
            A token for /metrics only (Prometheus, KEDA); repeat for several \
            (env TASKGATE_METRICS_TOKEN, comma-separated).
            """)
    var metricsTokens: [String] = []

    @Option(
        name: .customLong("token-file"),
        help: "A file of '<role> <token>' lines, read again on SIGHUP (env TASKGATE_TOKEN_FILE).")
    var tokenFile: String?

    @Option(
        name: .customLong("tls-cert"),
        help: "Serve HTTPS with this PEM certificate (chain) file; needs --tls-key (env TASKGATE_TLS_CERT).")
    var tlsCert: String?

    @Option(
        name: .customLong("tls-key"), help: "The PEM private key file of --tls-cert (env TASKGATE_TLS_KEY).")
    var tlsKey: String?

    @Option(
        name: .customLong("callback-allow"),
        help: """
            Where completion webhooks may go: a URL prefix (https://hooks.example.com/taskgate/) or a host[:port]; \
            repeat for several. Without any, callback_url is refused (env TASKGATE_CALLBACK_ALLOW, comma-separated).
            """)
    var callbackAllow: [String] = []

    @Option(
        name: .customLong("webhook-secret"),
        help: """
            The Standard Webhooks signing secret, whsec_<base64> (make one with `taskgate webhook-secret`); needed \
            with --callback-allow (env TASKGATE_WEBHOOK_SECRET).
            """)
    var webhookSecret: String?

    @Option(
        name: .customLong("webhook-secret-file"),
        help: "A file holding the webhook signing secret (env TASKGATE_WEBHOOK_SECRET_FILE).")
    var webhookSecretFile: String?

    @Option(
        name: .customLong("callback-timeout"),
        help: "Seconds one webhook attempt may take (env TASKGATE_CALLBACK_TIMEOUT; default 10).")
    var callbackTimeout: Double?

    @Option(
        name: .customLong("callback-attempts"),
        help: "Webhook attempts per task at most, the first included (env TASKGATE_CALLBACK_ATTEMPTS; default 8).")
    var callbackAttempts: Int?

    @Option(
        name: .customLong("callback-concurrency"),
        help: "Webhook attempts in flight at most (env TASKGATE_CALLBACK_CONCURRENCY; default 64).")
    var callbackConcurrency: Int?

    @Flag(help: "Allow binding an address other than loopback without any token.")
    var insecure = false

    @Flag(
        name: .customLong("no-metrics"),
        help: "Serve no /metrics and measure nothing for it (to measure what the metrics cost).")
    var noMetrics = false

    func run() async throws {
        let budget = ResourceBudget.raisingOpenFileLimit()
        let settings = try Settings(self, environment: ProcessInfoEnvironment.current, budget: budget)
        let fileTokens = try settings.tokenFile.map { path in
            do { return try TokenFile.read(path) } catch { throw ValidationError("\(error)") }
        }
        let tokens = settings.tokens.merging(fileTokens ?? AccessTokens())
        if !tokens.isEnabled && !settings.insecure && !Settings.isLoopback(settings.server.host) {
            throw ValidationError(
                "refusing to serve \(settings.server.host) without a token: anyone who can reach it could read, submit "
                    + "and cancel tasks and act as a worker. Give --token and --worker-token (or --token-file), or "
                    + "--insecure to serve without auth anyway.")
        }
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let logger = Logger(label: "taskgate")
        for warning in settings.warnings { logger.warning("setting lowered", metadata: ["detail": "\(warning)"]) }

        let metrics = noMetrics ? nil : GatewayMetrics()
        if let metrics {
            // Metrics other libraries record through swift-metrics land in the same exposition.
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics.registry))
        }
        let scheduler = Scheduler(
            configuration: settings.scheduler, logger: logger, observer: metrics.map { metrics in metrics.observe })
        let store = try Self.openStore(settings, scheduler: scheduler, metrics: metrics, logger: logger)
        defer { store?.stop() }
        // The built-in functions are accepted from the first request on, even before the workers' slots start.
        for name in Builtins.registry.names { scheduler.declareFunction(name) }
        var poolConfiguration = InProcessWorkerPool.Configuration(slots: settings.workers)
        poolConfiguration.drainGrace = settings.drainGrace
        let pool = InProcessWorkerPool(
            scheduler: scheduler, registry: Builtins.registry, configuration: poolConfiguration, logger: logger)
        let gateway = Gateway(
            scheduler: scheduler, configuration: settings.gateway, tokens: tokens, metrics: metrics, store: store,
            logger: logger)
        let http = try GatewayService(gateway: gateway, server: settings.server, logger: logger)
        let webhooks = settings.webhooks.map { configuration in
            WebhookDispatcher(scheduler: scheduler, store: store, configuration: configuration, logger: logger)
        }
        // After the store's restore: the deliveries it found pending are due from now on.
        webhooks?.attach()
        let scheme = settings.server.tls == nil ? "http" : "https"
        print("listening on \(scheme)://\(settings.server.host):\(http.server.port)")
        fflush(nil)
        logger.info(
            "taskgate serving",
            metadata: [
                "http.port": "\(http.server.port)", "worker.slots": "\(settings.workers)",
                "auth": "\(tokens.isEnabled ? "on" : "off")", "limits.open_files": "\(budget.openFiles)",
                "limits.connections": "\(settings.server.connectionLimit)",
                "limits.parked": "\(settings.gateway.maxParked)",
                "limits.streams": "\(settings.gateway.events.maxStreams)", "store.durability": "\(settings.durability)",
                "callbacks": "\(settings.webhooks == nil ? "off" : "on")",
            ])
        let reloader = settings.tokenFile.map { path in
            TokenFile.Reloader(path: path, fixed: settings.tokens, gateway: gateway, logger: logger)
        }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: scheduler)]
        if settings.workers > 0 { services.append(.init(service: pool)) }
        services.append(.init(service: http))
        if let reloader { services.append(.init(service: reloader)) }
        if let webhooks { services.append(.init(service: webhooks)) }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// Opens the data directory (not in the `memory` mode), attaches it to the scheduler and restores what it held.
    /// A directory that cannot be used (locked, foreign, damaged, newer) stops the start with its reason.
    static func openStore(
        _ settings: Settings, scheduler: Scheduler, metrics: GatewayMetrics?, logger: Logger
    ) throws -> TaskStore? {
        guard settings.durability != .memory else { return nil }
        let store: TaskStore
        var observe: (@Sendable (Result<Void, StoreError>, Int, Duration) -> Void)?
        if let metrics {
            observe = { outcome, changes, duration in
                metrics.observeCommit(outcome, changes: changes, duration: duration)
            }
        }
        do {
            store = try TaskStore.open(
                path: settings.dataDirectory, durability: settings.durability, restoringInto: scheduler,
                observe: observe)
        } catch {
            throw ValidationError("cannot use the data directory: \(error)")
        }
        let summary = store.recovery
        logger.info(
            "store loaded",
            metadata: [
                "store.path": "\(settings.dataDirectory)", "store.durability": "\(settings.durability)",
                "store.load_ms": "\(Int(store.loadDuration.seconds * 1000))",
                "tasks.finished": "\(summary.finished)", "tasks.pending": "\(summary.pending)",
                "tasks.retried": "\(summary.retried)", "tasks.failed_worker_died": "\(summary.failedWorkerDied)",
                "tasks.canceled": "\(summary.canceled)", "tasks.tombstones": "\(summary.tombstones)",
            ])
        return store
    }
}

extension Durability: ExpressibleByArgument {}
