import TaskGateAPI
import TaskScheduler

/// The JSON of the worker API (the `Worker` and `PollResponse` schemas of openapi.yaml), written without Foundation.
enum WorkerJSON {
    /// Writes one worker object; `pollWait` is the longest poll wait its lease allows; `secret` only in the answer
    /// to its registration.
    static func write(
        _ worker: WorkerRecord, pollWait: Duration?, secret: String? = nil, into writer: inout JSONWriter
    ) {
        writer.beginObject()
        if let secret {
            writer.key("secret")
            writer.string(secret)
        }
        writer.key("id")
        writer.string(worker.id.description)
        writer.key("name")
        writer.string(worker.name)
        writer.key("kind")
        writer.string(worker.lease == nil ? "in-process" : "remote")
        writer.key("functions")
        writer.beginArray()
        for function in worker.functions.sorted() { writer.string(function) }
        writer.endArray()
        writer.key("capacity")
        writer.number(worker.capacity)
        writer.key("load")
        writer.number(worker.load)
        writer.key("draining")
        writer.bool(worker.draining)
        if let lease = worker.lease {
            writer.key("lease_s")
            writer.number(lease.seconds)
        }
        if let pollWait {
            writer.key("max_wait_s")
            writer.number(pollWait.seconds)
        }
        writer.key("registered_at")
        writer.timestamp(nanosecondsSinceEpoch: worker.registeredAt.nanoseconds)
        writer.key("last_seen_at")
        writer.timestamp(nanosecondsSinceEpoch: worker.lastSeenAt.nanoseconds)
        writer.endObject()
    }

    /// The answer of a poll (written by `WirePollResponse`): the tasks to run, the tasks to stop, and the reports
    /// that were refused. The acks in `mail` are in report order; `results` and `confirms` give the task id of
    /// report N.
    static func pollResponse(
        _ mail: WorkerMail, results: (Int) -> TaskID, confirms: (Int) -> TaskID, retryAfter: Bool = false
    ) -> HTTPResponse {
        var answer = WirePollResponse()
        answer.tasks.reserveCapacity(mail.assignments.count)
        for assignment in mail.assignments {
            answer.tasks.append(
                WirePollResponse.Assignment(
                    id: assignment.taskID.description, function: assignment.function, args: assignment.args.bytes,
                    attempt: assignment.attempt,
                    deadline: assignment.deadline.map { RFC3339.format(nanosecondsSinceEpoch: $0.nanoseconds) },
                    traceparent: assignment.traceparent))
        }
        answer.cancel = mail.cancelRequests.map(\.description)
        for (index, ack) in mail.resultAcks.enumerated() where ack == .notHolder {
            answer.refused.append(.init(id: results(index).description, report: "result", code: "not_holder"))
        }
        for (index, ack) in mail.confirmAcks.enumerated() where ack == .notHolder {
            answer.refused.append(.init(id: confirms(index).description, report: "confirm", code: "not_holder"))
        }
        let headers: [(name: String, value: String)] =
            retryAfter ? [("Cache-Control", "no-store"), ("Retry-After", "1")] : [("Cache-Control", "no-store")]
        return .json(200, answer.encoded(), headers: headers)
    }
}
