/// The route a request is counted under in the HTTP metrics: the endpoint's method and path template, so that
/// task and worker ids never become label values. Decided from the method and path without allocating.
enum MetricRoute: Int, CaseIterable {
    case submit, list, batch, waitMany, getTask, cancelTask, taskLogs
    case registerWorker, listWorkers, getWorker, pollWorker, leaveWorker
    case stats, healthz, readyz, metrics, events, dashboard, options, other

    init(method: String, path: String) {
        if method == "OPTIONS" {
            self = .options
            return
        }
        switch path {
        case "/tasks": self = method == "POST" ? .submit : method == "GET" || method == "HEAD" ? .list : .other
        case "/tasks/batch": self = .batch
        case "/tasks/wait": self = .waitMany
        case "/workers": self = method == "POST" ? .registerWorker : .listWorkers
        case "/stats": self = .stats
        case "/healthz": self = .healthz
        case "/readyz": self = .readyz
        case "/metrics": self = .metrics
        case "/events": self = .events
        case _ where path == "/ui" || path.hasPrefix("/ui/"): self = .dashboard
        case _ where path.hasPrefix("/tasks/") && path.hasSuffix("/logs"):
            self = method == "GET" || method == "HEAD" ? .taskLogs : .other
        case _ where path.hasPrefix("/tasks/"):
            self = method == "DELETE" ? .cancelTask : method == "GET" || method == "HEAD" ? .getTask : .other
        case _ where path.hasPrefix("/workers/"):
            if path.hasSuffix("/poll") {
                self = .pollWorker
            } else {
                self = method == "DELETE" ? .leaveWorker : method == "GET" || method == "HEAD" ? .getWorker : .other
            }
        default: self = .other
        }
    }

    /// The position in per-route tables.
    var index: Int { rawValue }

    /// The `route` label.
    var label: String {
        switch self {
        case .submit: "POST /tasks"
        case .list: "GET /tasks"
        case .batch: "POST /tasks/batch"
        case .waitMany: "POST /tasks/wait"
        case .getTask: "GET /tasks/{id}"
        case .cancelTask: "DELETE /tasks/{id}"
        case .taskLogs: "GET /tasks/{id}/logs"
        case .registerWorker: "POST /workers"
        case .listWorkers: "GET /workers"
        case .getWorker: "GET /workers/{id}"
        case .pollWorker: "POST /workers/{id}/poll"
        case .leaveWorker: "DELETE /workers/{id}"
        case .stats: "GET /stats"
        case .healthz: "GET /healthz"
        case .readyz: "GET /readyz"
        case .metrics: "GET /metrics"
        case .events: "GET /events"
        case .dashboard: "GET /ui"
        case .options: "OPTIONS"
        case .other: "other"
        }
    }
}
