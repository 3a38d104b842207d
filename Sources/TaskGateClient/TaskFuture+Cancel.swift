import NIOHTTP1
import TaskGateAPI

extension TaskFuture {
    /// Cancels the task: sends `DELETE /tasks/{id}` and waits up to `timeout` (default the client's
    /// `cancelTimeout`, 30 s) for the worker's confirm.
    ///
    /// Returns true — and the future is cancelled — when the server confirms `canceled`, answers that it has no
    /// such task (`cancel_not_found`), or the confirm does not come in time. Returns false when the task finished
    /// first or its worker cannot stop it (`cancel_failed`, 409): the future then resolves with the task's result,
    /// from the 409's body or later. A result that reaches the future while the cancel is pending does not decide
    /// it; the cancel's answer does. On a finished future it returns at once whether that outcome was a cancel.
    /// Throws if the `DELETE` itself fails; the future then goes on as if no cancel had been asked.
    public func cancel(timeout: Duration? = nil) async throws -> Bool {
        let wait = timeout ?? client.configuration.cancelTimeout
        let start = settle { ($0.startCancel(), false) }
        if case .decided(let cancelled) = start { return cancelled }
        var answer = FutureStateMachine.CancelAnswer.failed
        var failure: (any Error)?
        do {
            let response = try await client.transport.send(
                .DELETE, "/tasks/\(id)?wait=\(Self.format(wait))", timeout: wait + client.configuration.requestTimeout)
            switch response.status {
            case 200: answer = .canceled
            case 202: answer = .timedOut
            case 404, 410: answer = .notFound
            case 409: answer = .cancelFailed(client.transport.problem(response).task.map(WireTaskStatus.init))
            default: failure = TaskGateError.server(client.transport.problem(response))
            }
        } catch {
            failure = error
        }
        let cancelled = settle { machine in
            let (cancelled, decided) = machine.cancelAnswered(answer)
            return (cancelled, decided)
        }
        if let failure { throw failure }
        return cancelled
    }

    /// Seconds for a `wait` query parameter (milliseconds precision, at least 0).
    static func format(_ duration: Duration) -> String {
        let millis = max(0, duration.nanoseconds / 1_000_000)
        return millis % 1000 == 0 ? "\(millis / 1000)" : "\(Double(millis) / 1000)"
    }
}
