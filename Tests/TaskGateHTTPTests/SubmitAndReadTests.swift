import Foundation
import TaskGateHTTP
import TaskGateTesting
import TaskScheduler
import Testing

@Suite struct SubmitAndReadTests {
    @Test func submitAnswers202WithLocationETagAndTheTask() async throws {
        let h = try GatewayHarness()
        let response = await h.send(
            "POST", "/tasks", json: #"{"function":"f","args":{"n":[1,2]},"priority":3,"tags":["a"]}"#)
        #expect(response.status == 202)
        let id = try #require(response.object["id"] as? String)
        #expect(response.header("Location") == "/tasks/\(id)")
        #expect(response.header("ETag") == "\"\(response.object["version"] as! Int)\"")
        #expect(response.header("Content-Type") == "application/json")
        #expect(response.object["function"] as? String == "f")
        #expect((response.object["args"] as? [String: Any])?["n"] as? [Int] == [1, 2])
        #expect(response.object["priority"] as? Int == 3)
        #expect(response.object["tags"] as? [String] == ["a"])
        #expect(response.object["done"] as? Bool == false)
    }

    @Test func preferWaitAnswers200OnceTheTaskFinishes() async throws {
        let h = try GatewayHarness()
        async let answer = h.send("POST", "/tasks", headers: ["Prefer": "wait=5"], json: #"{"function":"f"}"#)
        await h.parked(1)
        let id = try #require(try h.take().first)
        try h.succeed(id.description, result: "{\"r\":7}")
        let response = await answer
        #expect(response.status == 200)
        #expect(response.object["state"] as? String == "succeeded")
        #expect((response.object["result"] as? [String: Any])?["r"] as? Int == 7)
        #expect(response.header("Preference-Applied") == "wait=5")
    }

    @Test func preferWaitAnswers202AtTheDeadlineWhenNotFinished() async throws {
        let h = try GatewayHarness()
        async let answer = h.send(
            "POST", "/tasks", headers: ["Prefer": "respond-async, wait=2"], json: #"{"function":"f"}"#)
        await h.parked(1)
        h.advance(.seconds(3))
        let response = await answer
        #expect(response.status == 202)
        #expect(response.object["done"] as? Bool == false)
        #expect(response.header("Location") != nil)
    }

    @Test func waitIsClampedToTheMaximumAndTheResponseSaysSo() async throws {
        let h = try GatewayHarness { _ in
        } gateway: {
            $0.maxWait = .seconds(10)
        }
        let id = try await h.submit()
        async let answer = h.send("GET", "/tasks/\(id)", query: ["wait": "600"])
        await h.parked(1)
        h.advance(.seconds(11))
        let response = await answer
        #expect(response.status == 200)
        #expect(response.header("Preference-Applied") == "wait=10")
    }

    @Test func idempotencyKeyReplaysTheSameTaskAndRejectsAnotherBody() async throws {
        let h = try GatewayHarness()
        let first = await h.send(
            "POST", "/tasks", headers: ["Idempotency-Key": "k-1"], json: #"{"function":"f","args":1}"#)
        let again = await h.send(
            "POST", "/tasks", headers: ["Idempotency-Key": "k-1"], json: #"{"function":"f","args":1}"#)
        #expect(first.status == 202)
        #expect(again.object["id"] as? String == first.object["id"] as? String)
        #expect(again.header("Idempotent-Replayed") == "true")
        let other = await h.send(
            "POST", "/tasks", headers: ["Idempotency-Key": "k-1"], json: #"{"function":"f","args":2}"#)
        #expect(other.status == 422)
        #expect(other.object["code"] as? String == "idempotency_conflict")
        #expect(h.scheduler.stats.counters.submitted == 1)
    }

    @Test func getAnswersTheTaskOrWhyThereIsNone() async throws {
        let h = try GatewayHarness { $0.resultTTL = .seconds(10) }
        let id = try await h.submit()
        let found = await h.send("GET", "/tasks/\(id)")
        #expect(found.status == 200)
        #expect(found.header("ETag") != nil)
        let unknown = await h.send("GET", "/tasks/00000000000000ff")
        #expect(unknown.status == 404)
        #expect(unknown.object["code"] as? String == "task_not_found")
        let malformed = await h.send("GET", "/tasks/not-an-id")
        #expect(malformed.status == 404)
        _ = await h.send("DELETE", "/tasks/\(id)")
        h.advance(.seconds(11))
        let expired = await h.send("GET", "/tasks/\(id)")
        #expect(expired.status == 410)
        #expect(expired.object["code"] as? String == "task_expired")
        #expect(expired.header("Content-Type") == "application/problem+json")
    }

    @Test func longPollIsReleasedAtTheDeadlineWithTheCurrentState() async throws {
        let h = try GatewayHarness()
        let id = try await h.submit()
        async let answer = h.send("GET", "/tasks/\(id)", query: ["wait": "30"])
        await h.parked(1)
        h.advance(.seconds(29))
        #expect(h.gateway.parked == 1)
        h.advance(.seconds(1))
        let response = await answer
        #expect(response.status == 200)
        #expect(response.object["state"] as? String == "running")
        #expect(h.gateway.parked == 0)
    }

    @Test func longPollIsWokenEarlyByTheResult() async throws {
        let h = try GatewayHarness()
        let id = try await h.submit()
        async let answer = h.send("GET", "/tasks/\(id)", headers: ["Prefer": "wait=30"])
        await h.parked(1)
        try h.take()
        try h.succeed(id)
        let response = await answer
        #expect(response.object["state"] as? String == "succeeded")
    }

    @Test func ifNoneMatchWaitsForAnyChangeAndAnswers304WhenNoneCame() async throws {
        let h = try GatewayHarness()
        let id = try await h.submit()
        let etag = try #require(await h.send("GET", "/tasks/\(id)").header("ETag"))
        // No change within the wait: 304.
        async let unchanged = h.send("GET", "/tasks/\(id)", query: ["wait": "5"], headers: ["If-None-Match": etag])
        await h.parked(1)
        h.advance(.seconds(6))
        let notModified = await unchanged
        #expect(notModified.status == 304)
        #expect(notModified.body.isEmpty)
        #expect(notModified.header("ETag") == etag)
        // A change (the result) wakes it with the new version.
        async let changed = h.send("GET", "/tasks/\(id)", query: ["wait": "5"], headers: ["If-None-Match": etag])
        await h.parked(1)
        try h.take()
        try h.succeed(id)
        let moved = await changed
        #expect(moved.status == 200)
        #expect(moved.header("ETag") != etag)
        // An outdated ETag answers at once.
        let stale = await h.send("GET", "/tasks/\(id)", query: ["wait": "5"], headers: ["If-None-Match": etag])
        #expect(stale.status == 200)
    }

    @Test func batchIsAcceptedInOrderOrRejectedWhole() async throws {
        let h = try GatewayHarness()
        let ok = await h.send("POST", "/tasks/batch", json: #"[{"function":"f","args":1},{"function":"f","args":2}]"#)
        #expect(ok.status == 202)
        let tasks = try #require(ok.object["tasks"] as? [[String: Any]])
        #expect(tasks.map { $0["args"] as? Int } == [1, 2])
        let bad = await h.send("POST", "/tasks/batch", json: #"[{"function":"f"},{"function":"f","priority":"high"}]"#)
        #expect(bad.status == 422)
        #expect(bad.object["pointer"] as? String == "/1/priority")
        #expect(h.scheduler.stats.counters.submitted == 2)
    }

    @Test func waitManyAnswersWhatIsDoneEvenWhenNothingFinished() async throws {
        let h = try GatewayHarness()
        let a = try await h.submit()
        let b = try await h.submit()
        async let none = h.send(
            "POST", "/tasks/wait", json: "{\"ids\":[\"\(a)\",\"\(b)\"],\"mode\":\"any\",\"timeout_s\":1}")
        await h.parked(1)
        h.advance(.seconds(2))
        let empty = await none
        #expect(empty.status == 200)
        #expect((empty.object["tasks"] as? [Any])?.isEmpty == true)
        #expect(Set(empty.object["pending"] as? [String] ?? []) == [a, b])
        async let any = h.send("POST", "/tasks/wait", json: "{\"ids\":[\"\(a)\",\"\(b)\",\"nope\"],\"timeout_s\":30}")
        await h.parked(1)
        try h.take()
        try h.succeed(b)
        let first = await any
        #expect((first.object["tasks"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [b])
        #expect(first.object["not_found"] as? [String] == ["nope"])
    }

    @Test func listingPagesInSubmissionOrderWithFilters() async throws {
        let h = try GatewayHarness()
        var ids: [String] = []
        for index in 0..<5 { ids.append(try await h.submit("\(index)")) }
        _ = await h.send("DELETE", "/tasks/\(ids[4])")
        let page = await h.send("GET", "/tasks", query: ["limit": "2"])
        #expect((page.object["tasks"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == Array(ids[0..<2]))
        let cursor = try #require(page.object["next_cursor"] as? String)
        let next = await h.send("GET", "/tasks", query: ["limit": "10", "cursor": cursor])
        #expect((next.object["tasks"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == Array(ids[2...]))
        #expect(next.object["next_cursor"] is NSNull)
        let canceled = await h.send("GET", "/tasks", query: ["state": "canceled"])
        #expect((canceled.object["tasks"] as? [[String: Any]])?.count == 1)
        let bad = await h.send("GET", "/tasks", query: ["state": "weird"])
        #expect(bad.status == 400)
        #expect(bad.object["parameter"] as? String == "state")
    }

    @Test func healthReadinessAndStats() async throws {
        let h = try GatewayHarness()
        _ = try await h.submit()
        #expect(await h.send("GET", "/healthz").status == 200)
        #expect(await h.send("GET", "/readyz").status == 200)
        let stats = await h.send("GET", "/stats")
        #expect((stats.object["totals"] as? [String: Any])?["submitted"] as? Int == 1)
        #expect(stats.object["workers"] as? Int == 1)
        h.gateway.beginDrain()
        #expect(await h.send("GET", "/readyz").status == 503)
        let refused = await h.send("POST", "/tasks", json: #"{"function":"f"}"#)
        #expect(refused.status == 503)
        #expect(refused.object["code"] as? String == "shutting_down")
        #expect(refused.header("Retry-After") != nil)
        let worker = await h.send("POST", "/workers", json: #"{"functions":["f"]}"#)
        #expect(worker.status == 503)
        #expect(worker.object["code"] as? String == "shutting_down")
    }

    @Test func drainReleasesParkedRequestsWithTheCurrentState() async throws {
        let h = try GatewayHarness()
        let id = try await h.submit()
        async let answer = h.send("GET", "/tasks/\(id)", query: ["wait": "60"])
        await h.parked(1)
        h.gateway.beginDrain()
        let response = await answer
        #expect(response.status == 200)
        #expect(response.object["state"] as? String == "running")
    }

    /// A finished task's body is rendered once and served again (`RenderedTasks`): every task still gets its own
    /// body when tasks share a slot of the table, the stored body is the same bytes as a fresh rendering, and an
    /// evicted task answers 410, not its stored body.
    @Test func finishedTasksAreServedFromTheirOwnRenderingUntilEvicted() async throws {
        let h = try GatewayHarness { $0.maxRetainedTasks = 300 }
        var ids: [String] = []
        // 300 tasks in 4,096 slots: some share a slot (about 11 pairs are expected), so entries replace each other.
        for index in 0..<300 {
            let id = try await h.submit("\(index)")
            #expect(try h.take() == [TaskID(id)!])
            try h.succeed(id, result: "{\"n\":\(index)}")
            ids.append(id)
        }
        for round in 0..<2 {
            for (index, id) in ids.enumerated() {
                let response = await h.send("GET", "/tasks/\(id)")
                #expect(response.status == 200, "round \(round)")
                #expect(response.object["id"] as? String == id)
                #expect((response.object["result"] as? [String: Any])?["n"] as? Int == index)
                #expect(response.object["state"] as? String == "succeeded")
                #expect(response.header("ETag") == "\"\(response.object["version"] as! Int)\"")
            }
        }
        let first = await h.send("GET", "/tasks/\(ids[0])")
        let again = await h.send("GET", "/tasks/\(ids[0])")
        #expect(first.body == again.body)
        // One more finished task evicts the oldest (the retention cap is 300): it answers 410 from now on.
        let extra = try await h.submit("1")
        try h.take()
        try h.succeed(extra)
        let evicted = await h.send("GET", "/tasks/\(ids[0])")
        #expect(evicted.status == 410)
        #expect(evicted.object["code"] as? String == "task_expired")
    }
}
