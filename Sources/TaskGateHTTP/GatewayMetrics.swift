import Prometheus
import Synchronization
import TaskGateStore
import TaskScheduler

/// taskgate's `/metrics`: a swift-prometheus registry (which `taskgate serve` also hands to swift-metrics, so
/// libraries' metrics land in the same exposition) and what feeds it.
///
/// Counting stays off the hot path. Task and cancel counts, queue depths, workers and slots are read from the
/// scheduler at scrape time (the core keeps them as plain integers under the lock each event takes anyway). HTTP
/// request counts go to a fixed table of atomics (no lock, no allocation, no dictionary). The histograms recorded
/// per request or per task are `LockFreeHistogram`s (atomics too), rendered after the registry's own metrics; the
/// scheduler's are fed outside its lock after each event. The store's, recorded once per commit on its writer
/// thread, are swift-prometheus histograms.
public final class GatewayMetrics: Sendable {
    /// The registry rendered by `/metrics`.
    public let registry: PrometheusCollectorRegistry

    private let queueWait: LockFreeHistogram
    private let runTime: LockFreeHistogram
    private let cancelConfirm: LockFreeHistogram
    private let requestDurations: [LockFreeHistogram]
    private let requestCounts: RequestCounts
    private let storeCommit: DurationHistogram
    private let storeBatch: ValueHistogram
    /// Serializes scrapes: counters computed at scrape time are reset and set in one step.
    private let scrape = Mutex(())

    private static let taskBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(500), .seconds(1),
        .seconds(5), .seconds(30), .seconds(60), .seconds(300), .seconds(1_800), .seconds(3_600),
    ]
    private static let requestBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5),
        .milliseconds(5), .milliseconds(10), .milliseconds(50), .milliseconds(250), .seconds(1), .seconds(5),
        .seconds(30), .seconds(60),
    ]
    private static let confirmBuckets: [Duration] = [
        .microseconds(250), .milliseconds(1), .milliseconds(5), .milliseconds(25), .milliseconds(100),
        .milliseconds(500), .seconds(1), .seconds(5), .seconds(30),
    ]

    /// A registry with taskgate's histograms.
    public init() {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        queueWait = LockFreeHistogram(name: Self.queueWaitName, buckets: Self.taskBuckets)
        runTime = LockFreeHistogram(name: Self.runName, buckets: Self.taskBuckets)
        cancelConfirm = LockFreeHistogram(name: Self.cancelConfirmName, buckets: Self.confirmBuckets)
        requestDurations = MetricRoute.allCases.map { route in
            LockFreeHistogram(
                name: Self.requestDurationName, labels: [("route", route.label)], buckets: Self.requestBuckets)
        }
        requestCounts = RequestCounts()
        storeCommit = registry.makeDurationHistogram(
            descriptor: Self.descriptor(
                "taskgate_store_commit_seconds",
                help: "Time one store transaction took, writes and commit (and fsync in the fsync mode) included."),
            buckets: Self.commitBuckets)
        storeBatch = registry.makeValueHistogram(
            descriptor: Self.descriptor(
                "taskgate_store_batch_changes", help: "Changes (task rows written) per committed store transaction."),
            buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1_024, 4_096])
    }

    private static let queueWaitName = "taskgate_task_queue_wait_seconds"
    private static let runName = "taskgate_task_run_seconds"
    private static let cancelConfirmName = "taskgate_cancel_confirm_seconds"
    private static let requestDurationName = "taskgate_http_request_duration_seconds"

    /// The lock-free histograms by family: name, help, series.
    private var families: [(String, String, [LockFreeHistogram])] {
        [
            (
                Self.queueWaitName, "Time tasks spent pending before a worker took them, per attempt.",
                [queueWait]
            ),
            (
                Self.runName,
                "Time from a task's hand-over to its worker until its run ended (result, cancel, timeout, retry).",
                [runTime]
            ),
            (
                Self.cancelConfirmName, "Time from a cancel request sent to a worker until the worker's confirm.",
                [cancelConfirm]
            ),
            (
                Self.requestDurationName,
                "Time from a request's headers to its answer being queued, parked time included.",
                requestDurations
            ),
        ]
    }

    private static let commitBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(100), .seconds(1),
    ]

    /// Records one store commit attempt (the store's observer, on its writer thread).
    public func observeCommit(_ outcome: Result<Void, StoreError>, changes: Int, duration: Duration) {
        guard case .success = outcome else { return }
        storeCommit.record(duration)
        storeBatch.record(Double(changes))
    }

    /// A metric's name and help text for the registry (the names carry their unit already, so no unit part).
    private static func descriptor(_ name: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    /// Records what a scheduler event measured (the scheduler's observer; runs outside its lock).
    public func observe(_ observations: [Observation]) {
        for observation in observations {
            switch observation {
            case .queueWait(let duration): queueWait.record(duration)
            case .run(let duration): runTime.record(duration)
            case .cancelConfirm(let duration): cancelConfirm.record(duration)
            }
        }
    }

    /// Records one answered request (the HTTP server's observer, on its thread).
    public func recordRequest(method: String, path: String, status: Int, duration: Duration) {
        let route = MetricRoute(method: method, path: path)
        requestCounts.increment(route: route, status: status)
        requestDurations[route.index].record(duration)
    }

    /// Publishes the values computed at scrape time and renders the registry in the Prometheus text format.
    func render(
        _ snapshot: SchedulerMetricsSnapshot, parked: Int, connections: Int?, store: TaskStore?, now: Timestamp
    ) -> [UInt8] {
        scrape.withLock { _ in
            publish(snapshot, parked: parked, connections: connections, now: now)
            publish(store)
            var buffer = registry.emitToBuffer()
            for (name, help, series) in families {
                LockFreeHistogram.header(name: name, help: help, into: &buffer)
                for histogram in series { histogram.render(into: &buffer) }
            }
            return buffer
        }
    }

    private func counter(_ name: String, _ labels: [(String, String)], _ value: Int, help: String) {
        let counter = registry.makeCounter(descriptor: Self.descriptor(name, help: help), labels: labels)
        counter.reset()
        counter.increment(by: Int64(value))
    }

    private func gauge(_ name: String, _ labels: [(String, String)], _ value: Double, help: String) {
        registry.makeGauge(descriptor: Self.descriptor(name, help: help), labels: labels).set(value)
    }

    private func publish(_ store: TaskStore?) {
        let durability = store?.durability ?? .memory
        for mode in Durability.allCases {
            gauge(
                "taskgate_store_durability", [("mode", mode.rawValue)], mode == durability ? 1 : 0,
                help: "The durability mode in force (1 for the one in force).")
        }
        guard let store else { return }
        let counts = store.statistics
        counter(
            "taskgate_store_commits_total", [("outcome", "committed")], counts.commits,
            help: "Store transactions, by outcome (a failed one is retried until it commits).")
        counter(
            "taskgate_store_commits_total", [("outcome", "failed")], counts.failedCommits,
            help: "Store transactions, by outcome (a failed one is retried until it commits).")
        counter(
            "taskgate_store_fsyncs_total", [], store.durability == .fsync ? counts.commits : 0,
            help: "Commits that synced the write-ahead log to the disk (one per commit in the fsync mode).")
        counter(
            "taskgate_store_changes_total", [], counts.stored, help: "Task changes committed to the store.")
        gauge(
            "taskgate_store_healthy", [], store.failure == nil ? 1 : 0,
            help: "1 while store commits succeed; 0 while they fail (submissions are refused meanwhile).")
    }

    private func publish(_ snapshot: SchedulerMetricsSnapshot, parked: Int, connections: Int?, now: Timestamp) {
        let stats = snapshot.stats
        for (name, counts) in snapshot.functions {
            counter(
                "taskgate_tasks_submitted_total", [("function", name)], counts.submitted,
                help: "Tasks accepted, by function.")
            for (outcome, value) in [
                ("succeeded", counts.succeeded), ("failed", counts.failed), ("canceled", counts.canceled),
            ] {
                counter(
                    "taskgate_tasks_finished_total", [("function", name), ("outcome", outcome)], value,
                    help: "Tasks that reached a terminal state, by function and outcome.")
            }
        }
        let counters = stats.counters
        for (reason, value) in [
            ("worker_died", counters.retriesWorkerDied), ("worker_left", counters.retriesWorkerLeft),
        ] {
            counter(
                "taskgate_task_retries_total", [("reason", reason)], value,
                help: "Running tasks queued again with their attempt spent, by reason.")
        }
        let cancels = counters.cancelRequests
        for (outcome, value) in [
            ("canceled", cancels.canceled), ("forwarded", cancels.forwarded), ("in_progress", cancels.inProgress),
            ("already_finished", cancels.alreadyFinished), ("not_found", cancels.notFound),
            ("expired", cancels.expired),
        ] {
            counter(
                "taskgate_cancel_requests_total", [("outcome", outcome)], value,
                help: "Cancel requests by what they found.")
        }
        counter(
            "taskgate_tasks_evicted_total", [], counters.evicted,
            help: "Finished tasks evicted by retention (their ids answer 410).")
        for (outcome, value) in [
            ("delivered", counters.callbacksDelivered), ("attempt_failed", counters.callbackAttemptsFailed),
            ("given_up", counters.callbacksGivenUp), ("abandoned", counters.callbacksAbandoned),
        ] {
            counter(
                "taskgate_callbacks_total", [("outcome", outcome)], value,
                help: "Completion webhook events: delivered, an attempt failed, given up (attempts spent or 410 Gone), "
                    + "abandoned (the task was evicted first).")
        }
        gauge(
            "taskgate_callbacks_pending", [], Double(stats.pendingCallbacks),
            help: "Finished tasks whose completion webhook is still to be delivered.")
        counter(
            "taskgate_worker_reports_refused_total", [], counters.refusedReports,
            help: "Results and confirms refused because the worker did not hold the task.")
        for state in TaskState.allCases {
            gauge(
                "taskgate_tasks", [("state", state.rawValue)], Double(stats.tasksByState[state] ?? 0),
                help: "Tasks held, by state (pending is the queue depth).")
        }
        gauge(
            "taskgate_tasks_unfinished", [],
            Double(TaskState.allCases.filter { !$0.isTerminal }.reduce(0) { $0 + (stats.tasksByState[$1] ?? 0) }),
            help: "Tasks not finished: pending, running or canceling (the work outstanding, to scale workers on).")
        gauge(
            "taskgate_queue_oldest_age_seconds", [], snapshot.oldestPendingSince.map { (now - $0).seconds } ?? 0,
            help: "How long the longest-waiting pending task has waited; 0 when none waits.")
        gauge(
            "taskgate_workers", [("kind", "remote")], Double(stats.remoteWorkers), help: "Registered workers, by kind."
        )
        gauge(
            "taskgate_workers", [("kind", "in_process")], Double(stats.workers - stats.remoteWorkers),
            help: "Registered workers, by kind.")
        gauge("taskgate_worker_slots", [], Double(stats.capacity), help: "Task slots of all workers.")
        gauge(
            "taskgate_worker_slots_free", [], Double(max(0, stats.capacity - stats.load)),
            help: "Task slots not holding a task.")
        gauge("taskgate_http_parked_requests", [], Double(parked), help: "Requests parked on a wait (long-polls).")
        if let connections {
            gauge(
                "taskgate_http_connections", [], Double(connections),
                help: "Open HTTP connections, parked ones included.")
        }
        for route in MetricRoute.allCases {
            for (slot, status) in RequestCounts.statuses.enumerated() {
                let value = requestCounts.value(route: route, slot: slot)
                guard value > 0 else { continue }
                counter(
                    "taskgate_http_requests_total",
                    [("route", route.label), ("status", status.map(String.init) ?? "other")],
                    value, help: "HTTP requests answered, by route and status.")
            }
        }
    }
}

/// Request counts by route and status in a fixed table of atomics: the request path pays one relaxed increment.
// The pointer is set once in init and freed in deinit; only its atomics are shared.
final class RequestCounts: @unchecked Sendable {
    /// The statuses the gateway answers with; anything else counts as `other` (the last slot).
    static let statuses: [Int?] = [
        200, 201, 202, 204, 304, 400, 401, 403, 404, 405, 409, 410, 413, 415, 422, 429, 431, 499, 500, 503, nil,
    ]
    private let counts: UnsafeMutablePointer<Atomic<Int>>
    private let size = MetricRoute.allCases.count * RequestCounts.statuses.count

    init() {
        counts = .allocate(capacity: size)
        for index in 0..<size { (counts + index).initialize(to: Atomic(0)) }
    }

    deinit {
        counts.deinitialize(count: size)
        counts.deallocate()
    }

    func increment(route: MetricRoute, status: Int) {
        let slot = Self.statuses.firstIndex(of: status) ?? (Self.statuses.count - 1)
        counts[route.index * Self.statuses.count + slot].add(1, ordering: .relaxed)
    }

    func value(route: MetricRoute, slot: Int) -> Int {
        counts[route.index * Self.statuses.count + slot].load(ordering: .relaxed)
    }
}
