import TaskGateAPI

/// The worker's side of the poll: its state machine's poll as a `WirePollRequest`, and a `WirePollResponse` as
/// tasks to run (the codec itself is `TaskGateAPI`'s, shared with the server).
enum WorkerWire {
    /// The body of one poll; `wait` is how long it may park when it waits at all.
    static func pollBody(_ poll: WorkerStateMachine.Poll, wait: Duration) -> [UInt8] {
        var request = WirePollRequest(waitSeconds: poll.waits ? wait.seconds : 0, running: poll.running)
        for report in poll.reports {
            switch report {
            case .result(let id, .success(let json), let logs):
                request.results.append(.init(id: id, outcome: .result(json), logs: logs))
            case .result(let id, .failure(let message), let logs):
                request.results.append(.init(id: id, outcome: .error(message: message), logs: logs))
            case .confirm(let id, let kind): request.confirms.append(.init(id: id, confirm: kind))
            }
        }
        if poll.drain {
            request.drain = true
            request.maxTasks = 0
        }
        return request.encoded()
    }

    /// The tasks to run, the tasks to stop, and the reports refused, from a poll's answer.
    static func pollAnswer(_ body: [UInt8]) throws(WireFormatError) -> (
        tasks: [WorkerTask], cancel: [String], refused: [WirePollResponse.Refusal]
    ) {
        let answer = try WirePollResponse(decoding: body)
        let tasks = answer.tasks.map {
            WorkerTask(
                id: $0.id, function: $0.function, args: $0.args, attempt: $0.attempt, deadline: $0.deadline,
                traceparent: $0.traceparent)
        }
        return (tasks, answer.cancel, answer.refused)
    }
}
