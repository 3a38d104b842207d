import Foundation
import Synchronization
import TaskGateTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `kill -9` of a durable server under load, again and again on one data directory: after each restart, everything
/// the clients were told still holds. Seeded, so a failing run can be replayed.
@Suite(.timeLimit(.minutes(6))) struct CrashTests {
    /// What clients were told, across all runs of the server.
    actor Ledger {
        var acknowledged: Set<String> = []
        /// Idempotency key -> the task it was answered with.
        var keys: [String: String] = [:]
        /// Terminal states read, with their results.
        var finished: [String: String] = [:]
        var canceled: Set<String> = []
        var expired: Set<String> = []
        var violations: [String] = []

        /// The same, in the order first told (to pick from by number).
        var acknowledgedOrder: [String] = []
        var keyOrder: [String] = []

        func acknowledge(_ id: String, key: String?) {
            if acknowledged.insert(id).inserted { acknowledgedOrder.append(id) }
            guard let key else { return }
            if let earlier = keys[key], earlier != id {
                violations.append("key \(key) answered \(id) after \(earlier)")
            }
            if keys[key] == nil { keyOrder.append(key) }
            keys[key] = id
        }

        func read(_ id: String, terminal: String) {
            if let earlier = finished[id], earlier != terminal {
                violations.append("task \(id) read as \(terminal) after \(earlier)")
            }
            finished[id] = terminal
        }

        func cancelConfirmed(_ id: String) { canceled.insert(id) }

        func expire(_ id: String) { expired.insert(id) }

        func violate(_ text: String) { violations.append(text) }

        func id(_ pick: UInt64) -> String? {
            acknowledgedOrder.isEmpty ? nil : acknowledgedOrder[Int(pick % UInt64(acknowledgedOrder.count))]
        }

        func key(_ pick: UInt64) -> String? {
            keyOrder.isEmpty ? nil : keyOrder[Int(pick % UInt64(keyOrder.count))]
        }

        var snapshot: (Set<String>, [String: String], [String: String], Set<String>, Set<String>) {
            (acknowledged, keys, finished, canceled, expired)
        }
    }

    /// A server on `directory`, or nil (with an issue) if it did not start.
    static func start(_ directory: String) async throws -> (TestProcess, TestHTTPClient)? {
        try await startServe(["--data-dir", directory, "--workers", "2", "--max-retained", "60"], connections: 16)
    }

    /// The task's terminal state and result as one comparable text, or nil if it is not finished.
    static func terminal(_ json: [String: Any]) -> String? {
        guard json["done"] as? Bool == true, let state = json["state"] as? String else { return nil }
        let result = json["result"].map { "\($0)" } ?? "-"
        return "\(state) \(result)"
    }

    /// The body a key is always submitted with (a replay must be the same request).
    static func body(forKey key: String) -> String {
        #"{"function":"echo","args":{"key":"\#(key)"}}"#
    }

    /// `POST /tasks`, given up after 5 s: a request cut by the kill must not hold the run for the client's default.
    static func submit(_ client: TestHTTPClient, _ body: String, key: String?) async throws -> TestResponse {
        var headers = ["Content-Type": "application/json"]
        if let key { headers["Idempotency-Key"] = key }
        return try await client.request(
            "POST", "/tasks", headers: headers, body: Array(body.utf8), timeout: .seconds(5))
    }

    /// One client's load until `stop`: submissions (some keyed, some replays), reads, cancels.
    static func load(
        _ client: TestHTTPClient, _ ledger: Ledger, seed: UInt64, stop: OnceFlag
    ) async {
        var random = SplitMix(seed: seed)
        var operations = 0
        while !stop.isOpen && operations < 2_000 {
            operations += 1
            do {
                switch random.next(upperBound: 10) {
                case 0, 1, 2:
                    let keyed = random.next(upperBound: 3) == 0
                    let key = keyed ? "k\(seed)-\(random.next(upperBound: 1_000_000))" : nil
                    let body =
                        key.map(body(forKey:))
                        ?? (random.next(upperBound: 4) == 0
                            ? #"{"function":"sleep","args":{"seconds":0.2}}"#
                            : #"{"function":"echo","args":\#(random.next(upperBound: 1_000))}"#)
                    let response = try await submit(client, body, key: key)
                    if response.status == 202 || response.status == 200, let id = response.json["id"] as? String {
                        await ledger.acknowledge(id, key: key)
                    }
                case 3:
                    guard let key = await ledger.key(random.next()) else { continue }
                    let response = try await submit(client, body(forKey: key), key: key)
                    if let id = response.json["id"] as? String { await ledger.acknowledge(id, key: key) }
                case 4, 5, 6, 7:
                    guard let id = await ledger.id(random.next()) else { continue }
                    let response = try await client.request("GET", "/tasks/\(id)", timeout: .seconds(5))
                    switch response.status {
                    case 200: if let terminal = terminal(response.json) { await ledger.read(id, terminal: terminal) }
                    case 410: await ledger.expire(id)
                    case 404: await ledger.violate("acknowledged task \(id) answered 404")
                    default: break
                    }
                default:
                    guard let id = await ledger.id(random.next()) else { continue }
                    let response = try await client.request("DELETE", "/tasks/\(id)?wait=0.5", timeout: .seconds(5))
                    if response.status == 200 { await ledger.cancelConfirmed(id) }
                }
            } catch {
                // The server was killed under this request: its outcome is unknown, and nothing was recorded.
                if stop.isOpen { return }
            }
        }
    }

    /// Checks the ledger's facts against a freshly restarted server: with `all`, every one; else those about tasks
    /// first told since `since` (an index into the order they were told) and a seeded sample of the older ones, so
    /// the checks stay bounded as the ledger grows.
    static func verify(
        _ client: TestHTTPClient, _ ledger: Ledger, run: Int, since: Int, all: Bool, random: inout SplitMix
    ) async throws {
        let (_, keys, finished, canceled, expired) = await ledger.snapshot
        let order = await ledger.acknowledgedOrder
        var ids = all ? order : Array(order[min(since, order.count)...])
        if !all && since > 0 {
            ids += (0..<min(200, since)).map { _ in order[Int(random.next(upperBound: UInt64(since)))] }
        }
        let keyOrder = await ledger.keyOrder
        let checkedKeys =
            all
            ? keyOrder
            : (0..<min(50, keyOrder.count)).map { _ in
                keyOrder[Int(random.next(upperBound: UInt64(keyOrder.count)))]
            }
        try await withThrowingTaskGroup(of: Void.self) { group in
            var running = 0
            for id in ids {
                if running >= 16 {
                    try await group.next()
                    running -= 1
                }
                running += 1
                group.addTask {
                    let response = try await client.request("GET", "/tasks/\(id)", timeout: .seconds(30))
                    let json = response.json
                    switch response.status {
                    case 200:
                        if expired.contains(id) { await ledger.violate("run \(run): task \(id) was 410, now 200") }
                        if let told = finished[id], Self.terminal(json) != told {
                            await ledger.violate(
                                "run \(run): task \(id) was read as \(told), now \(Self.terminal(json) ?? "unfinished")"
                            )
                        }
                        if canceled.contains(id), json["state"] as? String != "canceled" {
                            await ledger.violate(
                                "run \(run): task \(id) was canceled (200), now \(json["state"] ?? "?")")
                        }
                    case 410:
                        break
                    default:
                        await ledger.violate("run \(run): acknowledged task \(id) answered \(response.status)")
                    }
                }
            }
            try await group.waitForAll()
        }
        for key in checkedKeys {
            guard let id = keys[key] else { continue }
            let response = try await client.post(
                "/tasks", json: body(forKey: key), headers: ["Idempotency-Key": key])
            if response.status == 410 { continue }
            if response.json["id"] as? String != id {
                await ledger.violate(
                    "run \(run): key \(key) replayed as \(response.json["id"] ?? response.status), was \(id)")
            }
        }
    }

    @Test func everythingAcknowledgedSurvivesRepeatedKillNine() async throws {
        let root = makeTemporaryDirectory(prefix: "taskgate-crash")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directory = root + "/store"
        let ledger = Ledger()
        var random = SplitMix(seed: 20_261_202)
        let runs = 20
        var verified = 0
        for run in 0..<runs {
            guard let (process, client) = try await Self.start(directory) else { return }
            do {
                try await Self.verify(client, ledger, run: run, since: verified, all: false, random: &random)
                verified = await ledger.acknowledgedOrder.count
                let stop = OnceFlag()
                let seeds = (0..<4).map { _ in random.next() }
                let clients = Task {
                    await withTaskGroup(of: Void.self) { group in
                        for seed in seeds { group.addTask { await Self.load(client, ledger, seed: seed, stop: stop) } }
                    }
                }
                // Kill at a random moment of the load.
                try await Task.sleep(for: .milliseconds(150 + Int(random.next(upperBound: 650))))
                process.signal(SIGKILL)
                stop.open()
                _ = await process.waitForExit()
                await clients.value
                try await client.shutdown()
            } catch {
                process.signal(SIGKILL)
                try? await client.shutdown()
                throw error
            }
        }
        guard let (process, client) = try await Self.start(directory) else { return }
        defer { process.signal(SIGKILL) }
        try await Self.verify(client, ledger, run: runs, since: 0, all: true, random: &random)
        try await client.shutdown()
        let (acknowledged, keys, finished, canceled, expired) = await ledger.snapshot
        let violations = await ledger.violations
        #expect(violations.isEmpty, "\(violations.prefix(20))")
        // The load must have exercised every kind of fact, or the checks above prove little.
        #expect(acknowledged.count > 200 && keys.count > 20 && finished.count > 20)
        #expect(!canceled.isEmpty && !expired.isEmpty)
        print(
            "crash test: \(runs) kills; told \(acknowledged.count) accepted, \(keys.count) keys, \(finished.count) "
                + "results, \(canceled.count) cancels, \(expired.count) expired")
    }
}
