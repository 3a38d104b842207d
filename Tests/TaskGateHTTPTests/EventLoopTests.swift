import TaskGateHTTP
import TaskGateTesting
import TaskScheduler
import Testing

/// The two ways the daemon runs: on taskgate's own event-loop thread (the default, which runs the worker wake-ups
/// of each batch of requests after the batch), and on libmicrohttpd's thread pool (`threads > 0`, which runs them
/// after each request).
@Suite(.timeLimit(.minutes(2))) struct EventLoopTests {
    @Test(arguments: [0, 2]) func concurrentSubmissionsThatWaitAllGetTheirResults(threads: Int) async throws {
        let server = try LiveServer(server: { $0.threads = threads })
        let client = TestHTTPClient(baseURL: server.baseURL, connections: 64)
        // Many submissions in flight at once, so the loop serves several per iteration and their wake-ups are
        // deferred together; every one must still run and wake its parked request.
        let answers = try await withThrowingTaskGroup(of: (Int, TestResponse).self) { group in
            for index in 0..<1_000 {
                group.addTask {
                    let response = try await client.post(
                        "/tasks", json: #"{"function":"echo","args":{"i":\#(index)}}"#, headers: ["Prefer": "wait=30"])
                    return (index, response)
                }
            }
            var answers: [(Int, TestResponse)] = []
            for try await answer in group { answers.append(answer) }
            return answers
        }
        #expect(answers.count == 1_000)
        for (index, response) in answers {
            #expect(response.status == 200)
            #expect(response.json["state"] as? String == "succeeded")
            #expect(response.json["result"] as? [String: Int] == ["i": index])
        }
        #expect(server.scheduler.stats.counters.succeeded == 1_000)
        #expect(server.gateway.parked == 0)
        try await client.shutdown()
        await server.shutdown()
    }

    @Test(arguments: [0, 2]) func submissionsWithoutWaitingAllRun(threads: Int) async throws {
        let server = try LiveServer(server: { $0.threads = threads })
        let client = TestHTTPClient(baseURL: server.baseURL, connections: 32)
        let ids = try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<1_000 {
                group.addTask {
                    let response = try await client.post("/tasks", json: #"{"function":"echo","args":\#(index)}"#)
                    return response.json["id"] as? String ?? "missing"
                }
            }
            var ids: [String] = []
            for try await id in group { ids.append(id) }
            return ids
        }
        // No request waits: the deferred wake-ups alone must get every task run.
        for id in ids {
            let done = try await client.request("GET", "/tasks/\(id)?wait=30")
            #expect(done.json["state"] as? String == "succeeded")
        }
        #expect(server.scheduler.stats.counters.succeeded == 1_000)
        try await client.shutdown()
        await server.shutdown()
    }

    @Test func aParkedRequestIsAnsweredWhenTheLoopIsIdle() async throws {
        let server = try LiveServer()
        let client = TestHTTPClient(baseURL: server.baseURL)
        // The loop is asleep in epoll_wait when the sleep finishes on a worker thread: the resume must wake it.
        let response = try await client.post(
            "/tasks", json: #"{"function":"sleep","args":{"seconds":0.2}}"#, headers: ["Prefer": "wait=30"])
        #expect(response.status == 200)
        #expect(response.json["state"] as? String == "succeeded")
        try await client.shutdown()
        await server.shutdown()
    }
}
