import Foundation
import Logging
import TaskGateHTTP
import TaskGateStore
import TaskGateTesting
import TaskScheduler
import Testing

let quietLogger = Logger(label: "taskgate.test") { _ in SwiftLogNoOpLogHandler() }

/// The gateway in memory over a scheduler on a manual clock, with one fake worker driven by the test.
struct GatewayHarness {
    let clock = ManualClock()
    let scheduler: Scheduler
    let gateway: Gateway
    let client: InMemoryClient
    let worker: WorkerID
    /// The durable store, when the harness was made with one (in a new temporary directory).
    let store: TaskStore?
    /// The store's temporary directory.
    let directory: String?

    init(
        durable: Bool = false,
        scheduler configure: (inout SchedulerConfiguration) -> Void = { _ in },
        gateway configureGateway: (inout Gateway.Configuration) -> Void = { _ in }
    ) throws {
        var configuration = SchedulerConfiguration()
        configure(&configuration)
        let metrics = GatewayMetrics()
        scheduler = Scheduler(
            configuration: configuration, clock: clock, logger: quietLogger, observer: metrics.observe)
        var gatewayConfiguration = Gateway.Configuration()
        configureGateway(&gatewayConfiguration)
        if durable {
            let directory = makeTemporaryDirectory(prefix: "taskgate-gateway")
            let store = try TaskStore.open(path: directory + "/store", durability: .os, restoringInto: scheduler)
            self.store = store
            self.directory = directory
        } else {
            store = nil
            directory = nil
        }
        gateway = Gateway(
            scheduler: scheduler, configuration: gatewayConfiguration, metrics: metrics, store: store,
            logger: quietLogger)
        client = InMemoryClient(gateway: gateway)
        worker = try scheduler.registerWorker(WorkerRegistration(name: "fake", functions: ["f"], capacity: 4))
    }

    /// A harness whose gateway parks at most `maxParked` requests.
    init(maxParked: Int) throws {
        try self.init { _ in
        } gateway: {
            $0.maxParked = maxParked
        }
    }

    /// Parks a `GET /tasks/{id}?wait=10` and returns it once it is parked.
    func parkWait(on id: String) async -> Task<HTTPResponse, Never> {
        let before = gateway.parked
        let parked = Task { await send("GET", "/tasks/\(id)", query: ["wait": "10"]) }
        await self.parked(before + 1)
        return parked
    }

    func send(
        _ method: String, _ path: String, query: [String: String] = [:], headers: [String: String] = [:],
        json: String? = nil
    ) async -> HTTPResponse {
        // A worker's own requests carry its registration secret, as a real worker's do, unless the test sets one.
        var headers = headers
        let segments = path.split(separator: "/")
        if segments.count >= 2, segments[0] == "workers", method != "GET",
            !headers.keys.contains(where: { $0.lowercased() == "taskgate-worker-secret" }),
            let id = WorkerID(String(segments[1]))
        {
            headers["taskgate-worker-secret"] = gateway.workerSecret(of: id)
        }
        return await client.send(method, path, query: query, headers: headers, json: json)
    }

    /// Submits `f` and returns its id.
    func submit(_ args: String = "1") async throws -> String {
        let response = await send("POST", "/tasks", json: "{\"function\":\"f\",\"args\":\(args)}")
        #expect(response.status == 202)
        return try #require(response.object["id"] as? String)
    }

    /// The worker takes everything assigned to it.
    @discardableResult
    func take() throws -> [TaskID] {
        try scheduler.exchange(worker: worker, maxAssignments: 100).assignments.map(\.taskID)
    }

    func succeed(_ id: String, result: String = "\"ok\"") throws {
        _ = try scheduler.exchange(
            worker: worker,
            results: [WorkerResult(taskID: TaskID(id)!, outcome: .success(Payload(json: result)))], maxAssignments: 0)
    }

    func confirm(_ id: String, _ kind: CancelConfirm) throws {
        _ = try scheduler.exchange(
            worker: worker, confirms: [WorkerConfirm(taskID: TaskID(id)!, kind: kind)], maxAssignments: 0)
    }

    /// Waits (without sleeping) until `count` requests are parked.
    func parked(_ count: Int) async {
        await yield(until: gateway.parked >= count)
        #expect(gateway.parked >= count)
    }

    /// Stops the store and removes its directory.
    func close() {
        store?.stop()
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// Moves the clock and fires what fell due.
    func advance(_ duration: Duration) {
        clock.advance(by: duration)
        scheduler.processTimers()
    }
}

extension HTTPResponse {
    var object: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
    }

    var task: [String: Any] { object["task"] as? [String: Any] ?? [:] }
}
