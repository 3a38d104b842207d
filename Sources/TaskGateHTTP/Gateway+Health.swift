import TaskGateAPI
import TaskScheduler

extension Gateway {
    /// `GET /healthz`, `/readyz`, `/stats`.
    func health(_ endpoint: String) -> HTTPResponse {
        var writer = JSONWriter()
        writer.beginObject()
        switch endpoint {
        case "healthz":
            writer.key("status")
            writer.string("ok")
            writer.endObject()
            return .json(200, writer.bytes, headers: [("Cache-Control", "no-store")])
        case "readyz":
            let ready = !draining.load(ordering: .relaxed)
            writer.key("status")
            writer.string(ready ? "ready" : "draining")
            writer.endObject()
            return .json(ready ? 200 : 503, writer.bytes, headers: [("Cache-Control", "no-store")])
        default:
            let stats = scheduler.stats
            writer.key("tasks")
            writer.beginObject()
            for state in TaskState.allCases {
                writer.key(state.rawValue)
                writer.number(stats.tasksByState[state] ?? 0)
            }
            writer.endObject()
            writer.key("queued")
            writer.number(stats.queued)
            writer.key("queue_limit")
            writer.number(stats.queueLimit)
            writer.key("workers")
            writer.number(stats.workers)
            writer.key("capacity")
            writer.number(stats.capacity)
            writer.key("load")
            writer.number(stats.load)
            writer.key("waiters")
            writer.number(stats.waiters)
            writer.key("parked_requests")
            writer.number(parked)
            writer.key("tombstones")
            writer.number(stats.tombstones)
            writer.key("totals")
            writer.beginObject()
            let counters = stats.counters
            for (name, value) in [
                ("submitted", counters.submitted), ("succeeded", counters.succeeded), ("failed", counters.failed),
                ("canceled", counters.canceled), ("requeued", counters.requeued), ("evicted", counters.evicted),
            ] {
                writer.key(name)
                writer.number(value)
            }
            writer.endObject()
            writer.endObject()
            return .json(200, writer.bytes, headers: [("Cache-Control", "no-store")])
        }
    }
}
