import TaskGateHTTP
import TaskGateTesting
import TaskScheduler
import Testing

/// Every row of SPEC.md section 3 as seen over `DELETE /tasks/{id}`.
@Suite struct CancelOverHTTPTests {
    @Test func pendingTaskIs200Canceled() async throws {
        let h = try GatewayHarness()
        h.scheduler.removeWorker(h.worker, reason: .left)
        let id = try await h.submit()
        let response = await h.send("DELETE", "/tasks/\(id)")
        #expect(response.status == 200)
        #expect(response.object["state"] as? String == "canceled")
        #expect((response.object["cancel"] as? [String: Any])?["confirm"] as? String == "canceled")
    }

    @Test func runningTaskIs200OnceTheWorkerConfirms() async throws {
        let h = try GatewayHarness()
        let id = try await h.submit()
        try h.take()
        async let answer = h.send("DELETE", "/tasks/\(id)", query: ["wait": "30"])
        await h.parked(1)
        let mail = try h.scheduler.exchange(worker: h.worker, maxAssignments: 0)
        #expect(mail.cancelRequests.map(\.description) == [id])
        try h.confirm(id, .canceled)
        let response = await answer
        #expect(response.status == 200)
        #expect(response.object["state"] as? String == "canceled")
    }

    @Test func resultBeforeTheConfirmIs200WithWorkerFinished() async throws {
        let h = try GatewayHarness()
        let id = try await h.submit()
        try h.take()
        async let answer = h.send("DELETE", "/tasks/\(id)", query: ["wait": "30"])
        await h.parked(1)
        try h.succeed(id)
        let response = await answer
        #expect(response.status == 200)
        #expect(response.object["state"] as? String == "canceled")
        #expect(response.object["result"] == nil)
        #expect((response.object["cancel"] as? [String: Any])?["worker_finished"] as? Bool == true)
    }

    @Test func workerThatCannotStopIs409WithTheTaskRunning() async throws {
        let h = try GatewayHarness()
        let id = try await h.submit()
        try h.take()
        async let answer = h.send("DELETE", "/tasks/\(id)", query: ["wait": "30"])
        await h.parked(1)
        try h.confirm(id, .cancelFailed)
        let response = await answer
        #expect(response.status == 409)
        #expect(response.object["code"] as? String == "cancel_failed")
        #expect(response.task["state"] as? String == "running")
        try h.succeed(id, result: "5")
        #expect(await h.send("GET", "/tasks/\(id)").object["result"] as? Int == 5)
    }

    @Test func workerDyingWhileCancelingIs200() async throws {
        let h = try GatewayHarness()
        let id = try await h.submit()
        try h.take()
        async let answer = h.send("DELETE", "/tasks/\(id)", query: ["wait": "30"])
        await h.parked(1)
        h.scheduler.removeWorker(h.worker, reason: .died("test"))
        let response = await answer
        #expect(response.status == 200)
        #expect(response.object["state"] as? String == "canceled")
    }

    @Test func noConfirmWithinTheWaitIs202WithLocation() async throws {
        let h = try GatewayHarness()
        let id = try await h.submit()
        try h.take()
        async let answer = h.send("DELETE", "/tasks/\(id)", query: ["wait": "2"])
        await h.parked(1)
        h.advance(.seconds(3))
        let response = await answer
        #expect(response.status == 202)
        #expect(response.object["state"] as? String == "canceling")
        #expect(response.header("Location") == "/tasks/\(id)")
        // wait=0 answers at once.
        let immediate = await h.send("DELETE", "/tasks/\(id)", query: ["wait": "0"])
        #expect(immediate.status == 202)
    }

    @Test func finishedTaskIs409WithTheFullTaskAndResult() async throws {
        let h = try GatewayHarness()
        let id = try await h.submit()
        try h.take()
        try h.succeed(id, result: #"{"answer":42}"#)
        let response = await h.send("DELETE", "/tasks/\(id)")
        #expect(response.status == 409)
        #expect(response.header("Content-Type") == "application/problem+json")
        #expect(response.object["code"] as? String == "cancel_failed")
        #expect(response.task["state"] as? String == "succeeded")
        #expect((response.task["result"] as? [String: Any])?["answer"] as? Int == 42)
    }

    @Test func canceledTaskIs200AgainAndUnchanged() async throws {
        let h = try GatewayHarness()
        let id = try await h.submit()
        let first = await h.send("DELETE", "/tasks/\(id)")
        let second = await h.send("DELETE", "/tasks/\(id)")
        #expect(second.status == 200)
        #expect(second.header("ETag") == first.header("ETag"))
    }

    @Test func unknownTaskIs404() async throws {
        let h = try GatewayHarness()
        let response = await h.send("DELETE", "/tasks/0000000000000999")
        #expect(response.status == 404)
        #expect(response.object["code"] as? String == "task_not_found")
    }

    @Test func expiredTaskIs410() async throws {
        let h = try GatewayHarness { $0.resultTTL = .seconds(5) }
        let id = try await h.submit()
        _ = await h.send("DELETE", "/tasks/\(id)")
        h.advance(.seconds(6))
        let response = await h.send("DELETE", "/tasks/\(id)")
        #expect(response.status == 410)
        #expect(response.object["code"] as? String == "task_expired")
    }
}
