import Foundation
import TaskGateHTTP
import TaskGateTesting
import TaskScheduler
import Testing

/// Workers join, leave, die and report late through the HTTP worker API while tasks are submitted and cancelled;
/// afterwards every accepted task has exactly one terminal state and none is lost.
@Suite struct WorkerFaultTests {
    /// A simulated remote worker: what it believes it holds, and whether it still polls.
    struct SimWorker {
        var id: String
        var held: Set<String> = []
        var cancelRequested: Set<String> = []
        var alive = true
    }

    @Test(arguments: 0..<24)
    func workersJoiningLeavingAndDyingLoseNoTask(seed: UInt64) async throws {
        var rng = SplitMix(seed: seed)
        let h = try GatewayHarness()
        var workers: [SimWorker] = []
        var accepted: [String] = []

        func register() async throws -> SimWorker {
            let capacity = Int.random(in: 1...3, using: &rng)
            let response = await h.send(
                "POST", "/workers", json: "{\"functions\":[\"g\"],\"capacity\":\(capacity),\"lease_s\":1}")
            #expect(response.status == 201)
            return SimWorker(id: try #require(response.object["id"] as? String))
        }

        func poll(_ worker: inout SimWorker, finishAll: Bool) async -> HTTPResponse {
            var results: [String] = []
            var confirms: [String] = []
            for id in worker.held where finishAll || Bool.random(using: &rng) {
                if worker.cancelRequested.contains(id), finishAll || Bool.random(using: &rng) {
                    let kind = finishAll ? "canceled" : ["canceled", "cancel_failed"].randomElement(using: &rng)!
                    confirms.append("{\"id\":\"\(id)\",\"confirm\":\"\(kind)\"}")
                    worker.cancelRequested.remove(id)
                    if kind == "cancel_failed" { continue }
                } else if Bool.random(using: &rng) || finishAll {
                    results.append("{\"id\":\"\(id)\",\"result\":{\"by\":\"\(worker.id)\"}}")
                } else {
                    results.append("{\"id\":\"\(id)\",\"error\":{\"message\":\"failed on \(worker.id)\"}}")
                }
                worker.held.remove(id)
            }
            let body =
                "{\"results\":[\(results.joined(separator: ","))],\"confirms\":[\(confirms.joined(separator: ","))]}"
            let response = await h.send("POST", "/workers/\(worker.id)/poll", json: body)
            if response.status == 200 {
                for task in response.object["tasks"] as? [[String: Any]] ?? [] {
                    if let id = task["id"] as? String { worker.held.insert(id) }
                }
                for id in response.object["cancel"] as? [String] ?? [] { worker.cancelRequested.insert(id) }
            }
            return response
        }

        workers.append(try await register())
        for _ in 0..<300 {
            switch Int.random(in: 0..<100, using: &rng) {
            case 0..<25:
                let retries = Int.random(in: 0...2, using: &rng)
                let response = await h.send(
                    "POST", "/tasks", json: "{\"function\":\"g\",\"args\":1,\"max_retries\":\(retries)}")
                #expect(response.status == 202)
                if let id = response.object["id"] as? String { accepted.append(id) }
            case 25..<35:
                guard let id = accepted.randomElement(using: &rng) else { continue }
                let response = await h.send("DELETE", "/tasks/\(id)", query: ["wait": "0"])
                #expect([200, 202, 409].contains(response.status))
            case 35..<70:
                let live = workers.indices.filter { workers[$0].alive }
                guard let index = live.randomElement(using: &rng) else { continue }
                let response = await poll(&workers[index], finishAll: false)
                if response.status == 409 {
                    // Its lease ran out while the test left it alone: it is dead now, like a crashed worker.
                    #expect(response.object["code"] as? String == "worker_gone")
                    workers[index].alive = false
                } else {
                    #expect(response.status == 200)
                }
            case 70..<76:
                // Leaves.
                guard let index = workers.indices.filter({ workers[$0].alive }).randomElement(using: &rng) else {
                    continue
                }
                let response = await h.send("DELETE", "/workers/\(workers[index].id)")
                #expect([204, 409].contains(response.status))
                workers[index].alive = false
                workers[index].held.removeAll()
            case 76..<82:
                // Dies: stops polling; its lease will run out.
                if let index = workers.indices.filter({ workers[$0].alive }).randomElement(using: &rng) {
                    workers[index].alive = false
                }
            case 82..<88:
                workers.append(try await register())
            case 88..<92:
                // A dead worker's late report is refused and changes nothing.
                guard
                    let index = workers.indices.filter({ !workers[$0].alive && !workers[$0].held.isEmpty })
                        .randomElement(using: &rng), h.scheduler.worker(WorkerID(workers[index].id)!) == nil
                else { continue }
                let id = workers[index].held.first!
                let before = await h.send("GET", "/tasks/\(id)")
                let late = await h.send(
                    "POST", "/workers/\(workers[index].id)/poll",
                    json: "{\"results\":[{\"id\":\"\(id)\",\"result\":\"late\"}]}")
                #expect(late.status == 409)
                let after = await h.send("GET", "/tasks/\(id)")
                #expect(after.object["version"] as? Int == before.object["version"] as? Int)
                #expect(after.object["result"] as? String != "late")
            default:
                h.advance(.milliseconds(Int64.random(in: 100..<700, using: &rng)))
            }
            #expect(h.scheduler.invariantViolations() == [])
        }

        // Settle: the simulated workers go quiet; one healthy worker finishes everything that is left.
        h.advance(.seconds(3))
        var finisher = try await register()
        for _ in 0..<200 {
            let stats = await h.send("GET", "/stats")
            let tasks = stats.object["tasks"] as? [String: Int] ?? [:]
            if tasks["pending", default: 0] + tasks["running", default: 0] + tasks["canceling", default: 0] == 0 {
                break
            }
            let response = await poll(&finisher, finishAll: true)
            #expect(response.status == 200)
            h.advance(.milliseconds(100))
        }
        for id in accepted {
            let first = await h.send("GET", "/tasks/\(id)")
            #expect(first.status == 200, "task \(id) was lost")
            #expect(first.object["done"] as? Bool == true, "task \(id) never finished: \(first.object["state"] ?? "")")
            let again = await h.send("GET", "/tasks/\(id)")
            #expect(again.object["state"] as? String == first.object["state"] as? String)
            #expect(again.object["version"] as? Int == first.object["version"] as? Int)
        }
        let totals = (await h.send("GET", "/stats")).object["totals"] as? [String: Int] ?? [:]
        #expect(totals["submitted"] == accepted.count)
        #expect(
            totals["succeeded", default: 0] + totals["failed", default: 0] + totals["canceled", default: 0]
                == accepted.count)
        #expect(h.scheduler.invariantViolations() == [])
        #expect(accepted.count > 20)
    }
}
