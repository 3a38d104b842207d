import Foundation
import Synchronization
import TaskGateAPI
import TaskGateClient
import TaskGateTesting
import TaskScheduler
import Testing

/// Behavioural equivalents of Scaler's future and client tests, against a live server on port 0.
@Suite(.timeLimit(.minutes(3))) struct ClientTests {
    static var functions: FunctionRegistry { TestFunctions.gated }

    /// A server and a client; `body` runs, then both are shut down (also when `body` throws).
    static func withClient(
        slots: Int = 2, _ body: (TaskGateClient, LiveServer) async throws -> Void
    ) async throws {
        try await withLiveServer(functions: functions, slots: slots) { server, _ in
            try await withTaskGateClient(server) { try await body($0, server) }
        }
    }

    @Test func state() async throws {
        try await Self.withClient { client, _ in
            let future = try await client.submit(function: "gate", args: "client-state")
            #expect(!future.isDone)
            #expect(future.state == .running || future.state == .pending)
            await Gates.shared.open("\"client-state\"")
            #expect(try await future.result() == "client-state")
            #expect(future.isDone)
            #expect(future.state == .succeeded)
            #expect(!future.isCancelled)
        }
    }

    /// `SubmitOptions.callbackURL` reaches the server: refused there without an allow-list, kept on the task with one.
    @Test func aCallbackURLIsSentWithTheSubmission() async throws {
        try await Self.withClient { client, _ in
            do {
                _ = try await client.submit(
                    function: "echo", args: 1, options: SubmitOptions(callbackURL: "http://127.0.0.1:9/hooks"))
                Issue.record("a callback was accepted without an allow-list")
            } catch let error as TaskGateError {
                #expect(error.problem?.code == "callback_not_allowed")
            }
        }
        try await withLiveServer(functions: Self.functions, gateway: { $0.callbackAllow = try! .init(["127.0.0.1:9"]) })
        {
            server, _ in
            try await withTaskGateClient(server) { client in
                let future = try await client.submit(
                    function: "echo", args: 1, options: SubmitOptions(callbackURL: "http://127.0.0.1:9/hooks"))
                let id = try #require(TaskID(future.id))
                #expect(server.scheduler.task(id).record?.callbackURL == "http://127.0.0.1:9/hooks")
            }
        }
    }

    @Test func callbackRunsExactlyOnceAlsoWhenAddedAfterCompletion() async throws {
        try await Self.withClient { client, _ in
            let future = try await client.submit(function: "gate", args: "client-callback")
            let calls = CallCounter()
            future.onCompletion { _ in calls.add() }
            await Gates.shared.open("\"client-callback\"")
            _ = try await future.result()
            await yield(until: calls.count == 1)
            future.onCompletion { _ in calls.add() }
            #expect(calls.count == 2)
            _ = try await future.result()
            #expect(calls.count == 2)
        }
    }

    @Test func asCompletedYieldsInCompletionOrder() async throws {
        try await Self.withClient(slots: 3) { client, _ in
            let futures = try await client.map(function: "gate", ["client-a", "client-b", "client-c"])
            let completed = client.asCompleted(futures)
            var order: [String] = []
            var iterator = completed.makeAsyncIterator()
            for name in ["client-c", "client-a", "client-b"] {
                await Gates.shared.open("\"\(name)\"")
                let next = await iterator.next()
                order.append(try await next!.result(as: String.self))
            }
            #expect(order == ["client-c", "client-a", "client-b"])
            #expect(await iterator.next() == nil)
        }
    }

    @Test func exception() async throws {
        try await Self.withClient { client, _ in
            let future = try await client.submit(function: "fail", args: "boom")
            let error = await #expect(throws: TaskGateError.self) { try await future.result() }
            #expect(error == .taskFailed)
            #expect(error?.taskError?.code == "function_error")
            #expect(error?.taskError?.detail == "boom")
            #expect(future.isDone && !future.isCancelled)
        }
    }

    @Test func cancelOfARunningTask() async throws {
        try await Self.withClient { client, _ in
            let future = try await client.submit(function: "park", args: "client-running")
            await Gates.shared.wait("started:\"client-running\"")
            #expect(try await future.cancel())
            #expect(future.isCancelled && future.isDone)
            #expect(future.state == .canceled)
            await #expect(throws: TaskGateError.cancelled) { try await future.result() }
        }
    }

    @Test func cancelOfAQueuedTaskNeedsNoWorker() async throws {
        try await Self.withClient(slots: 1) { client, _ in
            let running = try await client.submit(function: "park", args: "client-occupies-the-slot")
            await Gates.shared.wait("started:\"client-occupies-the-slot\"")
            let queued = try await client.submit(function: "echo", args: "queued")
            #expect(queued.state == .pending)
            #expect(try await queued.cancel())
            #expect(queued.isCancelled)
            #expect(try await running.cancel())
        }
    }

    @Test func cancelOfAFinishedTaskIsANoOp() async throws {
        try await Self.withClient { client, _ in
            let future = try await client.submit(function: "echo", args: ["x": 1])
            #expect(try await future.result() == ["x": 1])
            #expect(try await !future.cancel())
            #expect(!future.isCancelled)
            #expect(try await future.result() == ["x": 1])
        }
    }

    @Test func aClosedClientFailsItsOutstandingFutures() async throws {
        try await withLiveServer(functions: Self.functions) { server, _ in
            try await withTaskGateClient(server) { client in
                let future = try await client.submit(function: "gate", args: "client-abandoned")
                let waiting = Task { try await future.result() }
                try await client.shutdown()
                await #expect(throws: TaskGateError.clientClosed) { try await waiting.value }
                #expect(future.isDone)
                await #expect(throws: TaskGateError.clientClosed) {
                    _ = try await client.submit(function: "echo")
                }
                await Gates.shared.open("\"client-abandoned\"")
            }
        }
    }

    @Test func aServerThatGoesAwayFailsTheOutstandingFuturesWithDisconnected() async throws {
        try await withLiveServer(functions: Self.functions) { server, _ in
            try await withTaskGateClient(server) { client in
                let future = try await client.submit(function: "gate", args: "client-server-gone")
                // The HTTP front door goes away (parked polls are answered first); the scheduler stays.
                server.gateway.beginDrain()
                await yield(until: server.service.server.parked == 0)
                server.service.server.stop()
                await #expect(throws: TaskGateError.disconnected) { try await future.result(timeout: .seconds(30)) }
                #expect(future.isDone && !future.isCancelled)
                #expect(client.outstanding == 0)
                await Gates.shared.open("\"client-server-gone\"")
            }
        }
    }

    @Test func mapGatherAndStarmap() async throws {
        try await Self.withClient { client, _ in
            let futures = try await client.map(function: "echo", (0..<250).map { ["i": $0] })
            let results = try await client.gather(futures)
            #expect(results == (0..<250).map { JSONValue.object(["i": .integer(Int64($0))]) })
            let starred = try await client.starmap(function: "echo", [[1, "a"], [2, "b"]])
            #expect(try await client.gather(starred) == [[1, "a"], [2, "b"]])
            let typed = try await client.submit(function: "echo", args: Point(x: 3, y: 4))
            #expect(try await typed.result(as: Point.self) == Point(x: 3, y: 4))
        }
    }

    @Test func aResultWaitCanTimeOutAndTheFutureGoesOn() async throws {
        try await Self.withClient { client, _ in
            let future = try await client.submit(function: "gate", args: "client-later")
            await #expect(throws: TaskGateError.timeout) { try await future.result(timeout: .milliseconds(50)) }
            await Gates.shared.open("\"client-later\"")
            #expect(try await future.result() == "client-later")
        }
    }

    @Test func cancellingTheAwaitingSwiftTaskStopsOnlyTheWaiting() async throws {
        try await Self.withClient { client, server in
            let future = try await client.submit(function: "gate", args: "client-untouched")
            let waiting = Task { try await future.result() }
            waiting.cancel()
            await #expect(throws: CancellationError.self) { try await waiting.value }
            #expect(!future.isDone)
            #expect(server.scheduler.stats.tasksByState[.running] == 1)
            await Gates.shared.open("\"client-untouched\"")
            #expect(try await future.result() == "client-untouched")
        }
    }

    @Test func tenThousandOutstandingFuturesUseAHandfulOfConnections() async throws {
        try await Self.withClient { client, _ in
            let futures = try await client.map(function: "gate", Array(repeating: "client-many", count: 10_000))
            await yield(until: client.pollConnections >= 10)
            #expect(client.outstanding == 10_000)
            #expect(client.pollConnections <= 12)
            await Gates.shared.open("\"client-many\"")
            let results = try await client.gather(futures)
            #expect(results.count == 10_000 && results.allSatisfy { $0 == "client-many" })
            await yield(until: client.pollConnections == 0)
            #expect(client.outstanding == 0)
        }
    }

    /// The cancel/result race with random timing (seeded, so a failure names what to replay): `cancel()` true ⇒
    /// cancelled, and the server says canceled; false ⇒ the result is there, and the server says succeeded.
    @Test(arguments: 0..<4) func cancelResultRaceKeepsTheInvariant(round: Int) async throws {
        try await Self.withClient { client, _ in
            var random = SplitMix(seed: 0xCA9CE1 &+ UInt64(round))
            for _ in 0..<50 {
                let micros = Int.random(in: 0...1_500, using: &random)
                let future = try await client.submit(
                    function: "sleep", args: ["seconds": .number(Double(micros) / 1e6)])
                try await Task.sleep(for: .microseconds(Int.random(in: 0...1_500, using: &random)))
                if try await future.cancel(timeout: .seconds(30)) {
                    #expect(future.isCancelled)
                    await #expect(throws: TaskGateError.cancelled) { try await future.result(timeout: .seconds(30)) }
                    #expect(try await client.task(future.id).state == .canceled, "seed round \(round)")
                } else {
                    #expect(!future.isCancelled)
                    let result = try await future.result(as: [String: Double].self, timeout: .seconds(30))
                    #expect(result == ["slept_s": Double(micros) / 1e6])
                    #expect(try await client.task(future.id).state == .succeeded, "seed round \(round)")
                }
            }
        }
    }
}

struct Point: Codable, Equatable, Sendable {
    var x: Int
    var y: Int
}

/// Counts callback calls.
final class CallCounter: Sendable {
    private let value = Mutex(0)
    var count: Int { value.withLock { $0 } }
    func add() { value.withLock { $0 += 1 } }
}

/// Runs `body` with a `TaskGateClient` for `server` and shuts the client down however `body` ends (shutting down
/// twice is harmless).
func withTaskGateClient(
    _ server: LiveServer, configure: (inout TaskGateClient.Configuration) -> Void = { _ in },
    isolation: isolated (any Actor)? = #isolation, _ body: (TaskGateClient) async throws -> Void
) async throws {
    var configuration = TaskGateClient.Configuration(baseURL: server.baseURL)
    // A CPU-starved test process can take longer than the default 3 s to see its own loopback connect complete
    // (seen under stress-ng --cpu 2); the tests that are about timeouts set theirs in `configure`.
    configuration.connectTimeout = .seconds(30)
    configure(&configuration)
    let client = TaskGateClient(configuration: configuration)
    do {
        try await body(client)
    } catch {
        try? await client.shutdown()
        throw error
    }
    try await client.shutdown()
}
