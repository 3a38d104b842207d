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
            writeOverview(scheduler.overview(maxFunctions: 1_000), into: &writer)
        }
        writer.endObject()
        return .json(status, writer.bytes, headers: [("Cache-Control", "no-store")])
    }

    /// `/stats`' `functions` (live and total counts per function) and `recent_failures` (the latest failed tasks
    /// still retained, newest first, with their error).
    private func writeOverview(_ overview: SchedulerOverview, into writer: inout JSONWriter) {
        writer.key("functions")
        writer.beginArray()
        for function in overview.functions {
            writer.beginObject()
            writer.key("name")
            writer.string(function.name)
            let counts = function.counts
            for (name, value) in [
                ("pending", counts.pending), ("running", counts.running), ("canceling", counts.canceling),
                ("submitted", counts.submitted), ("succeeded", counts.succeeded), ("failed", counts.failed),
                ("canceled", counts.canceled),
            ] {
                writer.dynamicKey(name)
                writer.number(value)
            }
            writer.endObject()
        }
        writer.endArray()
        writer.key("recent_failures")
        writer.beginArray()
        for record in overview.recentFailures {
            writer.beginObject()
            writer.key("id")
            writer.plainString(count: 16) { record.id.writeHex(into: $0) }
            writer.key("function")
            writer.string(record.function)
            writer.key("attempt")
            writer.number(record.attempt)
            if let error = record.error {
                writer.key("code")
                writer.string(error.code.rawValue)
                writer.key("detail")
                writer.string(String(error.detail.prefix(200)))
            }
            if let finished = record.finishedAt {
                writer.key("finished_at")
                writer.timestamp(nanosecondsSinceEpoch: finished.nanoseconds)
            }
            writer.endObject()
        }
        writer.endArray()
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
