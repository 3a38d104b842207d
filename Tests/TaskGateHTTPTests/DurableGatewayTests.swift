import Synchronization
import TaskGateHTTP
import TaskGateStore
import TaskGateTesting
import TaskScheduler
import Testing

/// The gateway over a durable store: nothing is acknowledged before it is committed, and a store that cannot write
/// refuses new work while reads go on.
struct DurableGatewayTests {
    @Test func aSubmissionIsAnsweredOnlyOnceItsTaskIsCommitted() async throws {
        let h = try GatewayHarness(durable: true)
        defer { h.close() }
        let store = try #require(h.store)
        store.hold(true)
        let answered = OnceFlag()
        let submission = Task {
            let response = await h.send("POST", "/tasks", json: #"{"function":"f","args":1}"#)
            answered.open()
            return response
        }
        // The task is in the scheduler at once, but nothing can commit while the writer is held: no answer yet.
        await yield(until: h.scheduler.stats.tasksByState[.pending, default: 0] + h.scheduler.stats.load == 1)
        #expect(store.committed == 0)
        #expect(!answered.isOpen)
        store.hold(false)
        let response = await submission.value
        #expect(response.status == 202)
        #expect(store.committed >= 1)
    }

    @Test func aCancelsAnswerAndAReadOfAJustChangedTaskWaitForTheirCommit() async throws {
        let h = try GatewayHarness(durable: true)
        defer { h.close() }
        let store = try #require(h.store)
        let id = try await h.submit()
        store.hold(true)
        let answers = Counter()
        let cancel = Task {
            let response = await h.send("DELETE", "/tasks/\(id)")
            answers.add()
            return response
        }
        await yield(until: h.scheduler.task(TaskID(id)!).record?.state == .canceled)
        let read = Task {
            let response = await h.send("GET", "/tasks/\(id)")
            answers.add()
            return response
        }
        #expect(h.scheduler.task(TaskID(id)!).record!.storeSeq > store.committed)
        // Neither can be answered while the change it reports is not committed.
        for _ in 0..<20 { await Task.yield() }
        #expect(answers.value == 0)
        store.hold(false)
        #expect(await cancel.value.status == 200)
        let got = await read.value
        #expect(got.status == 200 && got.object["state"] as? String == "canceled")
    }

    @Test func aFullDiskRefusesSubmissionsKeepsReadsAndRecovers() async throws {
        let h = try GatewayHarness(durable: true) { _ in
        } gateway: {
            $0.storeTimeout = .milliseconds(50)
        }
        defer { h.close() }
        let store = try #require(h.store)
        let stored = try await h.submit("\"kept\"")
        store.faults.failNextCommits(1_000_000)
        // This one reaches the scheduler, but its commit fails: it is never acknowledged, and after the store
        // timeout it is told so (503 not_stored).
        let unstored = await h.send("POST", "/tasks", json: #"{"function":"f","args":"lost?"}"#)
        #expect(unstored.status == 503)
        #expect(unstored.object["code"] as? String == "not_stored")
        #expect(unstored.header("Retry-After") != nil)
        // While the store fails, new submissions are refused at once and nothing is accepted.
        let before = h.scheduler.stats.counters.submitted
        let refused = await h.send("POST", "/tasks", json: #"{"function":"f","args":2}"#)
        #expect(refused.status == 507)
        #expect(refused.object["code"] as? String == "insufficient_storage")
        #expect(refused.header("Retry-After") != nil)
        let refusedBatch = await h.send("POST", "/tasks/batch", json: #"[{"function":"f"}]"#)
        #expect(refusedBatch.status == 507)
        #expect(h.scheduler.stats.counters.submitted == before)
        // Reads of what was stored go on.
        let read = await h.send("GET", "/tasks/\(stored)")
        #expect(read.status == 200)
        let stats = await h.send("GET", "/stats")
        #expect((stats.object["store"] as? [String: Any])?["healthy"] as? Bool == false)
        // Space returns: the failed batch commits, and submissions are accepted again.
        store.faults.failNextCommits(0)
        await yield(until: store.failure == nil)
        #expect(store.failure == nil)
        let accepted = await h.send("POST", "/tasks", json: #"{"function":"f","args":3}"#)
        #expect(accepted.status == 202)
    }
}

/// A count added to from any thread.
final class Counter: Sendable {
    private let count = Atomic<Int>(0)

    func add() { count.add(1, ordering: .relaxed) }

    var value: Int { count.load(ordering: .relaxed) }
}
