import Foundation
import NIOHTTP1
import Synchronization
import TaskGateAPI

/// Resolves every outstanding future of one client through `POST /tasks/wait` (mode `any`): the futures are
/// split into groups of at most `pollBatchSize` ids, and each group is one long-poll loop on one connection, so
/// 10,000 outstanding futures take about ten connections, not 10,000.
///
/// New futures arriving together are collected into new groups while fewer than `maxPollConnections` loops run;
/// beyond that they top up the smallest group, whose in-flight wait is interrupted so that its next one covers
/// them. A group whose futures are all decided ends its loop.
final class Poller: Sendable {
    struct Group {
        var ids: [String]
        var loop: Task<Void, Never>?
        var inFlight: Task<Transport.Response, any Error>?
        var failures = 0
        /// The in-flight poll was cancelled on purpose (ids were added).
        var interrupted = false
    }

    struct State {
        var futures: [String: TaskFuture] = [:]
        var incoming: [String] = []
        var collecting = false
        var groups: [Int: Group] = [:]
        var nextGroup = 0
        var closed = false
    }

    let transport: Transport
    let pollWait: Duration
    let batchSize: Int
    let maxLoops: Int
    let requestTimeout: Duration
    let retryTimeout: Duration
    let state = Mutex(State())

    init(transport: Transport, configuration: TaskGateClient.Configuration) {
        self.transport = transport
        pollWait = configuration.pollWait
        batchSize = max(1, min(1_000, configuration.pollBatchSize))
        maxLoops = max(1, configuration.maxPollConnections)
        requestTimeout = configuration.requestTimeout
        retryTimeout = configuration.retryTimeout
    }

    /// Futures still watched (tests, stats).
    var outstanding: Int { state.withLock { $0.futures.count } }

    /// Poll loops running right now.
    var loops: Int { state.withLock { $0.groups.count } }

    /// Starts watching `futures` that are not decided yet.
    func watch(_ futures: [TaskFuture]) {
        let (start, closed) = state.withLock { state -> (Bool, Bool) in
            if state.closed { return (false, true) }
            for future in futures where state.futures[future.id] == nil {
                state.futures[future.id] = future
                state.incoming.append(future.id)
            }
            if state.collecting || state.incoming.isEmpty { return (false, false) }
            state.collecting = true
            return (true, false)
        }
        if closed { for future in futures { future.fail(.clientClosed) } }
        if start { Task { await self.collect() } }
    }

    /// Stops watching a future (it was decided some other way).
    func forget(_ id: String) {
        _ = state.withLock { $0.futures.removeValue(forKey: id) }
    }

    /// Fails every watched future with `error` and stops every loop.
    func close(failing error: TaskGateError) {
        let (futures, tasks) = state.withLock { state -> ([TaskFuture], [Task<Void, Never>]) in
            state.closed = true
            let futures = Array(state.futures.values)
            state.futures.removeAll()
            state.incoming.removeAll()
            var tasks: [Task<Void, Never>] = []
            for group in state.groups.values {
                group.inFlight?.cancel()
                if let loop = group.loop { tasks.append(loop) }
            }
            return (futures, tasks)
        }
        for task in tasks { task.cancel() }
        for future in futures { future.fail(error) }
    }

    /// Waits until every loop has ended (after `close`).
    func join() async {
        let loops = state.withLock { $0.groups.values.compactMap(\.loop) }
        for loop in loops { await loop.value }
    }

    /// Turns the futures that arrived since the last run into groups (after one yield, so a burst of submissions
    /// lands in one group).
    private func collect() async {
        await Task.yield()
        let interrupted = state.withLock { state -> [Task<Transport.Response, any Error>] in
            state.collecting = false
            var ids = state.incoming.filter { state.futures[$0] != nil }
            state.incoming.removeAll()
            var started: [Int] = []
            var interrupted: [Task<Transport.Response, any Error>] = []
            while !ids.isEmpty {
                if state.groups.count >= maxLoops,
                    let (id, group) = state.groups.min(by: { $0.value.ids.count < $1.value.ids.count }),
                    group.ids.count < batchSize
                {
                    let take = min(batchSize - group.ids.count, ids.count)
                    state.groups[id]!.ids.append(contentsOf: ids.prefix(take))
                    ids.removeFirst(take)
                    if let inFlight = group.inFlight {
                        state.groups[id]!.interrupted = true
                        interrupted.append(inFlight)
                    }
                    continue
                }
                let take = min(batchSize, ids.count)
                let id = state.nextGroup
                state.nextGroup += 1
                state.groups[id] = Group(ids: Array(ids.prefix(take)))
                ids.removeFirst(take)
                started.append(id)
            }
            for id in started { state.groups[id]!.loop = Task { await self.run(group: id) } }
            return interrupted
        }
        for request in interrupted { request.cancel() }
    }

    /// One group's long-poll loop.
    private func run(group id: Int) async {
        while true {
            let next = state.withLock { state -> (ids: [String], retrying: Bool)? in
                guard !state.closed, var group = state.groups[id] else { return nil }
                group.ids.removeAll { state.futures[$0] == nil }
                if group.ids.isEmpty {
                    state.groups[id] = nil
                    return nil
                }
                group.interrupted = false
                state.groups[id] = group
                return (group.ids, group.failures > 0)
            }
            guard let (ids, retrying) = next else { return }
            // After a failure, ask for an immediate answer with a short deadline: a dead server is noticed in
            // seconds, not after a whole long-poll.
            let wait = retrying ? Duration.zero : pollWait
            let body = WireWaitRequest(ids: ids, timeoutSeconds: wait.seconds).encoded()
            let transport = transport
            let timeout = retrying ? retryTimeout : pollWait + requestTimeout
            let request = Task {
                try await transport.send(.POST, "/tasks/wait", body: body, headers: Transport.minimal, timeout: timeout)
            }
            let interruptedEarly = state.withLock { state -> Bool in
                guard state.groups[id] != nil, !state.closed else { return true }
                state.groups[id]!.inFlight = request
                // Ids added after `ids` was read: this wait does not cover them, so it is interrupted on purpose.
                state.groups[id]!.interrupted = state.groups[id]!.ids.count != ids.count
                return state.groups[id]!.interrupted
            }
            if interruptedEarly { request.cancel() }
            let result = await request.result
            state.withLock { $0.groups[id]?.inFlight = nil }
            switch result {
            case .success(let response) where response.status == 200:
                guard let answer = try? transport.read(response, WireTaskStatus.waitResult(json:)) else {
                    await failed(
                        group: id, .invalidResponse("POST /tasks/wait answered a body that is not a WaitResult"))
                    continue
                }
                deliver(answer, group: id)
            case .success(let response):
                await failed(group: id, .server(transport.problem(response)))
            case .failure(let error as TaskGateError):
                await failed(group: id, error)
            case .failure:
                // Interrupted on purpose (ids added) or closing: the next round decides. Otherwise the request was
                // cancelled underneath us, which counts as a failed round.
                let expected = state.withLock { $0.closed || $0.groups[id]?.interrupted != false }
                if !expected { await failed(group: id, .disconnected("the poll was cancelled")) }
            }
        }
    }

    private func deliver(
        _ answer: (tasks: [WireTaskStatus], pending: [String], notFound: [String], expired: [String]), group id: Int
    ) {
        let (done, missing, expired) = state.withLock { state in
            state.groups[id]?.failures = 0
            return (
                answer.tasks.compactMap { task in state.futures[task.id].map { ($0, task) } },
                answer.notFound.compactMap { state.futures[$0] },
                answer.expired.compactMap { state.futures[$0] }
            )
        }
        for (future, task) in done { future.receive(task) }
        for future in missing { future.fail(.taskNotFound) }
        for future in expired { future.fail(.taskExpired) }
    }

    /// A round failed: retry with backoff (50 ms, 100 ms, 200 ms; each retry an immediate poll with a
    /// `retryTimeout` deadline), then fail the group's futures.
    private func failed(group id: Int, _ error: TaskGateError) async {
        let (attempt, futures) = state.withLock { state -> (Int, [TaskFuture]) in
            guard state.groups[id] != nil else { return (0, []) }
            state.groups[id]!.failures += 1
            let attempt = state.groups[id]!.failures
            guard attempt > 3 else { return (attempt, []) }
            return (attempt, state.groups[id]!.ids.compactMap { state.futures[$0] })
        }
        guard futures.isEmpty else {
            for future in futures { future.fail(error) }
            return
        }
        if attempt > 0 { try? await Task.sleep(for: .milliseconds(25 << attempt)) }
    }
}
