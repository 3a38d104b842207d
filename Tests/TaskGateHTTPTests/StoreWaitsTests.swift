import TaskGateHTTP
import TaskGateStore
import TaskGateTesting
import TaskScheduler
import Testing

/// Answers parked on the real event loop until the store commits what they report (`StoreWaits`): none is sent
/// early, all are sent once the commit lands, a stuck store answers 503 past its timeout, and a server that stops
/// with answers still waiting acknowledges none of them.
@Suite(.timeLimit(.minutes(2))) struct StoreWaitsTests {
    /// Runs `body` against a live server durable (`os`) in a new temporary directory.
    func withDurableServer(
        gateway configure: @escaping (inout Gateway.Configuration) -> Void = { _ in },
        _ body: (LiveServer, TestHTTPClient, TaskStore) async throws -> Void
    ) async throws {
        let directory = makeTemporaryDirectory(prefix: "taskgate-storewaits")
        let server = try LiveServer(storeDirectory: directory + "/store", gateway: configure)
        let client = TestHTTPClient(baseURL: server.baseURL, connections: 64)
        let store = try #require(server.store)
        var failure: (any Error)?
        do {
            try await body(server, client, store)
        } catch {
            failure = error
        }
        store.hold(false)
        store.faults.failNextCommits(0)
        try? await client.shutdown()
        await server.shutdown()
        if let failure { throw failure }
    }

    @Test func answersWaitOnTheLoopUntilTheirCommitThenAllGoOut() async throws {
        try await withDurableServer { server, client, store in
            store.hold(true)
            let answered = Counter()
            let submissions = (0..<40).map { index in
                Task {
                    let response = try await client.post("/tasks", json: #"{"function":"echo","args":\#(index)}"#)
                    answered.add()
                    return response
                }
            }
            // Every submission reaches the scheduler, and each waits parked on the loop: none is answered.
            await yield(until: server.service.server.parked == 40, bound: .seconds(30))
            #expect(server.service.server.parked == 40)
            #expect(answered.value == 0)
            #expect(store.committed == 0)
            store.hold(false)
            var ids: [String] = []
            for submission in submissions {
                let response = try await submission.value
                #expect(response.status == 202)
                if let id = response.json["id"] as? String { ids.append(id) }
            }
            #expect(ids.count == 40)
            await yield(until: server.service.server.parked == 0)
            #expect(server.service.server.parked == 0)
            // Each acknowledged task's creation is committed.
            for id in ids {
                let record = try #require(server.scheduler.task(TaskID(id)!).record)
                #expect(record.storeSeq > 0)
            }
            #expect(store.committed >= 40)
        }
    }

    @Test func aStuckStoreAnswers503PastItsTimeoutAndRecovers() async throws {
        try await withDurableServer(gateway: { $0.storeTimeout = .milliseconds(100) }) { server, client, store in
            store.faults.failNextCommits(1_000_000)
            let unstored = try await client.post("/tasks", json: #"{"function":"echo","args":"lost?"}"#)
            #expect(unstored.status == 503)
            #expect(unstored.json["code"] as? String == "not_stored")
            #expect(unstored.headers["retry-after"] != nil)
            #expect(server.service.server.parked == 0)
            store.faults.failNextCommits(0)
            await yield(until: store.failure == nil, bound: .seconds(10))
            let accepted = try await client.post("/tasks", json: #"{"function":"echo","args":"kept"}"#)
            #expect(accepted.status == 202)
        }
    }

    @Test func aServerStoppingWithAnswersWaitingAcknowledgesNone() async throws {
        try await withDurableServer { server, client, store in
            store.hold(true)
            let submission = Task { try await client.post("/tasks", json: #"{"function":"echo","args":1}"#) }
            await yield(until: server.service.server.parked == 1, bound: .seconds(30))
            #expect(server.service.server.parked == 1)
            // libmicrohttpd may not stop with a suspended connection: the waiting answer becomes a 503 (or the
            // connection closes first); either way the unstored task is not acknowledged.
            server.service.server.stop()
            #expect(server.service.server.parked == 0)
            if let response = try? await submission.value {
                #expect(response.status != 202)
            }
        }
    }
}
