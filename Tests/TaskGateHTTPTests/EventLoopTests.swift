import TaskGateHTTP
import TaskGateTesting
import TaskScheduler
import Testing

/// The two ways the daemon runs: on taskgate's own event-loop thread (the default, which runs the worker wake-ups
/// of each batch of requests after the batch), and on libmicrohttpd's thread pool (`threads > 0`, which runs them
/// after each request).
@Suite(.timeLimit(.minutes(3))) struct EventLoopTests {
    /// Requests in flight at once: as many as the client's connections, so none waits for a pooled one.
    static let inFlight = 64

    @Test(arguments: [0, 2]) func concurrentSubmissionsThatWaitAllGetTheirResults(threads: Int) async throws {
        try await withLiveServer(connections: Self.inFlight, server: { $0.threads = threads }) { server, client in
            // Many submissions in flight at once, so the loop serves several per iteration and their wake-ups are
            // deferred together; every one must still run and wake its parked request.
            let answers = try await concurrentMap(1_000, width: Self.inFlight) { index in
                try await client.post(
                    "/tasks", json: #"{"function":"echo","args":{"i":\#(index)}}"#, headers: ["Prefer": "wait=30"])
            }
            for (index, response) in answers.enumerated() {
                #expect(response.status == 200)
                #expect(response.json["state"] as? String == "succeeded")
                #expect(response.json["result"] as? [String: Int] == ["i": index])
            }
            #expect(server.scheduler.stats.counters.succeeded == 1_000)
            #expect(server.gateway.parked == 0)
        }
    }

    @Test(arguments: [0, 2]) func submissionsWithoutWaitingAllRun(threads: Int) async throws {
        try await withLiveServer(connections: Self.inFlight, server: { $0.threads = threads }) { server, client in
            let ids = try await concurrentMap(1_000, width: Self.inFlight) { index in
                let response = try await client.post("/tasks", json: #"{"function":"echo","args":\#(index)}"#)
                return response.json["id"] as? String ?? "missing"
            }
            // No request waits: the deferred wake-ups alone must get every task run.
            let states = try await concurrentMap(ids.count, width: Self.inFlight) { index in
                try await client.request("GET", "/tasks/\(ids[index])?wait=30").json["state"] as? String
            }
            #expect(states.filter { $0 != "succeeded" }.isEmpty)
            #expect(server.scheduler.stats.counters.succeeded == 1_000)
        }
    }

    @Test func aParkedRequestIsAnsweredWhenTheLoopIsIdle() async throws {
        try await withLiveServer { _, client in
            // The loop is asleep in epoll_wait when the sleep finishes on a worker thread: the resume must wake it.
            let response = try await client.post(
                "/tasks", json: #"{"function":"sleep","args":{"seconds":0.2}}"#, headers: ["Prefer": "wait=30"])
            #expect(response.status == 200)
            #expect(response.json["state"] as? String == "succeeded")
        }
    }
}
