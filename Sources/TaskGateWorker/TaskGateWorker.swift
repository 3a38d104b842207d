import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import TaskGateAPI
import TaskGateClient

#if canImport(Glibc)
    import Glibc
#endif

/// A remote worker: registers its handlers with a taskgate server, long-polls for tasks, runs up to `capacity` at
/// once, reports results and cancel confirms, and on graceful shutdown drains (takes no new tasks, finishes the
/// running ones within `drainGrace`) and leaves.
///
/// A cancel request cancels the handler's Swift task (cooperative); the worker confirms `canceled` when the
/// handler stops with `CancellationError`, or reports its result when it finishes anyway.
public final class TaskGateWorker: Service, Sendable {
    /// How the worker runs.
    public struct Configuration: Sendable {
        /// The server, e.g. `http://127.0.0.1:8080`.
        public var baseURL: String
        /// A bearer token, sent as `Authorization: Bearer …` when set.
        public var token: String?
        /// The name shown in `GET /workers`.
        public var name = "swift-worker"
        /// Tasks run at once.
        public var capacity = 4
        /// How long the server waits for a poll before it declares this worker dead.
        public var lease: Duration = .seconds(10)
        /// How long a poll waits on the server; nil for as long as the lease allows (half of it).
        public var pollWait: Duration?
        /// On graceful shutdown, how long running tasks may take before they are cancelled.
        public var drainGrace: Duration = .seconds(30)
        /// After that, how long cancelled tasks have to stop before the worker leaves anyway.
        public var stopGrace: Duration = .seconds(5)
        /// How long establishing a connection may take.
        public var connectTimeout: Duration = .seconds(3)
        /// The first wait before retrying after a failed request; it doubles up to 2 s.
        public var retryDelay: Duration = .milliseconds(100)
        /// For an `https://` server: a PEM file of the CA certificates to trust; nil trusts the system's roots.
        public var caFile: String?

        /// Defaults for the server at `baseURL`.
        public init(baseURL: String, token: String? = nil) {
            self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
            self.token = token
        }
    }

    struct State {
        var machine = WorkerStateMachine()
        var workerID: String?
        var maxWait: Duration = .seconds(5)
        var running: [String: Task<Void, Never>] = [:]
        /// Bumped whenever the server forgets this worker: work of an older generation is ignored.
        var generation = 0
        var registering = false
        var stopped = false
        var failures = 0
        var registrationWaiters: [CheckedContinuation<String, Never>] = []
        /// The registration's secret, sent with every poll and the leave (`TaskGate-Worker-Secret`).
        var secret: String?
    }

    /// How the worker runs.
    public let configuration: Configuration
    let handlers: WorkerHandlers
    let logger: Logger
    let transport: Transport
    let state = Mutex(State())

    /// A worker for `handlers`; `run()` starts it.
    public init(configuration: Configuration, handlers: WorkerHandlers, logger: Logger) {
        precondition(!handlers.names.isEmpty, "a worker needs at least one handler")
        self.configuration = configuration
        self.handlers = handlers
        self.logger = logger
        self.transport = Transport(
            baseURL: configuration.baseURL, token: configuration.token, maxConnections: 4,
            connectTimeout: configuration.connectTimeout, maxResponseBytes: 64 << 20, caFile: configuration.caFile)
    }

    /// The id the server gave this worker, once registered.
    public var workerID: String? { state.withLock { $0.workerID } }

    /// Waits until the worker is registered (at once if it is) and returns its id.
    public func registered() async -> String {
        await withCheckedContinuation { continuation in
            let id = state.withLock { state -> String? in
                if let id = state.workerID { return id }
                state.registrationWaiters.append(continuation)
                return nil
            }
            if let id { continuation.resume(returning: id) }
        }
    }

    /// Tasks running now.
    public var runningCount: Int { state.withLock { $0.running.count } }

    /// Registers, works until graceful shutdown (or cancellation), then drains and leaves.
    public func run() async throws {
        // A command whose stdin closed early must not kill the worker with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        do {
            try await register()
            pump()
            try? await gracefulShutdown()
            // Cancellation ends the wait above; the drain itself must still be able to sleep and send.
            await Task { await self.drainAndLeave() }.value
        } catch {
            await stopAll()
            transport.shutdown()
            throw error
        }
        transport.shutdown()
    }

    /// `POST /workers`, retried until it succeeds; throws only `CancellationError`.
    func register() async throws {
        let registration = WireWorkerRegistration(
            name: configuration.name, functions: handlers.names, capacity: configuration.capacity,
            leaseSeconds: configuration.lease.seconds)
        let body = try JSONEncoder().encode(registration)
        var delay = configuration.retryDelay
        while true {
            try Task.checkCancellation()
            do {
                let response = try await transport.send(
                    .POST, "/workers", body: Array(body), timeout: configuration.connectTimeout + .seconds(10))
                if response.status == 201 {
                    let worker = try transport.decode(WireWorker.self, from: response)
                    let serverWait = worker.maxWaitSeconds.map { Duration.seconds($0) } ?? .seconds(5)
                    let waiters = state.withLock { state in
                        state.workerID = worker.id
                        state.secret = worker.secret
                        state.maxWait = min(configuration.pollWait ?? serverWait, serverWait)
                        state.registering = false
                        defer { state.registrationWaiters.removeAll() }
                        return state.registrationWaiters
                    }
                    for waiter in waiters { waiter.resume(returning: worker.id) }
                    logger.info(
                        "worker registered",
                        metadata: ["worker.id": "\(worker.id)", "worker.functions": "\(handlers.names)"])
                    return
                }
                let problem = transport.problem(response)
                logger.warning(
                    "worker registration refused",
                    metadata: ["http.status": "\(response.status)", "problem.detail": "\(problem.detail)"])
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                logger.warning("worker registration failed", metadata: ["error": "\(error)"])
            }
            try await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(2))
        }
    }

    /// Sends every poll the state machine wants now.
    func pump() {
        let polls = state.withLock { state -> [(WorkerStateMachine.Poll, String, Duration, Int)] in
            guard let id = state.workerID, !state.stopped, !state.registering else { return [] }
            var polls: [(WorkerStateMachine.Poll, String, Duration, Int)] = []
            while let poll = state.machine.nextPoll() { polls.append((poll, id, state.maxWait, state.generation)) }
            return polls
        }
        for (poll, id, wait, generation) in polls {
            Task { await self.send(poll, worker: id, wait: wait, generation: generation) }
        }
    }

    /// One poll: send it, act on the answer, then pump again.
    private func send(_ poll: WorkerStateMachine.Poll, worker id: String, wait: Duration, generation: Int) async {
        let body = WorkerWire.pollBody(poll, wait: wait)
        defer { pump() }
        let response: Transport.Response
        do {
            response = try await transport.send(
                .POST, "/workers/\(id)/poll", body: body, headers: secretHeader(), timeout: wait + .seconds(10))
        } catch {
            guard !state.withLock({ $0.stopped }) else { return }
            let delay = state.withLock { state -> Duration in
                state.failures += 1
                return min(configuration.retryDelay * (1 << min(state.failures - 1, 5)), .seconds(2))
            }
            logger.warning("worker poll failed", metadata: ["worker.id": "\(id)", "error": "\(error)"])
            try? await Task.sleep(for: delay)
            state.withLock { state in
                if state.generation == generation { state.machine.pollFailed(poll) }
            }
            return
        }
        switch response.status {
        case 200:
            let answer: (tasks: [WorkerTask], cancel: [String], refused: [WirePollResponse.Refusal])
            do {
                answer = try WorkerWire.pollAnswer(response.body)
            } catch {
                logger.error("worker poll answer unreadable", metadata: ["error": "\(error)"])
                answer = ([], [], [])
            }
            if !answer.refused.isEmpty {
                logger.warning(
                    "worker reports refused",
                    metadata: ["worker.refused": "\(answer.refused.map { "\($0.report) \($0.id): \($0.code)" })"])
            }
            if let retryAfter = response.headers.first(name: "Retry-After").flatMap(Double.init), retryAfter > 0 {
                // The server is draining: it answers polls at once, so do not come back at once.
                try? await Task.sleep(for: .seconds(min(retryAfter, 5)))
            }
            perform(answer.tasks, answer.cancel, poll: poll, generation: generation)
        case 404, 409:
            guard !state.withLock({ $0.stopped }) else { return }
            logger.warning("worker no longer registered; registering again", metadata: ["worker.id": "\(id)"])
            await reregister(generation: generation)
        default:
            let problem = transport.problem(response)
            logger.error(
                "worker poll refused; its reports are dropped",
                metadata: ["http.status": "\(response.status)", "problem.detail": "\(problem.detail)"])
            try? await Task.sleep(for: configuration.retryDelay)
            perform([], [], poll: poll, generation: generation)
        }
    }

    /// Starts the assigned tasks and cancels the requested ones.
    private func perform(_ tasks: [WorkerTask], _ cancel: [String], poll: WorkerStateMachine.Poll, generation: Int) {
        let toCancel = state.withLock { state -> [Task<Void, Never>] in
            guard state.generation == generation else { return [] }
            state.failures = 0
            var toCancel: [Task<Void, Never>] = []
            for action in state.machine.pollAnswered(poll, tasks: tasks, cancel: cancel) {
                switch action {
                case .start(let task):
                    // Stored under the lock, before it can finish and remove itself.
                    state.running[task.id] = Task {
                        let log = WorkerLog.Buffer()
                        let outcome = await WorkerLog.$current.withValue(log) {
                            await Self.execute(self.handlers[task.function], task)
                        }
                        self.finished(task.id, outcome, logs: log.lines, generation: generation)
                    }
                case .cancel(let id):
                    if let running = state.running[id] { toCancel.append(running) }
                }
            }
            return toCancel
        }
        for task in toCancel { task.cancel() }
    }

    /// Runs one handler and classifies how it ended.
    static func execute(_ handler: WorkerHandler?, _ task: WorkerTask) async -> WorkerStateMachine.Outcome {
        guard let handler else { return .failure("this worker has no function '\(task.function)'") }
        do {
            let output = try await handler(task)
            guard (try? JSONScanner.validate(output)) != nil else {
                return .failure("the function returned bytes that are not one JSON value")
            }
            return .success(output)
        } catch {
            if Task.isCancelled { return .cancelled }
            return .failure(String(describing: error))
        }
    }

    private func finished(_ id: String, _ outcome: WorkerStateMachine.Outcome, logs: [String], generation: Int) {
        state.withLock { state in
            guard state.generation == generation else { return }
            state.running[id] = nil
            state.machine.taskFinished(id: id, outcome, logs: logs)
        }
        pump()
    }

    /// The server forgot this worker (it missed its lease, or the server restarted): stop what runs — the
    /// server already gave it to others — and register again.
    private func reregister(generation: Int) async {
        let stale = state.withLock { state -> [Task<Void, Never>]? in
            guard state.generation == generation, !state.registering, !state.stopped else { return nil }
            state.registering = true
            state.generation += 1
            state.workerID = nil
            _ = state.machine.reset()
            defer { state.running.removeAll() }
            return Array(state.running.values)
        }
        guard let stale else { return }
        for task in stale { task.cancel() }
        do {
            try await register()
        } catch {
            return
        }
    }

    /// Graceful shutdown: take no new tasks, let the running ones finish within `drainGrace` (cancel them after
    /// it), report everything, then `DELETE /workers/{id}` (what is left goes back to the queue).
    func drainAndLeave() async {
        state.withLock { $0.machine.beginDrain() }
        logger.info("worker draining", metadata: ["worker.running": "\(runningCount)"])
        pump()
        if !(await waitUntilDrained(within: configuration.drainGrace)) {
            let running = state.withLock { Array($0.running.values) }
            logger.warning("worker drain grace over; cancelling", metadata: ["worker.running": "\(running.count)"])
            for task in running { task.cancel() }
            _ = await waitUntilDrained(within: configuration.stopGrace)
        }
        await stopAll()
    }

    /// The registration's secret as a header, when the server gave one.
    private func secretHeader() -> [(String, String)] {
        state.withLock { $0.secret }.map { [("TaskGate-Worker-Secret", $0)] } ?? []
    }

    /// Stops polling and leaves the server.
    private func stopAll() async {
        let (id, running) = state.withLock { state -> (String?, [Task<Void, Never>]) in
            state.stopped = true
            return (state.workerID, Array(state.running.values))
        }
        for task in running { task.cancel() }
        guard let id else { return }
        do {
            let response = try await transport.send(
                .DELETE, "/workers/\(id)", headers: secretHeader(), timeout: .seconds(5))
            logger.info("worker left", metadata: ["worker.id": "\(id)", "http.status": "\(response.status)"])
        } catch {
            logger.warning("worker could not say goodbye", metadata: ["worker.id": "\(id)", "error": "\(error)"])
        }
    }

    /// Checks every 10 ms, up to `limit`, whether the drain is complete.
    private func waitUntilDrained(within limit: Duration) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        while clock.now < deadline {
            if state.withLock({ $0.machine.isDrained || $0.workerID == nil }) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return state.withLock { $0.machine.isDrained }
    }
}
