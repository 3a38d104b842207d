import TaskScheduler

extension Gateway {
    /// The headers of an event stream's response.
    static let eventStreamHeaders: [(name: String, value: String)] = [
        ("Content-Type", "text/event-stream; charset=utf-8"), ("Cache-Control", "no-store"),
        // Proxies that buffer responses (nginx) would hold the events back.
        ("X-Accel-Buffering", "no"),
    ]

    /// `GET /events?kinds=&ids=&function=&state=&results=&last_event_id=`: the scheduler's changes as Server-Sent
    /// Events, from now on (or from after `Last-Event-ID`, within the history), until the client or the server ends
    /// the stream. Every list is comma-separated.
    func events(_ request: HTTPRequest) throws(Problem) -> HandlerResult {
        if scheduler.isDraining {
            throw Problem(SchedulerError(.shuttingDown, "the server is draining and opens no event streams"))
        }
        var filter = EventStreamCore.Filter()
        func list(_ name: String) -> [Substring]? {
            request.query[name].map { $0.split(separator: ",", omittingEmptySubsequences: true) }
        }
        if let kinds = list("kinds") {
            guard !kinds.isEmpty, kinds.allSatisfy({ $0 == "task" || $0 == "worker" }) else {
                throw .invalidParameter("kinds", "kinds is a comma-separated list of task and worker")
            }
            filter.tasks = kinds.contains("task")
            filter.workers = kinds.contains("worker")
        }
        if let ids = list("ids") {
            for id in ids {
                guard let parsed = TaskID(String(id)) else {
                    throw .invalidParameter("ids", "ids is a comma-separated list of task ids; '\(id)' is not one")
                }
                filter.ids.insert(parsed)
            }
        }
        if let functions = list("function") {
            filter.functions = Set(functions.map(String.init))
        }
        if let states = list("state") {
            for state in states {
                guard let parsed = TaskState(rawValue: String(state)) else {
                    throw .invalidParameter(
                        "state",
                        "state is a comma-separated list of \(TaskState.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
                filter.states.insert(parsed)
            }
        }
        // A task filter asks about tasks: worker events only when `kinds` names them.
        if request.query["kinds"] == nil && !(filter.ids.isEmpty && filter.functions.isEmpty && filter.states.isEmpty) {
            filter.workers = false
        }
        if let results = request.query["results"] {
            guard results == "true" || results == "false" else {
                throw .invalidParameter("results", "results must be true or false")
            }
            filter.results = results == "true"
        }
        // EventSource sends Last-Event-ID when it reconnects; a first connection can name it in the query.
        let lastEventID = request.headers[.lastEventID] ?? request.query["last_event_id"]
        guard let id = events.open(filter, lastEventID: lastEventID) else {
            throw .tooManyStreams(events.configuration.maxStreams)
        }
        return .stream(EventSubscription(hub: events, id: id), headers: Self.eventStreamHeaders)
    }
}
