import Foundation
import TaskGateAPI
import TaskGateHTTP
import TaskScheduler
import Testing

/// The contract between what the server writes and what the Swift client reads: every representation of a task
/// (each state, with a result, an error, a cancel block) decodes as `WireTask`, and encoding that back gives the
/// same JSON; a page of `GET /tasks` decodes as `WireTaskPage`.
@Suite struct WireContractTests {
    /// The server's JSON of a task and the same task read as `WireTask` and written again, as JSON objects.
    static func roundTrip(_ body: [UInt8]) throws -> (server: NSDictionary, client: NSDictionary, task: WireTask) {
        let task = try JSONDecoder().decode(WireTask.self, from: Data(body))
        let server = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? NSDictionary)
        let encoded = try JSONEncoder().encode(task)
        let client = try #require(try JSONSerialization.jsonObject(with: encoded) as? NSDictionary)
        return (server, client, task)
    }

    @Test func everyStateTheServerWritesDecodesAndEncodesBackTheSame() async throws {
        let h = try GatewayHarness()
        var bodies: [String: [UInt8]] = [:]
        // pending: submitted with every optional field, not yet handed to the worker.
        let pending = await h.send(
            "POST", "/tasks",
            json:
                #"{"function":"f","args":{"n":[1,2.5,"x",null,true]},"priority":3,"timeout_s":2.5,"max_retries":1,"tags":["a","b"]}"#
        )
        bodies["pending"] = pending.body
        let pendingID = try #require(pending.object["id"] as? String)
        try h.take()
        bodies["running"] = await h.send("GET", "/tasks/\(pendingID)").body
        try h.succeed(pendingID, result: #"{"deep":{"list":[1,{"k":"v"}]}}"#)
        bodies["succeeded"] = await h.send("GET", "/tasks/\(pendingID)").body

        let nullResult = try await h.submit()
        try h.take()
        try h.succeed(nullResult, result: "null")
        bodies["succeeded with null"] = await h.send("GET", "/tasks/\(nullResult)").body

        let failing = try await h.submit()
        try h.take()
        _ = try h.scheduler.exchange(
            worker: h.worker,
            results: [WorkerResult(taskID: TaskID(failing)!, outcome: .failure(message: "it broke"))],
            maxAssignments: 0)
        bodies["failed"] = await h.send("GET", "/tasks/\(failing)").body

        let canceling = try await h.submit()
        try h.take()
        let accepted = await h.send("DELETE", "/tasks/\(canceling)", query: ["wait": "0"])
        #expect(accepted.status == 202)
        bodies["canceling"] = accepted.body
        // The worker's result arrives before its confirm: the task is canceled and says the function finished.
        try h.succeed(canceling)
        bodies["canceled, worker finished"] = await h.send("GET", "/tasks/\(canceling)").body

        let queued = try await h.submit()
        bodies["canceled while pending"] = await h.send("DELETE", "/tasks/\(queued)").body

        let expected: [String: WireTaskState] = [
            "pending": .running, "running": .running, "succeeded": .succeeded, "succeeded with null": .succeeded,
            "failed": .failed, "canceling": .canceling, "canceled, worker finished": .canceled,
            "canceled while pending": .canceled,
        ]
        for (name, body) in bodies {
            let (server, client, task) = try Self.roundTrip(body)
            #expect(server == client, "\(name): the client's encoding differs from the server's JSON")
            if name != "pending" { #expect(task.state == expected[name], "\(name)") }
            #expect(task.done == task.state.isTerminal, "\(name)")
            // The client's one-pass readers agree with the Codable decoding.
            #expect(try WireTask(json: body) == task, "\(name): WireTask(json:) differs")
            #expect(try WireTaskStatus(json: body) == WireTaskStatus(task), "\(name): WireTaskStatus(json:) differs")
        }
        // Spot checks that the fields carry what they should.
        let failed = try Self.roundTrip(bodies["failed"]!).task
        #expect(failed.error?.code == "function_error" && failed.error?.detail == "it broke")
        let finished = try Self.roundTrip(bodies["canceled, worker finished"]!).task
        #expect(finished.cancel?.workerFinished == true && finished.cancel?.confirm == "canceled")
        #expect(finished.result == nil)
        #expect(try Self.roundTrip(bodies["succeeded with null"]!).task.result == .some(.null))
        let full = try Self.roundTrip(bodies["succeeded"]!).task
        #expect(full.priority == 3 && full.maxRetries == 1 && full.timeoutSeconds == 2.5 && full.tags == ["a", "b"])
        #expect(full.result == ["deep": ["list": [1, ["k": "v"]]]])

        let page = await h.send("GET", "/tasks", query: ["limit": "3"])
        let decoded = try JSONDecoder().decode(WireTaskPage.self, from: Data(page.body))
        #expect(decoded.tasks.count == 3)
        #expect(decoded.nextCursor != nil)
        #expect(try WireTaskPage(json: page.body) == decoded)

        // A batch's answer and a wait's answer, read by the client's readers.
        let batch = await h.send("POST", "/tasks/batch", json: #"[{"function":"f","args":1},{"function":"f"}]"#)
        #expect(batch.status == 202)
        let statuses = try WireTaskStatus.batch(json: batch.body)
        #expect(statuses.count == 2 && statuses.allSatisfy { $0.function == "f" && !$0.done })
        let ids = statuses.map(\.id)
        let waited = await h.send(
            "POST", "/tasks/wait", json: #"{"ids":["\#(ids[0])","\#(ids[1])","0000000000000abc"],"timeout_s":0}"#)
        let wait = try WireTaskStatus.waitResult(json: waited.body)
        let codable = try JSONDecoder().decode(WireWaitResult.self, from: Data(waited.body))
        #expect(wait.tasks == codable.tasks.map(WireTaskStatus.init))
        #expect(wait.pending == codable.pending && wait.notFound == codable.notFound && wait.expired == codable.expired)
        #expect(wait.notFound == ["0000000000000abc"])

        // A problem with the task it is about (409 cancel_failed carries the finished task).
        let done = try await h.submit()
        try h.take()
        try h.succeed(done, result: "7")
        let refused = await h.send("DELETE", "/tasks/\(done)")
        #expect(refused.status == 409)
        let problem = try WireProblem(json: refused.body)
        #expect(problem == (try JSONDecoder().decode(WireProblem.self, from: Data(refused.body))))
        #expect(problem.code == "cancel_failed" && problem.task?.result == 7)
    }

    /// `Prefer: return=minimal` on a batch and a wait: each task is its `TaskStatus` (no arguments, timestamps or
    /// tags), says so in `Preference-Applied`, and reads as the same status as the whole representation.
    @Test func minimalAnswersCarryTheStatusOnly() async throws {
        let h = try GatewayHarness()
        let minimal = ["Prefer": "respond-async, return=minimal"]
        let batch = await h.send(
            "POST", "/tasks/batch", headers: minimal, json: #"[{"function":"f","args":{"big":[1,2,3]},"tags":["t"]}]"#)
        #expect(batch.status == 202)
        #expect(batch.headers.contains { $0.name == "Preference-Applied" && $0.value == "return=minimal" })
        let tasks = try #require(batch.object["tasks"] as? [[String: Any]])
        #expect(Set(tasks[0].keys) == ["id", "function", "state", "done", "version"])
        let id = try #require(tasks[0]["id"] as? String)
        try h.take()
        try h.succeed(id, result: #"{"r":1}"#)

        let body = #"{"ids":["\#(id)"],"timeout_s":0}"#
        let whole = await h.send("POST", "/tasks/wait", json: body)
        let lean = await h.send("POST", "/tasks/wait", headers: minimal, json: body)
        #expect(lean.headers.contains { $0.name == "Preference-Applied" && $0.value == "wait=0, return=minimal" })
        let leanTasks = try #require(lean.object["tasks"] as? [[String: Any]])
        #expect(Set(leanTasks[0].keys) == ["id", "function", "state", "done", "version", "result"])
        #expect(lean.body.count < whole.body.count)
        #expect(
            try WireTaskStatus.waitResult(json: lean.body).tasks == WireTaskStatus.waitResult(json: whole.body).tasks)
        #expect(try WireTaskStatus.waitResult(json: lean.body).tasks.first?.result == ["r": 1])

        // Other preferences leave the whole representation.
        let other = await h.send("POST", "/tasks/wait", headers: ["Prefer": "return=representation"], json: body)
        #expect(other.body == whole.body)
    }
}
