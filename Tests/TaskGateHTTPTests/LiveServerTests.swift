import Foundation
import TaskGateHTTP
import TaskGateTesting
import TaskScheduler
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The real daemon on 127.0.0.1 and a free port.
@Suite(.timeLimit(.minutes(2))) struct LiveServerTests {
    static var gate: FunctionRegistry { TestFunctions.gated }

    @Test func statusCodesOverRealHTTP() async throws {
        try await withLiveServer(gateway: { $0.maxBodyBytes = 1024 }) { server, client in
            let submitted = try await client.post("/tasks", json: #"{"function":"echo","args":[1,"two"]}"#)
            #expect(submitted.status == 202)
            let id = try #require(submitted.json["id"] as? String)
            #expect(submitted.headers["location"] == "/tasks/\(id)")
            let done = try await client.request("GET", "/tasks/\(id)?wait=10")
            #expect(done.status == 200)
            #expect(done.json["result"] as? [AnyHashable] == [1, "two"])
            #expect(try await client.post("/tasks", json: "{").status == 400)
            #expect(try await client.post("/tasks", json: #"{"function":"nope"}"#).status == 422)
            #expect(
                try await client.request("POST", "/tasks", headers: ["Content-Type": "text/plain"], body: [1]).status
                    == 415
            )
            let big = "{\"function\":\"echo\",\"args\":\"" + String(repeating: "x", count: 5000) + "\"}"
            let tooLarge = try await client.post("/tasks", json: big)
            #expect(tooLarge.status == 413)
            #expect(tooLarge.headers["content-type"] == "application/problem+json")
            let notAllowed = try await client.request("PATCH", "/tasks/\(id)")
            #expect(notAllowed.status == 405)
            #expect(notAllowed.headers["allow"] == "DELETE, GET, HEAD, OPTIONS")
            #expect(try await client.request("GET", "/nothing").status == 404)
            #expect(try await client.request("GET", "/tasks/0000000000000001").status == 404)
            #expect(try await client.request("DELETE", "/tasks/\(id)").status == 409)
            #expect(try await client.request("GET", "/healthz").status == 200)
        }
    }

    @Test func cancelOfARunningSleepOverHTTP() async throws {
        try await withLiveServer(functions: Self.gate) { server, client in
            let submitted = try await client.post("/tasks", json: #"{"function":"park","args":"cancel-me"}"#)
            let id = try #require(submitted.json["id"] as? String)
            // Cancel once the function runs on its slot, so the cancel goes through the worker and its confirm.
            await Gates.shared.wait("started:\"cancel-me\"")
            let canceled = try await client.request("DELETE", "/tasks/\(id)?wait=10")
            #expect(canceled.status == 200)
            #expect(canceled.json["state"] as? String == "canceled")
        }
    }

    @Test func longPollAnswersAtTheDeadlineWithTheCurrentState() async throws {
        try await withLiveServer(functions: Self.gate) { server, client in
            let id = try #require(
                try await client.post("/tasks", json: #"{"function":"gate","args":"deadline"}"#).json["id"] as? String)
            let response = try await client.request("GET", "/tasks/\(id)?wait=0.2")
            #expect(response.status == 200)
            #expect(response.json["done"] as? Bool == false)
            #expect(response.headers["preference-applied"] == "wait=0.2")
            await Gates.shared.open("\"deadline\"")
        }
    }

    @Test func aThousandParkedLongPollsAreAllAnsweredWithoutNewThreads() async throws {
        let threadName = "tg-park-test"
        try await withLiveServer(functions: Self.gate, connections: 1100, server: { $0.threadName = threadName }) {
            server, client in
            let id = try #require(
                try await client.post("/tasks", json: #"{"function":"gate","args":"many"}"#).json["id"] as? String)
            let threadsBefore = Self.threadCount(named: threadName)
            #expect(threadsBefore == 1, "the server runs on its one event-loop thread")
            let answers = try await withThrowingTaskGroup(of: TestResponse.self) { group in
                for _ in 0..<1000 {
                    group.addTask { try await client.request("GET", "/tasks/\(id)?wait=60") }
                }
                await yield(until: server.gateway.parked >= 1000)
                #expect(server.gateway.parked == 1000)
                #expect(server.service.server.parked == 1000)
                let serverThreads = Self.threadCount(named: threadName)
                await Gates.shared.open("\"many\"")
                var answers: [TestResponse] = []
                for try await answer in group { answers.append(answer) }
                return (answers, serverThreads)
            }
            #expect(answers.0.count == 1000)
            #expect(answers.0.allSatisfy { $0.status == 200 && $0.json["state"] as? String == "succeeded" })
            #expect(server.gateway.parked == 0)
            // Parking holds no thread: with 1,000 parked the server still runs on its one thread. (Other threads of
            // the test process belong to the client and to tests running alongside, so they are not counted.)
            #expect(answers.1 == threadsBefore)
        }
    }

    @Test func aClientThatDisconnectsWhileParkedIsReleasedAtOnceNotAtItsDeadline() async throws {
        try await withLiveServer(functions: Self.gate) { server, client in
            let id = try #require(
                try await client.post("/tasks", json: #"{"function":"gate","args":"gone"}"#).json["id"] as? String)
            let baseline = server.gateway.parked
            // A minute's wait each: only the hang-up can release them within the test's time limit.
            for _ in 0..<20 { try Self.sendAndHangUp(port: server.port, path: "/tasks/\(id)?wait=60") }
            await yield(
                until: server.service.server.parked == baseline && server.gateway.parked == baseline,
                bound: .seconds(30))
            #expect(server.gateway.parked == baseline)
            #expect(server.service.server.parked == baseline)
            #expect(server.service.server.watchedForHangup == 0)
            #expect(server.scheduler.stats.waiters == 0, "the scheduler's waiters went with their requests")
            #expect(try await client.request("GET", "/tasks/\(id)").json["state"] as? String == "running")
            await Gates.shared.open("\"gone\"")
        }
    }

    /// Threads of this process named `name`.
    static func threadCount(named name: String) -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.filter { task in
            let comm = (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)) ?? ""
            return comm.trimmingCharacters(in: .whitespacesAndNewlines) == name
        }.count
    }

    /// Opens a connection, sends a GET and closes it without reading the answer.
    static func sendAndHangUp(port: Int, path: String) throws {
        let connection = try RawConnection(port: port)
        try connection.send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        connection.close()
    }
}
