import Foundation
import Logging
import TaskGateHTTP
import TaskGateTesting
import TaskGateWorker
import Testing

/// The Swift worker runtime against a live server, in this process.
@Suite(.timeLimit(.minutes(1))) struct TaskGateWorkerTests {
    let logger = Logger(label: "taskgate.test") { _ in SwiftLogNoOpLogHandler() }

    struct Pair: Codable, Sendable {
        var a: Int
        var b: Int
    }

    func handlers() -> WorkerHandlers {
        var handlers = WorkerHandlers()
        handlers.register("swift.echo") { task in task.args }
        handlers.register("swift.add") { (pair: Pair, _) in pair.a + pair.b }
        handlers.register("swift.block") { _ in
            try await Task.sleep(for: .seconds(60))
            return Array("null".utf8)
        }
        handlers.register("swift.stubborn") { _ in
            // Runs until it is cancelled, then finishes anyway: the server records that the function ran.
            let (stream, continuation) = AsyncStream<Void>.makeStream()
            await withTaskCancellationHandler {
                for await _ in stream {}
            } onCancel: {
                continuation.finish()
            }
            return Array("\"done\"".utf8)
        }
        handlers.register("swift.throws") { _ in throw WorkerFunctionError("no such luck") }
        return handlers
    }

    func start(_ server: LiveServer, capacity: Int = 4, lease: Duration = .seconds(4)) -> (
        TaskGateWorker, Task<Void, any Error>
    ) {
        var configuration = TaskGateWorker.Configuration(baseURL: server.baseURL)
        configuration.capacity = capacity
        configuration.lease = lease
        configuration.drainGrace = .seconds(5)
        let worker = TaskGateWorker(configuration: configuration, handlers: handlers(), logger: logger)
        return (worker, Task { try await worker.run() })
    }

    @Test func handlersRunAndTheirResultsAndFailuresReachTheServer() async throws {
        try await withLiveServer { server, client in
            // A long lease: under the whole suite's load a 4 s lease once ran out before the registration was read
            // back, and the worker had registered again under a new id. Leases have tests of their own.
            let (worker, running) = start(server, lease: .seconds(60))
            let id = await worker.registered()
            let listed = try await client.request("GET", "/workers/\(id)").json
            #expect(listed["capacity"] as? Int == 4)
            #expect(
                listed["functions"] as? [String] == [
                    "swift.add", "swift.block", "swift.echo", "swift.stubborn", "swift.throws",
                ])
            let echo = try await client.finished(try await client.submit("swift.echo", #"{"keep":[1,"two",null]}"#))
            #expect((echo["result"] as? [String: Any])?["keep"] as? [AnyHashable] == [1, "two", NSNull()])
            let sum = try await client.finished(try await client.submit("swift.add", #"{"a":2,"b":40}"#))
            #expect(sum["result"] as? Int == 42)
            let bad = try await client.finished(try await client.submit("swift.add", #""not a pair""#))
            #expect(bad["state"] as? String == "failed")
            let thrown = try await client.finished(try await client.submit("swift.throws"))
            #expect((thrown["error"] as? [String: Any])?["detail"] as? String == "no such luck")
            running.cancel()
            try await running.value
            let workers = try await client.request("GET", "/workers").json["workers"] as? [[String: Any]] ?? []
            #expect(!workers.contains { $0["id"] as? String == id }, "the worker left on shutdown")
        }
    }

    @Test func withTokensTheWorkerUsesItsWorkerTokenAndAClientTokenCannotSpeakForIt() async throws {
        try await withLiveServer { server, client in
            server.service.gateway.replaceTokens(AccessTokens(client: ["c-token"], worker: ["w-token"]))
            var configuration = TaskGateWorker.Configuration(baseURL: server.baseURL, token: "w-token")
            configuration.capacity = 2
            configuration.lease = .seconds(4)
            let worker = TaskGateWorker(configuration: configuration, handlers: handlers(), logger: logger)
            let running = Task { try await worker.run() }
            let id = await worker.registered()
            let clientToken = ["Authorization": "Bearer c-token"]
            let sum = try await client.post(
                "/tasks", json: #"{"function":"swift.add","args":{"a":40,"b":2}}"#,
                headers: clientToken.merging(["Prefer": "wait=30"]) { $1 })
            #expect(sum.status == 200)
            #expect(sum.json["result"] as? Int == 42, "the worker registered and reported with its token")
            let forged = try await client.post(
                "/workers/\(id)/poll", json: #"{"results":[{"id":"00000001","result":"FORGED"}]}"#, headers: clientToken
            )
            #expect(forged.status == 403)
            let anonymous = try await client.post("/tasks", json: #"{"function":"swift.add","args":{"a":1,"b":1}}"#)
            #expect(anonymous.status == 401)
            running.cancel()
            try await running.value
        }
    }

    @Test func aCancelStopsTheHandlerAndOneThatFinishesAnywayIsRecorded() async throws {
        try await withLiveServer { server, client in
            let (worker, running) = start(server)
            _ = await worker.registered()
            let blocked = try await client.submit("swift.block")
            _ = try await client.task(blocked) { $0["state"] as? String == "running" }
            let cancel = try await client.request("DELETE", "/tasks/\(blocked)?wait=10")
            #expect(cancel.status == 200)
            #expect((cancel.json["cancel"] as? [String: Any])?["worker_finished"] as? Bool == false)
            let stubborn = try await client.submit("swift.stubborn")
            _ = try await client.task(stubborn) { $0["state"] as? String == "running" }
            let late = try await client.request("DELETE", "/tasks/\(stubborn)?wait=10")
            #expect(late.status == 200)
            #expect(late.json["state"] as? String == "canceled")
            #expect((late.json["cancel"] as? [String: Any])?["worker_finished"] as? Bool == true)
            running.cancel()
            try await running.value
        }
    }

    @Test func capacityBoundsTheRunningTasksAndManyTasksAllFinish() async throws {
        try await withLiveServer { server, client in
            let (worker, running) = start(server, capacity: 2)
            let id = await worker.registered()
            let blocked = [try await client.submit("swift.block"), try await client.submit("swift.block")]
            let third = try await client.submit("swift.echo", "3")
            for task in blocked { _ = try await client.task(task) { $0["state"] as? String == "running" } }
            #expect(try await client.request("GET", "/tasks/\(third)").json["state"] as? String == "pending")
            // Its current registration: on a loaded machine a 4 s lease can run out and the worker registers again.
            let current = worker.workerID ?? id
            #expect(try await client.request("GET", "/workers/\(current)").json["load"] as? Int == 2)
            for task in blocked { #expect(try await client.request("DELETE", "/tasks/\(task)?wait=10").status == 200) }
            #expect(try await client.finished(third)["result"] as? Int == 3)
            let batch = (0..<200).map { "{\"function\":\"swift.echo\",\"args\":\($0)}" }.joined(separator: ",")
            let submitted = try await client.post("/tasks/batch", json: "[\(batch)]")
            let ids = (submitted.json["tasks"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            #expect(ids.count == 200)
            let waited = try await client.post(
                "/tasks/wait",
                json: "{\"ids\":[\(ids.map { "\"\($0)\"" }.joined(separator: ","))],\"mode\":\"all\",\"timeout_s\":30}")
            let done = waited.json["tasks"] as? [[String: Any]] ?? []
            #expect(done.count == 200)
            #expect(done.allSatisfy { $0["state"] as? String == "succeeded" })
            running.cancel()
            try await running.value
        }
    }
}
