import Foundation
import TaskGateHTTP
import TaskGateTesting
import TaskScheduler
import Testing

/// `GET /metrics`: the Prometheus text format, what each family counts, naming conventions, and who may read it.
@Suite struct MetricsTests {
    /// The samples of a Prometheus text exposition, by `name{labels}` as written.
    static func samples(_ body: [UInt8]) -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in String(decoding: body, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                continue
            }
            samples[String(line[..<space])] = value
        }
        return samples
    }

    @Test func theExpositionCountsTasksCancelsAndWaits() async throws {
        let h = try GatewayHarness()
        let first = try await h.submit()
        let second = try await h.submit()
        let third = try await h.submit()
        h.advance(.milliseconds(300))
        _ = try h.take()
        try h.succeed(first)
        _ = await h.send("DELETE", "/tasks/\(second)", query: ["wait": "0"])
        h.advance(.milliseconds(40))
        try h.confirm(second, .canceled)
        _ = await h.send("DELETE", "/tasks/\(first)")
        let parked = await h.parkWait(on: third)

        let response = await h.send("GET", "/metrics")
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
        let samples = Self.samples(response.body)
        #expect(samples[#"taskgate_tasks_submitted_total{function="f"}"#] == 3)
        #expect(samples[#"taskgate_tasks_finished_total{function="f",outcome="succeeded"}"#] == 1)
        #expect(samples[#"taskgate_tasks_finished_total{function="f",outcome="canceled"}"#] == 1)
        #expect(samples[#"taskgate_cancel_requests_total{outcome="forwarded"}"#] == 1)
        #expect(samples[#"taskgate_cancel_requests_total{outcome="already_finished"}"#] == 1)
        #expect(samples["taskgate_cancel_confirm_seconds_count"] == 1)
        #expect(samples["taskgate_cancel_confirm_seconds_sum"] == 0.04)
        #expect(samples[#"taskgate_tasks{state="running"}"#] == 1)
        #expect(samples["taskgate_http_parked_requests"] == 1)
        #expect(samples["taskgate_task_queue_wait_seconds_count"] == 3, "each was handed to the worker once")
        #expect(samples["taskgate_queue_oldest_age_seconds"] == 0, "nothing is pending")
        #expect(samples["taskgate_tasks_unfinished"] == 1, "the third is running; the others are finished")
        h.advance(.seconds(20))
        _ = await parked.value

        // A scrape is a snapshot: a second one after more work shows the new totals, not a sum of scrapes.
        try h.succeed(third)
        let again = Self.samples(await h.send("GET", "/metrics").body)
        #expect(again[#"taskgate_tasks_finished_total{function="f",outcome="succeeded"}"#] == 2)
        #expect(again[#"taskgate_tasks_submitted_total{function="f"}"#] == 3)
        #expect(again["taskgate_tasks_unfinished"] == 0)
    }

    @Test func namesFollowThePrometheusConventions() async throws {
        let h = try GatewayHarness()
        _ = try await h.submit()
        let text = String(decoding: await h.send("GET", "/metrics").body, as: UTF8.self)
        let types = text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ") }
        #expect(types.count >= 15)
        for type in types {
            let name = String(type[2])
            let kind = String(type[3])
            #expect(name.hasPrefix("taskgate_"), "\(name)")
            #expect(name.hasSuffix("_total") == (kind == "counter"), "only counters end in _total: \(name) \(kind)")
            // Histograms of durations are in seconds; the one of sizes counts changes per commit.
            if kind == "histogram" {
                #expect(
                    name.hasSuffix("_seconds") || name == "taskgate_store_batch_changes",
                    "durations are in seconds: \(name)")
            }
        }
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            #expect(line.wholeMatch(of: /taskgate_[a-z_]+(\{.*\})? [0-9.e+-]+/) != nil, "\(line)")
        }
    }

    @Test func metricsNeedTheClientTokenWhenAuthIsOn() async throws {
        let h = try GatewayHarness()
        h.gateway.replaceTokens(AccessTokens(client: ["reader"], worker: ["worker"]))
        #expect(await h.send("GET", "/metrics").status == 401)
        #expect(await h.send("GET", "/metrics", headers: ["Authorization": "Bearer worker"]).status == 403)
        #expect(await h.send("GET", "/metrics", headers: ["Authorization": "Bearer reader"]).status == 200)
    }
}

/// The HTTP families need the real daemon: they are counted as answers are queued.
@Suite(.timeLimit(.minutes(2))) struct LiveMetricsTests {
    @Test func requestsAreCountedByRouteTemplateAndStatus() async throws {
        try await withLiveServer { server, client in
            let id = try #require(try await client.post("/tasks", json: #"{"function":"echo","args":1}"#).json["id"])
            _ = try await client.request("GET", "/tasks/\(id)?wait=5")
            _ = try await client.request("GET", "/tasks/0000000000000001")
            _ = try await client.request("GET", "/tasks/0000000000000002")
            let samples = MetricsTests.samples(try await client.request("GET", "/metrics").body)
            #expect(samples[#"taskgate_http_requests_total{route="POST /tasks",status="202"}"#] == 1)
            #expect(samples[#"taskgate_http_requests_total{route="GET /tasks/{id}",status="200"}"#] == 1)
            #expect(samples[#"taskgate_http_requests_total{route="GET /tasks/{id}",status="404"}"#] == 2)
            #expect(samples[#"taskgate_http_request_duration_seconds_count{route="GET /tasks/{id}"}"#] == 3)
            #expect((samples["taskgate_http_connections"] ?? 0) >= 1)
        }
    }
}
