import TaskGateHTTP
import Testing

@testable import taskgate

/// `serve`'s flags and `TASKGATE_*` variables: a flag wins over its variable, a variable over the default, an empty
/// variable counts as unset, and a bad value is an error that names the variable.
@Suite struct SettingsTests {
    static func settings(
        _ arguments: [String] = [], _ environment: [String: String] = [:], openFiles: Int = 1 << 20
    ) throws -> Settings {
        try Settings(
            try Serve.parse(arguments), environment: ProcessInfoEnvironment(values: environment),
            budget: ResourceBudget(openFiles: openFiles))
    }

    @Test func defaultsWithoutFlagsOrVariables() throws {
        let settings = try Self.settings()
        #expect(settings.server.host == "127.0.0.1")
        #expect(settings.server.port == 8080)
        #expect(settings.server.threads == 0)
        #expect(settings.workers >= 1)
        #expect(settings.drainGrace == .seconds(30))
        #expect(settings.gateway.events.maxStreams == 1_000)
        let small = try Self.settings(["--max-streams", "5000"], openFiles: 1_024)
        #expect(small.gateway.events.maxStreams < 1_000, "streams fit the connection budget")
        #expect(small.warnings.contains { $0.contains("max-streams 5000 lowered") })
    }

    @Test func everyVariableIsRead() throws {
        let settings = try Self.settings(
            [],
            [
                "TASKGATE_HOST": "0.0.0.0", "TASKGATE_PORT": "9001", "TASKGATE_WORKERS": "0",
                "TASKGATE_MAX_BODY": "2048", "TASKGATE_MAX_WAIT": "5", "TASKGATE_MAX_PARKED": "30000",
                "TASKGATE_QUEUE_LIMIT": "7", "TASKGATE_RESULT_TTL": "1.5", "TASKGATE_TOMBSTONE_TTL": "60",
                "TASKGATE_DRAIN_GRACE": "0.25", "TASKGATE_HTTP_THREADS": "3", "TASKGATE_MAX_CONNECTIONS": "40000",
                "TASKGATE_MAX_WORKERS": "12", "TASKGATE_MAX_FUNCTIONS": "34", "TASKGATE_MAX_RETAINED": "56",
                "TASKGATE_MAX_RETAINED_BYTES": "78000", "TASKGATE_MAX_STREAMS": "90",
            ])
        #expect(settings.server.host == "0.0.0.0")
        #expect(settings.server.port == 9001)
        #expect(settings.workers == 0)
        #expect(settings.gateway.maxBodyBytes == 2048)
        #expect(settings.gateway.maxWait == .seconds(5))
        #expect(settings.scheduler.maxPollWait == .seconds(5))
        #expect(settings.gateway.maxParked == 30_000)
        #expect(settings.gateway.events.maxStreams == 90)
        #expect(settings.server.connectionLimit == 40_000)
        #expect(settings.scheduler.maxWorkers == 12)
        #expect(settings.scheduler.maxFunctions == 34)
        #expect(settings.scheduler.maxRetainedTasks == 56)
        #expect(settings.scheduler.maxRetainedBytes == 78_000)
        #expect(settings.warnings.isEmpty)
        #expect(settings.scheduler.queueLimit == 7)
        #expect(settings.scheduler.resultTTL == .milliseconds(1_500))
        #expect(settings.scheduler.tombstoneTTL == .seconds(60))
        #expect(settings.drainGrace == .milliseconds(250))
        #expect(settings.server.threads == 3)
    }

    @Test func theConnectionLimitAndParkedCapFitTheOpenFileLimit() throws {
        let defaults = try Self.settings([], [:], openFiles: 256)
        #expect(defaults.server.connectionLimit == 256 - 64, "64 descriptors are the smallest reserve")
        #expect(defaults.gateway.maxParked == 192 - 19, "a tenth of the connections stays free of parked requests")
        #expect(defaults.warnings.isEmpty)

        let asked = try Self.settings(["--max-connections", "5000", "--max-parked", "4000"], [:], openFiles: 1_024)
        #expect(asked.server.connectionLimit == 1_024 - 128)
        #expect(asked.gateway.maxParked == 896 - 89)
        #expect(asked.warnings.count == 2, "each lowered value is reported: \(asked.warnings)")

        let large = try Self.settings([], [:], openFiles: 1 << 20)
        #expect(large.server.connectionLimit == 20_000)
        #expect(large.gateway.maxParked == 10_000)
    }

    @Test func aFlagWinsOverItsVariableAndAnEmptyVariableIsUnset() throws {
        let settings = try Self.settings(
            ["--port", "7000", "--queue-limit", "3"],
            ["TASKGATE_PORT": "9001", "TASKGATE_QUEUE_LIMIT": "8", "TASKGATE_HOST": ""])
        #expect(settings.server.port == 7000)
        #expect(settings.scheduler.queueLimit == 3)
        #expect(settings.server.host == "127.0.0.1")
    }

    @Test(arguments: [
        ("TASKGATE_PORT", "eighty"), ("TASKGATE_PORT", "70000"), ("TASKGATE_WORKERS", "-1"),
        ("TASKGATE_MAX_BODY", "0"), ("TASKGATE_MAX_WAIT", "-5"), ("TASKGATE_RESULT_TTL", "nan"),
        ("TASKGATE_HTTP_THREADS", "65"), ("TASKGATE_DRAIN_GRACE", "1e10"),
    ])
    func aBadVariableIsAnError(name: String, value: String) throws {
        #expect(throws: (any Error).self) { try Self.settings([], [name: value]) }
    }

    @Test func tokensComeFromRepeatedFlagsOrCommaSeparatedVariables() throws {
        let fromVariables = try Self.settings(
            [],
            [
                "TASKGATE_TOKEN": "a,b", "TASKGATE_WORKER_TOKEN": "w", "TASKGATE_METRICS_TOKEN": "m",
                "TASKGATE_TOKEN_FILE": "/etc/tokens",
            ])
        #expect(fromVariables.tokens == AccessTokens(client: ["a", "b"], worker: ["w"], metrics: ["m"]))
        #expect(fromVariables.tokenFile == "/etc/tokens")
        let fromFlags = try Self.settings(
            ["--token", "c", "--token", "d", "--worker-token", "x", "--metrics-token", "n", "--insecure"],
            ["TASKGATE_TOKEN": "a", "TASKGATE_METRICS_TOKEN": "m"])
        #expect(fromFlags.tokens == AccessTokens(client: ["c", "d"], worker: ["x"], metrics: ["n"]))
        #expect(fromFlags.insecure)
        #expect(throws: (any Error).self) { try Self.settings(["--token", "has space"]) }
        #expect(throws: (any Error).self) { try Self.settings([], ["TASKGATE_WORKER_TOKEN": "caf\u{e9}"]) }
    }

    @Test func onlyLoopbackAddressesCountAsLoopback() {
        for host in ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"] {
            #expect(Settings.isLoopback(host), "\(host)")
        }
        for host in ["0.0.0.0", "10.0.0.1", "::", "127.0.0.1.example.com", "1127.0.0.1", "127.0.0.256", ""] {
            #expect(!Settings.isLoopback(host), "\(host)")
        }
    }

    @Test func theClientCommandsReadTheURLAndTokenVariables() {
        let fromEnvironment = ServerOptions.clientConfiguration(
            url: nil, token: nil, environment: ["TASKGATE_URL": "http://h:1/", "TASKGATE_TOKEN": "t"])
        #expect(fromEnvironment.baseURL == "http://h:1")
        #expect(fromEnvironment.token == "t")
        let fromFlags = ServerOptions.clientConfiguration(
            url: "http://f:2", token: "u", environment: ["TASKGATE_URL": "http://h:1", "TASKGATE_TOKEN": "t"])
        #expect(fromFlags.baseURL == "http://f:2" && fromFlags.token == "u")
        let defaults = ServerOptions.clientConfiguration(url: nil, token: nil, environment: ["TASKGATE_TOKEN": ""])
        #expect(defaults.baseURL == "http://127.0.0.1:8080" && defaults.token == nil)
    }

    @Test func theHealthProbeAsksThisContainersServerUnlessAURLIsGiven() {
        #expect(Health.localURL([:]) == "http://127.0.0.1:8080")
        #expect(Health.localURL(["TASKGATE_PORT": "9000"]) == "http://127.0.0.1:9000")
        for bad in ["0", "70000", "x", ""] {
            #expect(Health.localURL(["TASKGATE_PORT": bad]) == "http://127.0.0.1:8080", "\(bad)")
        }
        #expect(Health.localURL(["TASKGATE_URL": "https://h:1", "TASKGATE_PORT": "9000"]) == nil)
    }
}
