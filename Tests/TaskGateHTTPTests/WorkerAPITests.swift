import Foundation
import TaskGateHTTP
import TaskGateTesting
import TaskScheduler
import Testing

/// The worker API in memory, on a manual clock: registration, polls, leases, refusals and leaving.
@Suite struct WorkerAPITests {
    /// Registers a remote worker offering `g` and returns its id.
    func register(_ h: GatewayHarness, lease: Double = 10, capacity: Int = 2) async throws -> String {
        let response = await h.send(
            "POST", "/workers",
            json: "{\"name\":\"remote\",\"functions\":[\"g\"],\"capacity\":\(capacity),\"lease_s\":\(lease)}")
        #expect(response.status == 201)
        let id = try #require(response.object["id"] as? String)
        #expect(response.headers.contains { $0.name == "Location" && $0.value == "/workers/\(id)" })
        return id
    }

    func submitG(_ h: GatewayHarness, _ args: String = "1", extra: String = "") async throws -> String {
        let response = await h.send("POST", "/tasks", json: "{\"function\":\"g\",\"args\":\(args)\(extra)}")
        #expect(response.status == 202)
        return try #require(response.object["id"] as? String)
    }

    func poll(_ h: GatewayHarness, _ worker: String, _ json: String = "{}") async -> HTTPResponse {
        await h.send("POST", "/workers/\(worker)/poll", json: json)
    }

    func taskIDs(_ response: HTTPResponse) -> [String] {
        (response.object["tasks"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
    }

    @Test func registrationAnswers201WithTheWorkerAndItsPollLimit() async throws {
        let h = try GatewayHarness()
        let response = await h.send(
            "POST", "/workers", json: #"{"name":"py","functions":["g","h"],"capacity":3,"lease_s":4}"#)
        #expect(response.status == 201)
        let worker = response.object
        #expect(worker["kind"] as? String == "remote")
        #expect(worker["functions"] as? [String] == ["g", "h"])
        #expect(worker["capacity"] as? Int == 3)
        #expect(worker["lease_s"] as? Double == 4)
        #expect(worker["max_wait_s"] as? Double == 2)
        let list = await h.send("GET", "/workers")
        let workers = try #require(list.object["workers"] as? [[String: Any]])
        #expect(workers.map { $0["kind"] as? String } == ["in-process", "remote"])
        let stats = await h.send("GET", "/stats")
        #expect(stats.object["workers"] as? Int == 2 && stats.object["remote_workers"] as? Int == 1)
    }

    @Test(arguments: [
        (#"{"name":"x"}"#, "/functions"),
        (#"{"functions":[]}"#, "/functions"),
        (#"{"functions":[""]}"#, "/functions"),
        (#"{"functions":["has space"]}"#, "/functions"),
        (#"{"name":"a\nforged log line","functions":["g"]}"#, "/name"),
        (#"{"functions":["g"],"capacity":0}"#, "/capacity"),
        (#"{"functions":["g"],"capacity":1.5}"#, "/capacity"),
        (#"{"functions":["g"],"lease_s":0}"#, "/lease_s"),
        (#"{"functions":["g"],"lease_s":99999}"#, "/lease_s"),
        (#"{"functions":["g"],"colour":"red"}"#, "/colour"),
    ])
    func invalidRegistrationsAre422WithThePointer(body: String, pointer: String) async throws {
        let h = try GatewayHarness()
        let response = await h.send("POST", "/workers", json: body)
        #expect(response.status == 422)
        #expect(response.object["pointer"] as? String == pointer)
        #expect(h.scheduler.workers.count == 1, "nothing was registered")
    }

    @Test func registrationsBeyondTheCapsAreRefusedWithProblems() async throws {
        // The harness's in-process worker is one of the three allowed; it offers `f`: room for one name more.
        let h = try GatewayHarness(scheduler: {
            $0.maxWorkers = 3
            $0.maxFunctions = 2
        })
        let names = await h.send("POST", "/workers", json: #"{"functions":["n1","n2","n3"]}"#)
        #expect(names.status == 422)
        #expect(names.object["code"] as? String == "too_many_functions")
        let long = await h.send(
            "POST", "/workers", json: "{\"functions\":[\"" + String(repeating: "x", count: 200_000) + "\"]}")
        #expect(long.status == 422)
        #expect(long.object["pointer"] as? String == "/functions")
        _ = try await register(h)
        _ = try await register(h)
        let full = await h.send("POST", "/workers", json: #"{"functions":["g"]}"#)
        #expect(full.status == 503)
        #expect(full.object["code"] as? String == "too_many_workers")
        #expect(full.headers.contains { $0.name == "Retry-After" })
        #expect(h.scheduler.workers.count == 3, "nothing more was registered")
    }

    @Test func theTraceContextTravelsWithTheTaskToItsWorker() async throws {
        let h = try GatewayHarness()
        let worker = try await register(h, capacity: 10)
        let trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        let body = #"{"function":"g","args":1}"#
        let traced = await h.send(
            "POST", "/tasks", headers: ["traceparent": trace, "Idempotency-Key": "k"], json: body)
        // A replay from another trace is the same task (the trace context is not part of the request compared).
        let other = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        let replay = await h.send(
            "POST", "/tasks", headers: ["traceparent": other, "Idempotency-Key": "k"], json: body)
        #expect(replay.object["id"] as? String == traced.object["id"] as? String)
        let invalid = await h.send(
            "POST", "/tasks", headers: ["traceparent": "00-00000000000000000000000000000000-00f067aa0ba902b7-01"],
            json: body)
        #expect(invalid.status == 202, "an invalid trace context is ignored, not refused")
        let batch = await h.send(
            "POST", "/tasks/batch", headers: ["traceparent": other], json: #"[{"function":"g"},{"function":"g"}]"#)
        #expect(batch.status == 202)
        let answer = await poll(h, worker, #"{"max_tasks":10}"#)
        let tasks = try #require(answer.object["tasks"] as? [[String: Any]])
        #expect(tasks.map { $0["traceparent"] as? String } == [trace, nil, other, other])
    }

    @Test func aPollWithMailAnswersAtOnceAndAnEmptyOneParksUntilATaskComes() async throws {
        let h = try GatewayHarness()
        let worker = try await register(h)
        let first = try await submitG(h, #"{"n":1}"#)
        let answer = await poll(h, worker, #"{"wait_s":5}"#)
        #expect(answer.status == 200)
        #expect(taskIDs(answer) == [first])
        let task = try #require((answer.object["tasks"] as? [[String: Any]])?.first)
        #expect(task["function"] as? String == "g" && task["attempt"] as? Int == 1)
        #expect((task["args"] as? [String: Any])?["n"] as? Int == 1)
        let before = h.gateway.parked
        let parked = Task { await poll(h, worker, #"{"wait_s":5}"#) }
        await h.parked(before + 1)
        let second = try await submitG(h)
        let woken = await parked.value
        #expect(taskIDs(woken) == [second])
    }

    @Test func theWaitIsClampedToHalfTheLease() async throws {
        let h = try GatewayHarness()
        let worker = try await register(h, lease: 2)
        let before = h.gateway.parked
        let parked = Task { await poll(h, worker, #"{"wait_s":30}"#) }
        await h.parked(before + 1)
        h.advance(.seconds(1))
        let answer = await parked.value
        #expect(answer.status == 200 && taskIDs(answer).isEmpty)
    }

    @Test func aCancelWakesTheParkedPollAndTheDeleteCallerGetsTheWorkersConfirm() async throws {
        let h = try GatewayHarness()
        let worker = try await register(h)
        let id = try await submitG(h)
        #expect(taskIDs(await poll(h, worker)) == [id])
        var before = h.gateway.parked
        let parked = Task { await poll(h, worker, #"{"wait_s":5}"#) }
        await h.parked(before + 1)
        before = h.gateway.parked
        let cancel = Task { await h.send("DELETE", "/tasks/\(id)", query: ["wait": "5"]) }
        let woken = await parked.value
        #expect(woken.object["cancel"] as? [String] == [id])
        await h.parked(before)
        let confirm = await poll(h, worker, "{\"confirms\":[{\"id\":\"\(id)\",\"confirm\":\"canceled\"}]}")
        #expect(confirm.status == 200 && (confirm.object["refused"] as? [Any])?.isEmpty == true)
        let answer = await cancel.value
        #expect(answer.status == 200)
        #expect(answer.object["state"] as? String == "canceled")
    }

    @Test func resultsAndFailuresAreTakenAndAReportForATaskNotHeldIsRefusedAlone() async throws {
        let h = try GatewayHarness()
        let worker = try await register(h)
        let a = try await submitG(h)
        let b = try await submitG(h)
        #expect(taskIDs(await poll(h, worker)) == [a, b])
        let stranger = try await h.submit()
        let answer = await poll(
            h, worker,
            """
            {"results":[{"id":"\(a)","result":{"x":[1,2]}},{"id":"\(stranger)","result":1},
             {"id":"\(b)","error":{"message":"boom"}}]}
            """)
        #expect(answer.status == 200)
        let refused = try #require(answer.object["refused"] as? [[String: Any]])
        #expect(refused.count == 1)
        #expect(refused.first?["id"] as? String == stranger && refused.first?["code"] as? String == "not_holder")
        let taskA = await h.send("GET", "/tasks/\(a)")
        #expect(taskA.object["state"] as? String == "succeeded")
        #expect((taskA.object["result"] as? [String: Any])?["x"] as? [Int] == [1, 2])
        let taskB = await h.send("GET", "/tasks/\(b)")
        #expect(taskB.object["state"] as? String == "failed")
        #expect((taskB.object["error"] as? [String: Any])?["detail"] as? String == "boom")
        let other = await h.send("GET", "/tasks/\(stranger)")
        #expect(other.object["state"] as? String == "running", "the stranger's task is untouched")
    }

    @Test(arguments: [
        #"{"results":{}}"#,
        #"{"results":[{"id":"0000000000000001"}]}"#,
        #"{"results":[{"id":"nope","result":1}]}"#,
        #"{"confirms":[{"id":"0000000000000001","confirm":"maybe"}]}"#,
        #"{"wait_s":-1}"#,
        #"{"drain":"yes"}"#,
        #"{"hello":1}"#,
    ])
    func aMalformedPollIs422AndTakesNothing(body: String) async throws {
        let h = try GatewayHarness()
        let worker = try await register(h)
        let id = try await submitG(h)
        #expect(taskIDs(await poll(h, worker)) == [id])
        // A valid result for the held task rides along in front of the broken part: it must not be applied.
        let merged = "{\"results\":[{\"id\":\"\(id)\",\"result\":1}]," + body.dropFirst()
        for candidate in [body, merged] {
            let answer = await poll(h, worker, candidate)
            #expect(answer.status == 422, "\(candidate)")
            #expect(answer.object["code"] as? String == "invalid_request")
        }
        let task = await h.send("GET", "/tasks/\(id)")
        #expect(task.object["state"] as? String == "running")
    }

    @Test func aWorkerThatMissesItsLeaseIsGoneItsTaskRequeuedAndItsLateResultRefusedWithNoChange() async throws {
        let h = try GatewayHarness()
        let stale = try await register(h, lease: 1)
        let id = try await submitG(h, extra: ",\"max_retries\":1")
        #expect(taskIDs(await poll(h, stale)) == [id])
        h.advance(.seconds(2))
        let before = await h.send("GET", "/tasks/\(id)")
        #expect(before.object["state"] as? String == "pending" && before.object["attempt"] as? Int == 2)
        let late = await poll(h, stale, "{\"results\":[{\"id\":\"\(id)\",\"result\":\"late\"}]}")
        #expect(late.status == 409)
        #expect(late.object["code"] as? String == "worker_gone")
        let after = await h.send("GET", "/tasks/\(id)")
        #expect(after.object["state"] as? String == "pending")
        #expect(after.object["version"] as? Int == before.object["version"] as? Int)
        let fresh = try await register(h)
        #expect(taskIDs(await poll(h, fresh)) == [id])
        let leave = await h.send("DELETE", "/workers/\(stale)")
        #expect(leave.status == 409 && leave.object["code"] as? String == "worker_gone")
    }

    @Test func leavingRequeuesHeldTasksAndAParkedPollOfTheWorkerGetsWorkerGone() async throws {
        let h = try GatewayHarness()
        let worker = try await register(h)
        let id = try await submitG(h)
        #expect(taskIDs(await poll(h, worker)) == [id])
        let before = h.gateway.parked
        let parked = Task { await poll(h, worker, #"{"wait_s":5}"#) }
        await h.parked(before + 1)
        let leave = await h.send("DELETE", "/workers/\(worker)")
        #expect(leave.status == 204)
        let answer = await parked.value
        #expect(answer.status == 409 && answer.object["code"] as? String == "worker_gone")
        let task = await h.send("GET", "/tasks/\(id)")
        #expect(task.object["state"] as? String == "pending" && task.object["attempt"] as? Int == 2)
        #expect(h.scheduler.workers.count == 1)
    }

    @Test func unknownAndInProcessWorkersAreRefused() async throws {
        let h = try GatewayHarness()
        for path in ["/workers/w999999/poll", "/workers/nope/poll"] {
            let answer = await h.send("POST", path, json: "{}")
            #expect(answer.status == 404 && answer.object["code"] as? String == "unknown_worker")
        }
        let inProcess = h.worker.description
        let poll = await h.send("POST", "/workers/\(inProcess)/poll", json: "{}")
        #expect(poll.status == 409 && poll.object["code"] as? String == "in_process_worker")
        let leave = await h.send("DELETE", "/workers/\(inProcess)")
        #expect(leave.status == 409)
        #expect(h.scheduler.worker(h.worker) != nil)
        let get = await h.send("GET", "/workers/\(inProcess)")
        #expect(get.status == 200 && get.object["kind"] as? String == "in-process")
        #expect(await h.send("PUT", "/workers").status == 405)
        #expect(await h.send("GET", "/workers/\(inProcess)/poll").status == 405)
        #expect(await h.send("GET", "/workers/\(inProcess)/other").status == 404)
    }

    @Test func drainReturnsUndeliveredTasksAndTakesNoNewOnes() async throws {
        let h = try GatewayHarness()
        let worker = try await register(h, capacity: 3)
        let a = try await submitG(h)
        let b = try await submitG(h)
        #expect(taskIDs(await poll(h, worker, #"{"max_tasks":1}"#)) == [a])
        let drained = await poll(h, worker, #"{"drain":true,"max_tasks":0}"#)
        #expect(taskIDs(drained).isEmpty)
        let taskB = await h.send("GET", "/tasks/\(b)")
        #expect(taskB.object["state"] as? String == "pending" && taskB.object["attempt"] as? Int == 1)
        let described = await h.send("GET", "/workers/\(worker)")
        #expect(described.object["draining"] as? Bool == true && described.object["load"] as? Int == 1)
    }

    @Test func aTaskMissingFromTheRunningListIsTakenBackOnceItsAnswerCannotBeOnItsWay() async throws {
        let h = try GatewayHarness()
        let worker = try await register(h, lease: 2)
        let lost = try await submitG(h)
        let kept = try await submitG(h)
        #expect(taskIDs(await poll(h, worker)) == [lost, kept])
        // max_wait_s is 1, so an answer is read within 11 s or never: before that the list changes nothing.
        for _ in 0..<11 {
            h.advance(.seconds(1))
            #expect(await poll(h, worker, "{\"running\":[\"\(kept)\"]}").status == 200)
        }
        #expect((await h.send("GET", "/tasks/\(lost)")).object["state"] as? String == "running")
        h.advance(.seconds(1))
        let answer = await poll(h, worker, "{\"running\":[\"\(kept)\"]}")
        #expect(answer.status == 200)
        let task = await h.send("GET", "/tasks/\(lost)")
        #expect(task.object["attempt"] as? Int == 1, "it never ran, so no retry is spent")
        // Back in the queue and handed out again: to this worker, which has room.
        #expect(taskIDs(await poll(h, worker, "{\"running\":[\"\(kept)\"]}")) == [lost])
        #expect((await h.send("GET", "/tasks/\(kept)")).object["state"] as? String == "running")
        let invalid = await poll(h, worker, #"{"running":["nope"]}"#)
        #expect(invalid.status == 422 && invalid.object["pointer"] as? String == "/running/0")
    }
}
