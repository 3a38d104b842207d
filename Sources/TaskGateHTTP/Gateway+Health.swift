import TaskGateAPI
import TaskGateStore
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
            writer.key("durability")
            writer.string(durability.rawValue)
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
                ("parked_requests", parked), ("event_streams", events.streams), ("tombstones", stats.tombstones),
                ("callbacks_pending", stats.pendingCallbacks),
            ] {
                writer.dynamicKey(name)
                writer.number(value)
            }
            writer.key("totals")
            writer.fields([
                ("submitted", counters.submitted), ("succeeded", counters.succeeded), ("failed", counters.failed),
                ("canceled", counters.canceled), ("requeued", counters.requeued), ("evicted", counters.evicted),
            ])
            writeStore(into: &writer)
        }
        writer.endObject()
        return .json(status, writer.bytes, headers: [("Cache-Control", "no-store")])
    }

    /// `/stats`' `store` object: the mode, and for a durable store its directory, health and counts.
    private func writeStore(into writer: inout JSONWriter) {
        writer.key("store")
        writer.beginObject()
        writer.key("durability")
        writer.string(durability.rawValue)
        if let store {
            let counts = store.statistics
            let failure = store.failure
            writer.key("path")
            writer.string(store.path)
            writer.key("healthy")
            writer.bool(failure == nil)
            writer.key("error")
            if let failure { writer.string(failure.description) } else { writer.null() }
            writer.key("commits")
            writer.number(counts.commits)
            writer.key("changes")
            writer.number(counts.stored)
            writer.key("failed_commits")
            writer.number(counts.failedCommits)
        }
        writer.endObject()
    }
}
