import TaskGateAPI

/// The decisions of a worker runtime, without I/O: when to poll and with which reports, which tasks to start and
/// stop, and what each finished task reports. The runtime feeds it events and carries out what it returns.
///
/// At most two polls are in flight: one that may park on the server, and — when reports are ready while it is
/// parked — a second that carries them (the server answers the parked one at once, so no mail is lost to it).
struct WorkerStateMachine: Sendable {
    enum Phase: Sendable {
        /// Taking and running tasks.
        case active
        /// Taking no new tasks; finishing and reporting the running ones.
        case draining
    }

    /// How a run ended, as the runtime saw it.
    enum Outcome: Sendable, Equatable {
        /// The handler returned this JSON.
        case success([UInt8])
        /// The handler failed.
        case failure(String)
        /// The handler stopped because its Swift task was cancelled.
        case cancelled
    }

    /// What a result report says: only a run that returned or failed has one.
    enum Reported: Sendable, Equatable {
        case success([UInt8])
        case failure(String)
    }

    /// A report waiting to be sent.
    enum Report: Sendable, Equatable {
        case result(id: String, Reported, logs: [String] = [])
        case confirm(id: String, kind: WireCancelConfirm)
    }

    /// One poll to send.
    struct Poll: Sendable, Equatable {
        var reports: [Report]
        /// Park on the server when there is nothing to hand over.
        var waits: Bool
        /// Announce the drain: take no new tasks.
        var drain: Bool
        /// It carries reports or the first drain announcement (the drain waits for those).
        var carriesNews: Bool
        /// Every task this worker knows it holds: running, or reported in another poll not yet answered (the
        /// server takes back a task handed over long ago that is not listed: its answer never arrived).
        var running: [String] = []
        /// Identifies the poll while it is in flight.
        var serial = 0
    }

    /// What the runtime must do after an answer.
    enum Action: Sendable, Equatable {
        case start(WorkerTask)
        case cancel(id: String)
    }

    private(set) var phase = Phase.active
    /// Running tasks, and whether a cancel was requested for each.
    private(set) var running: [String: Bool] = [:]
    private(set) var reports: [Report] = []
    private(set) var pollsInFlight = 0
    /// Polls in flight that carry reports or the drain announcement.
    private(set) var newsInFlight = 0
    private var drainAnnounced = false
    private var nextSerial = 0
    /// The ids reported by each poll in flight, by serial.
    private var reportsInFlight: [Int: [String]] = [:]

    /// The next poll to send now, if any; its reports leave the queue (`pollFailed` puts them back).
    mutating func nextPoll() -> Poll? {
        let announce = phase == .draining && !drainAnnounced
        let hasNews = !reports.isEmpty || announce
        guard pollsInFlight == 0 || (pollsInFlight == 1 && hasNews) else { return nil }
        if phase == .draining && !hasNews && running.isEmpty { return nil }
        pollsInFlight += 1
        if hasNews { newsInFlight += 1 }
        if announce { drainAnnounced = true }
        defer { reports.removeAll() }
        // A draining worker still waits for cancel requests while it runs tasks; with none left it only reports.
        let waits = phase == .active || !running.isEmpty
        nextSerial += 1
        var held = Array(running.keys)
        for ids in reportsInFlight.values { held.append(contentsOf: ids) }
        reportsInFlight[nextSerial] = reports.map(\.id)
        return Poll(
            reports: reports, waits: waits, drain: phase == .draining, carriesNews: hasNews, running: held.sorted(),
            serial: nextSerial)
    }

    /// A poll was answered: start its tasks, stop the ones the server wants stopped.
    mutating func pollAnswered(_ poll: Poll, tasks: [WorkerTask], cancel: [String]) -> [Action] {
        pollEnded(poll)
        var actions: [Action] = []
        for task in tasks where running[task.id] == nil {
            running[task.id] = false
            actions.append(.start(task))
        }
        for id in cancel {
            if let requested = running[id] {
                if !requested {
                    running[id] = true
                    actions.append(.cancel(id: id))
                }
            } else if !reports.contains(where: { if case .result(id, _, _) = $0 { true } else { false } }) {
                // Not running here and no result on its way: the task is unknown to this worker.
                reports.append(.confirm(id: id, kind: .cancelNotFound))
            }
        }
        return actions
    }

    /// A poll failed before the server took it (transport error): its reports go back to the front of the queue.
    mutating func pollFailed(_ poll: Poll) {
        pollEnded(poll)
        reports.insert(contentsOf: poll.reports, at: 0)
        if poll.drain && poll.carriesNews { drainAnnounced = false }
    }

    private mutating func pollEnded(_ poll: Poll) {
        reportsInFlight[poll.serial] = nil
        pollsInFlight -= 1
        if poll.carriesNews { newsInFlight -= 1 }
    }

    /// A task's handler finished. A cancelled run that was asked to stop confirms `canceled`; one that finished
    /// anyway reports its result (the server keeps the task canceled and notes the function ran). A run
    /// cancelled for another reason (the worker is stopping) reports nothing: the server re-queues it.
    mutating func taskFinished(id: String, _ outcome: Outcome, logs: [String] = []) {
        guard let cancelRequested = running.removeValue(forKey: id) else { return }
        switch outcome {
        case .cancelled:
            if cancelRequested { reports.append(.confirm(id: id, kind: .canceled)) }
        case .success(let json):
            reports.append(.result(id: id, .success(json), logs: logs))
        case .failure(let message):
            reports.append(.result(id: id, .failure(message), logs: logs))
        }
    }

    /// Take no new tasks from now on.
    mutating func beginDrain() {
        phase = .draining
    }

    /// Draining, and nothing is left to run or report (a poll parked on the server may still be out).
    var isDrained: Bool {
        phase == .draining && drainAnnounced && running.isEmpty && reports.isEmpty && newsInFlight == 0
    }

    /// The server no longer knows this worker: forget everything; returns the running tasks to stop.
    mutating func reset() -> [String] {
        let ids = Array(running.keys)
        running.removeAll()
        reports.removeAll()
        drainAnnounced = false
        pollsInFlight = 0
        newsInFlight = 0
        reportsInFlight.removeAll()
        return ids
    }
}

extension WorkerStateMachine.Report {
    /// The task the report is about.
    var id: String {
        switch self {
        case .result(let id, _, _), .confirm(let id, _): id
        }
    }
}
