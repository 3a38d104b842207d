import TaskGateAPI
import TaskScheduler

/// The body of a completion webhook, as the Standard Webhooks specification suggests (`type`, `timestamp`, `data`):
/// `{"type": "task.succeeded", "timestamp": "…", "data": <the task as GET /tasks/{id} shows it>}`.
package enum WebhookBody {
    /// The body for `record` (a finished task), stamped `at`.
    package static func render(_ record: TaskRecord, at time: Timestamp) -> [UInt8] {
        var writer = JSONWriter(capacity: 512 + record.args.count + (record.result?.count ?? 0))
        writer.beginObject()
        writer.key("type")
        writer.string("task.\(record.state.rawValue)")
        writer.key("timestamp")
        writer.timestamp(nanosecondsSinceEpoch: time.nanoseconds)
        writer.key("data")
        TaskJSON.write(record, into: &writer)
        writer.endObject()
        return writer.bytes
    }
}
