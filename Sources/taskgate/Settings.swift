import ArgumentParser
import TaskGateHTTP
import TaskGateStore
import TaskGateWebhooks
import TaskScheduler

#if canImport(Glibc)
    import Glibc
#endif

/// The environment, read once.
struct ProcessInfoEnvironment {
    var values: [String: String]

    static var current: ProcessInfoEnvironment {
        var values: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                values[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return ProcessInfoEnvironment(values: values)
    }
}

/// `serve`'s configuration: each key from its flag, else its `TASKGATE_*` variable, else the default.
struct Settings {
    var server = HTTPServer.Configuration()
    var gateway = Gateway.Configuration()
    var scheduler = SchedulerConfiguration()
    var workers = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    var drainGrace: Duration = .seconds(30)
    /// Tokens from flags and variables (the token file's are added at start and on SIGHUP).
    var tokens = AccessTokens()
    var tokenFile: String?
    var insecure = false
    /// What an acknowledgement means; `memory` keeps nothing on disk.
    var durability = Durability.fsync
    /// Where the store lives (unused in the `memory` mode).
    var dataDirectory = "taskgate-data"
    /// How completion webhooks are delivered; nil when they are off (no `--callback-allow`).
    var webhooks: WebhookDispatcher.Configuration?
    /// Values asked for that were lowered to fit the open-file limit, for the log.
    var warnings: [String] = []

    /// Reads the flags and variables; `budget` is what the open-file limit allows.
    init(_ serve: Serve, environment: ProcessInfoEnvironment, budget: ResourceBudget) throws {
        func value<T>(_ flag: T?, _ name: String, _ parse: (String) -> T?) throws -> T? {
            if let flag { return flag }
            guard let text = environment.values[name], !text.isEmpty else { return nil }
            guard let parsed = parse(text) else { throw ValidationError("\(name)='\(text)' is not valid") }
            return parsed
        }
        func positive(_ number: Int?, _ name: String) throws -> Int? {
            if let number, number < 1 { throw ValidationError("\(name) must be at least 1") }
            return number
        }
        func seconds(_ number: Double?, _ name: String) throws -> Duration? {
            guard let number else { return nil }
            guard number.isFinite, number > 0, number <= 1e9 else {
                throw ValidationError("\(name) must be a positive number of seconds, at most 1e9")
            }
            return .nanoseconds(Int64(number * 1e9))
        }
        if let host = try value(serve.host, "TASKGATE_HOST", { $0 }) { server.host = host }
        if let mode = try value(serve.durability, "TASKGATE_DURABILITY", { Durability(rawValue: $0) }) {
            durability = mode
        }
        if let directory = try value(serve.dataDir, "TASKGATE_DATA_DIR", { $0 }) {
            guard !directory.isEmpty else { throw ValidationError("data-dir must not be empty") }
            dataDirectory = directory
        }
        if let port = try value(serve.port, "TASKGATE_PORT", { Int($0) }) {
            guard (0...65_535).contains(port) else { throw ValidationError("port must be 0 to 65535") }
            server.port = port
        }
        if let workers = try value(serve.workers, "TASKGATE_WORKERS", { Int($0) }) {
            guard workers >= 0 else { throw ValidationError("workers must be 0 or more") }
            self.workers = workers
        }
        if let maxBody = try positive(value(serve.maxBody, "TASKGATE_MAX_BODY", { Int($0) }), "max-body") {
            gateway.maxBodyBytes = maxBody
        }
        if let grace = try seconds(value(serve.drainGrace, "TASKGATE_DRAIN_GRACE", { Double($0) }), "drain-grace") {
            drainGrace = grace
        }
        if let threads = try value(serve.httpThreads, "TASKGATE_HTTP_THREADS", { Int($0) }) {
            guard (0...64).contains(threads) else { throw ValidationError("http-threads must be 0 to 64") }
            server.threads = threads
        }
        if let maxWait = try seconds(value(serve.maxWait, "TASKGATE_MAX_WAIT", { Double($0) }), "max-wait") {
            gateway.maxWait = maxWait
            scheduler.maxPollWait = maxWait
        }
        try readLimits(serve, budget: budget, value: value, positive: positive)
        if let queueLimit = try positive(value(serve.queueLimit, "TASKGATE_QUEUE_LIMIT", { Int($0) }), "queue-limit") {
            scheduler.queueLimit = queueLimit
        }
        if let ttl = try seconds(value(serve.resultTTL, "TASKGATE_RESULT_TTL", { Double($0) }), "result-ttl") {
            scheduler.resultTTL = ttl
        }
        func tokenList(_ flags: [String], _ name: String) throws -> [String] {
            let list =
                flags.isEmpty
                ? (environment.values[name] ?? "").split(separator: ",").map(String.init).filter { !$0.isEmpty } : flags
            for token in list where !AccessTokens.isValidToken(token) {
                throw ValidationError("a token (\(name) or its flag) must be 1 to 4096 visible ASCII characters")
            }
            return list
        }
        tokens = AccessTokens(
            client: try tokenList(serve.tokens, "TASKGATE_TOKEN"),
            worker: try tokenList(serve.workerTokens, "TASKGATE_WORKER_TOKEN"),
            metrics: try tokenList(serve.metricsTokens, "TASKGATE_METRICS_TOKEN"))
        tokenFile = try value(serve.tokenFile, "TASKGATE_TOKEN_FILE", { $0 })
        insecure = serve.insecure
        let certificate = try value(serve.tlsCert, "TASKGATE_TLS_CERT", { $0 })
        let key = try value(serve.tlsKey, "TASKGATE_TLS_KEY", { $0 })
        switch (certificate, key) {
        case (nil, nil): break
        case (let certificate?, let key?):
            func read(_ path: String, _ what: String) throws -> String {
                guard let text = try? String(contentsOfFile: path, encoding: .utf8), text.contains("-----BEGIN ")
                else { throw ValidationError("cannot read the TLS \(what) '\(path)' as PEM") }
                return text
            }
            server.tls = .init(certificatePEM: try read(certificate, "certificate"), keyPEM: try read(key, "key"))
        default:
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        if let ttl = try seconds(value(serve.tombstoneTTL, "TASKGATE_TOMBSTONE_TTL", { Double($0) }), "tombstone-ttl") {
            scheduler.tombstoneTTL = ttl
        }
        try readCallbacks(serve, environment: environment, value: value, positive: positive, seconds: seconds)
    }
}

extension Settings {
    /// The connection limit and parked cap within `budget`, and the caps on workers, names and retained tasks.
    private mutating func readLimits(
        _ serve: Serve, budget: ResourceBudget,
        value: (Int?, String, (String) -> Int?) throws -> Int?, positive: (Int?, String) throws -> Int?
    ) throws {
        let connections = try positive(
            value(serve.maxConnections, "TASKGATE_MAX_CONNECTIONS", { Int($0) }), "max-connections")
        server.connectionLimit = connections.map { min($0, budget.maxConnections) } ?? budget.defaultConnections
        if let connections, connections > budget.maxConnections {
            warnings.append(
                "max-connections \(connections) lowered to \(budget.maxConnections): the open-file limit is "
                    + "\(budget.openFiles) and \(budget.reserve) descriptors are kept in reserve")
        }
        let parkedCeiling = ResourceBudget.maxParked(connections: server.connectionLimit)
        let parked = try positive(value(serve.maxParked, "TASKGATE_MAX_PARKED", { Int($0) }), "max-parked")
        gateway.maxParked = min(parked ?? 10_000, parkedCeiling)
        if let parked, parked > parkedCeiling {
            warnings.append(
                "max-parked \(parked) lowered to \(parkedCeiling): \(server.connectionLimit) connections are allowed "
                    + "and \(ResourceBudget.headroom(connections: server.connectionLimit)) are kept for short requests")
        }
        let streams = try positive(value(serve.maxStreams, "TASKGATE_MAX_STREAMS", { Int($0) }), "max-streams")
        gateway.events.maxStreams = min(streams ?? 1_000, parkedCeiling)
        if let streams, streams > parkedCeiling {
            warnings.append(
                "max-streams \(streams) lowered to \(parkedCeiling): \(server.connectionLimit) connections are allowed "
                    + "and \(ResourceBudget.headroom(connections: server.connectionLimit)) are kept for short requests")
        }
        if let workers = try positive(value(serve.maxWorkers, "TASKGATE_MAX_WORKERS", { Int($0) }), "max-workers") {
            scheduler.maxWorkers = workers
        }
        if let functions = try positive(
            value(serve.maxFunctions, "TASKGATE_MAX_FUNCTIONS", { Int($0) }), "max-functions")
        {
            scheduler.maxFunctions = functions
        }
        if let retained = try positive(value(serve.maxRetained, "TASKGATE_MAX_RETAINED", { Int($0) }), "max-retained") {
            scheduler.maxRetainedTasks = retained
        }
        if let bytes = try positive(
            value(serve.maxRetainedBytes, "TASKGATE_MAX_RETAINED_BYTES", { Int($0) }), "max-retained-bytes")
        {
            scheduler.maxRetainedBytes = bytes
        }
    }

    /// True for addresses only this machine can reach: `localhost`, 127.0.0.0/8 and `::1`.
    static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" || host == "[::1]" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }
}
