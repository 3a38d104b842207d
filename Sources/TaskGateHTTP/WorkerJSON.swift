import TaskGateAPI
import TaskScheduler

/// The JSON of the worker API (the `Worker` and `PollResponse` schemas of openapi.yaml), written without Foundation.
enum WorkerJSON {
    /// Writes one worker object; `pollWait` is the longest poll wait its lease allows.
    static func write(_ worker: WorkerRecord, pollWait: Duration?, into writer: inout JSONWriter) {
        writer.beginObject()
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

    /// The answer of a poll: the tasks to run, the tasks to stop, and the reports that were refused. The acks in
    /// `mail` are in report order; `results` and `confirms` give the task id of report N.
    static func pollResponse(
        _ mail: WorkerMail, results: (Int) -> TaskID, confirms: (Int) -> TaskID, retryAfter: Bool = false
    ) -> HTTPResponse {
        var writer = JSONWriter(capacity: 64 + mail.assignments.reduce(0) { $0 + 160 + $1.args.count })
        writer.beginObject()
        writer.key("tasks")
        writer.beginArray()
        for assignment in mail.assignments {
            writer.beginObject()
            writer.key("id")
            writer.plainString(count: 16) { assignment.taskID.writeHex(into: $0) }
            writer.key("function")
            writer.string(assignment.function)
            writer.key("args")
            writer.raw(assignment.args.bytes)
            writer.key("attempt")
            writer.number(assignment.attempt)
            if let deadline = assignment.deadline {
                writer.key("deadline")
                writer.timestamp(nanosecondsSinceEpoch: deadline.nanoseconds)
            }
            writer.endObject()
        }
        writer.endArray()
        writer.key("cancel")
        writer.beginArray()
        for id in mail.cancelRequests { writer.plainString(count: 16) { id.writeHex(into: $0) } }
        writer.endArray()
        writer.key("refused")
        writer.beginArray()
        for (index, ack) in mail.resultAcks.enumerated() where ack == .notHolder {
            writeRefusal(results(index), "result", into: &writer)
        }
        for (index, ack) in mail.confirmAcks.enumerated() where ack == .notHolder {
            writeRefusal(confirms(index), "confirm", into: &writer)
        }
        writer.endArray()
        writer.endObject()
        let headers: [(name: String, value: String)] =
            retryAfter ? [("Cache-Control", "no-store"), ("Retry-After", "1")] : [("Cache-Control", "no-store")]
        return .json(200, writer.bytes, headers: headers)
    }

    private static func writeRefusal(_ id: TaskID, _ report: StaticString, into writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("id")
        writer.plainString(count: 16) { id.writeHex(into: $0) }
        writer.key("report")
        writer.string(report.description)
        writer.key("code")
        writer.string("not_holder")
        writer.endObject()
    }
}
