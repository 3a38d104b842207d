import TaskGateAPI
import TaskScheduler

extension Gateway {
    /// `GET /healthz`, `/readyz`, `/stats`.
    func health(_ endpoint: String) -> HTTPResponse {
        var writer = JSONWriter()
        writer.beginObject()
        var status = 200
        switch endpoint {
        case "healthz":
            writer.key("status")
            writer.string("ok")
        case "readyz":
            let ready = !scheduler.isDraining
            status = ready ? 200 : 503
            writer.key("status")
            writer.string(ready ? "ready" : "draining")
        default:
            let stats = scheduler.stats
            let counters = stats.counters
            writer.key("tasks")
            writer.fields(TaskState.allCases.map { ($0.rawValue, stats.tasksByState[$0] ?? 0) })
            for (name, value) in [
                ("queued", stats.queued), ("queue_limit", stats.queueLimit), ("workers", stats.workers),
                ("remote_workers", stats.remoteWorkers),
                ("capacity", stats.capacity), ("load", stats.load), ("waiters", stats.waiters),
                ("parked_requests", parked), ("tombstones", stats.tombstones),
            ] {
                writer.dynamicKey(name)
                writer.number(value)
            }
            writer.key("totals")
            writer.fields([
                ("submitted", counters.submitted), ("succeeded", counters.succeeded), ("failed", counters.failed),
                ("canceled", counters.canceled), ("requeued", counters.requeued), ("evicted", counters.evicted),
            ])
        }
        writer.endObject()
        return .json(status, writer.bytes, headers: [("Cache-Control", "no-store")])
    }
}
