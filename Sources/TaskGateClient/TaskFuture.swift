import Foundation
import Synchronization
import TaskGateAPI

/// A task submitted through a `TaskGateClient`: its outcome once the server has it, with Scaler's future semantics
/// (`cancel` asks the server and waits for the confirm; a cancelled future stays cancelled).
///
/// The client's background poller resolves every outstanding future; a future holds no connection of its own.
public final class TaskFuture: Sendable, Hashable, CustomStringConvertible {
    struct Box {
        var machine: FutureStateMachine
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
        var callbacks: [@Sendable (TaskFuture) -> Void] = []
        /// Waiters released (timeout, Swift task cancelled) before they were registered.
        var released: Set<UInt64> = []
    }

    /// The task's id on the server.
    public let id: String
    /// The function the task runs.
    public let function: String
    let client: TaskGateClient
    let box: Mutex<Box>

    init(task: WireTaskStatus, client: TaskGateClient) {
        id = task.id
        function = task.function
        self.client = client
        var machine = FutureStateMachine(state: task.state)
        _ = machine.received(task)
        box = Mutex(Box(machine: machine))
    }

    /// The task's state as last seen (the outcome's state once decided).
    public var state: WireTaskState { box.withLock { $0.machine.lastKnown } }

    /// Whether the outcome is decided.
    public var isDone: Bool { box.withLock { $0.machine.outcome != nil } }

    /// Whether the future ended cancelled.
    public var isCancelled: Bool { box.withLock { $0.machine.isCancelled } }

    /// `TaskFuture(id, state)`.
    public var description: String { "TaskFuture(\(id), \(state.rawValue))" }

    /// The result: returns once the task succeeded; throws `TaskGateError.taskFailed` (with the task's error),
    /// `.cancelled`, `.taskNotFound`, `.taskExpired`, `.clientClosed` or `.disconnected`; throws `.timeout` when
    /// `timeout` passes first (the future goes on). Cancelling the calling Swift task stops the waiting only
    /// (`CancellationError`); the task on the server is untouched — that is `cancel()`'s job.
    public func result(timeout: Duration? = nil) async throws -> JSONValue {
        try await waitForOutcome(timeout: timeout)
        switch box.withLock({ $0.machine.outcome }) {
        case .success(let value): return value
        case .failure(let error): throw error
        case .cancelled: throw TaskGateError.cancelled
        case nil: throw TaskGateError.timeout
        }
    }

    /// The result decoded as `T` (from its JSON).
    public func result<T: Decodable>(as type: T.Type, timeout: Duration? = nil) async throws -> T {
        let value = try await result(timeout: timeout)
        do {
            return try JSONDecoder().decode(T.self, from: JSONEncoder().encode(value))
        } catch {
            throw TaskGateError.invalidResponse("the result is not a \(T.self): \(error)")
        }
    }

    /// Runs `callback` once the outcome is decided — exactly once, at once if it already is (on the caller's
    /// thread then; otherwise on the thread that decided it).
    public func onCompletion(_ callback: @escaping @Sendable (TaskFuture) -> Void) {
        let now = box.withLock { box -> Bool in
            if box.machine.outcome != nil { return true }
            box.callbacks.append(callback)
            return false
        }
        if now { callback(self) }
    }

    /// Waits until the outcome is decided, `timeout` passes, or the calling task is cancelled.
    func waitForOutcome(timeout: Duration?) async throws {
        if isDone { return }
        let waiter = box.withLock { box -> UInt64 in
            defer { box.nextWaiter += 1 }
            return box.nextWaiter
        }
        let timer = timeout.map { timeout in
            Task { [self] in
                try? await Task.sleep(for: timeout)
                release(waiter)
            }
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = box.withLock { box -> Bool in
                    if box.machine.outcome != nil || box.released.remove(waiter) != nil { return true }
                    box.waiters[waiter] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            release(waiter)
        }
        timer?.cancel()
        box.withLock { _ = $0.released.remove(waiter) }
        if !isDone, Task.isCancelled { throw CancellationError() }
    }

    /// Resumes a waiter early (its timeout passed, or its Swift task was cancelled) — also one that is not
    /// registered yet: it then returns as soon as it registers.
    private func release(_ waiter: UInt64) {
        let continuation = box.withLock { box -> CheckedContinuation<Void, Never>? in
            guard let continuation = box.waiters.removeValue(forKey: waiter) else {
                box.released.insert(waiter)
                return nil
            }
            return continuation
        }
        continuation?.resume()
    }

    /// The task as the server showed it (a poll, a submit's answer).
    func receive(_ task: WireTaskStatus) {
        settle { ((), $0.received(task)) }
    }

    /// The outcome cannot be learned.
    func fail(_ error: TaskGateError) {
        settle { ((), $0.failed(error)) }
    }

    /// Runs one state-machine event under the lock; if it decided the outcome, wakes the waiters, runs the
    /// callbacks and tells the poller to stop watching (before anything else) — all outside the lock.
    @discardableResult
    func settle<R>(_ event: (inout FutureStateMachine) -> (R, decided: Bool)) -> R {
        let (result, decided, waiters, callbacks) = box.withLock { box in
            let (result, decided) = event(&box.machine)
            guard decided else {
                return (result, false, [CheckedContinuation<Void, Never>](), [@Sendable (TaskFuture) -> Void]())
            }
            defer {
                box.waiters.removeAll()
                box.callbacks.removeAll()
            }
            return (result, true, Array(box.waiters.values), box.callbacks)
        }
        guard decided else { return result }
        // The poller lets go first, so whoever the outcome wakes already sees the future as no longer watched.
        client.poller.forget(id)
        for waiter in waiters { waiter.resume() }
        for callback in callbacks { callback(self) }
        return result
    }

    /// Identity.
    public static func == (lhs: TaskFuture, rhs: TaskFuture) -> Bool { lhs === rhs }

    /// Identity.
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}
