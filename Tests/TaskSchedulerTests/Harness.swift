import Logging
import Testing

@testable import TaskScheduler

let quietLogger = Logger(label: "taskgate.test") { _ in SwiftLogNoOpLogHandler() }

/// Drives a `SchedulerCore` value by hand: its own clock, and a record of every waiter release and signal.
struct Harness {
    var core: SchedulerCore
    var now = Timestamp(nanoseconds: 1_767_225_600 * 1_000_000_000)
    /// Every released waiter with what it was released with; a second release fails the test.
    var released: [WaiterID: WaitResult] = [:]
    var signals: [WorkerID] = []
    /// Every duration the events measured (when `core.observing`).
    var observations: [Observation] = []
    /// Every change listed for the store (when `core.persisting`).
    var stored: [StoreChange] = []
    /// Every change published for those following the work (when `core.publishing`).
    var published: [PublishedChange] = []
    /// Every completion webhook attempt that fell due (when `core.delivering`).
    var deliveries: [DeliveryOrder] = []

    init(functions: [String] = ["f", "g"], configure: (inout SchedulerConfiguration) -> Void = { _ in }) {
        var configuration = SchedulerConfiguration()
        configuration.randomizeTaskIDs = false
        configure(&configuration)
        core = SchedulerCore(configuration: configuration, logger: quietLogger)
        for function in functions { core.declareFunction(function) }
    }

    mutating func apply<R, E: Error>(_ body: (inout SchedulerCore, Timestamp, inout Effects) throws(E) -> R)
        throws(E) -> R
    {
        var effects = Effects()
        let result = try body(&core, now, &effects)
        core.settleParkedPolls(now: now, effects: &effects)
        for (id, value) in effects.resolved {
            #expect(released[id] == nil, "waiter \(id.rawValue) released twice")
            released[id] = value
        }
        signals.append(contentsOf: effects.signaledWorkers.map(\.worker))
        observations.append(contentsOf: effects.observations)
        stored.append(contentsOf: effects.stored)
        published.append(contentsOf: effects.published)
        deliveries.append(contentsOf: effects.deliveries)
        return result
    }

    @discardableResult
    mutating func submit(_ request: SubmitRequest) throws(SchedulerError) -> TaskID {
        try apply { (core, now, effects) throws(SchedulerError) in
            try core.submit(request, now: now, effects: &effects)
        }.taskID
    }

    @discardableResult
    mutating func submit(
        _ function: String = "f", args: String = "1", priority: Int = 0, maxRetries: Int? = nil,
        timeout: Duration? = nil, key: String? = nil
    ) throws(SchedulerError) -> TaskID {
        try submit(
            SubmitRequest(
                function: function, args: Payload(json: args), priority: priority,
                timeout: timeout, maxRetries: maxRetries, idempotencyKey: key))
    }

    mutating func register(_ functions: Set<String> = ["f", "g"], capacity: Int = 1, lease: Duration? = nil)
        -> WorkerID
    {
        try! apply { (core, now, effects) throws(SchedulerError) in
            try core.registerWorker(
                WorkerRegistration(name: "test", functions: functions, capacity: capacity, lease: lease), now: now,
                effects: &effects)
        }
    }

    @discardableResult
    mutating func exchange(
        _ worker: WorkerID, results: [WorkerResult] = [], confirms: [WorkerConfirm] = [], max: Int = 100
    ) throws(SchedulerError) -> WorkerMail {
        try apply { (core, now, effects) throws(SchedulerError) in
            try core.exchange(
                worker: worker, results: results, confirms: confirms, maxAssignments: max, now: now, effects: &effects)
        }
    }

    /// Takes assignments and returns their task ids.
    mutating func take(_ worker: WorkerID, max: Int = 100) -> [TaskID] {
        try! exchange(worker, max: max).assignments.map(\.taskID)
    }

    @discardableResult
    mutating func succeed(_ worker: WorkerID, _ id: TaskID, result: String = "\"ok\"") -> ReportAck {
        try! exchange(worker, results: [WorkerResult(taskID: id, outcome: .success(Payload(json: result)))], max: 0)
            .resultAcks[0]
    }

    @discardableResult
    mutating func confirm(_ worker: WorkerID, _ id: TaskID, _ kind: CancelConfirm) -> ReportAck {
        try! exchange(worker, confirms: [WorkerConfirm(taskID: id, kind: kind)], max: 0).confirmAcks[0]
    }

    mutating func poll(_ worker: WorkerID, _ request: PollRequest) throws(SchedulerError) -> PollStart {
        try apply { (core, now, effects) throws(SchedulerError) in
            try core.poll(worker: worker, request, waiter: core.reserveWaiterID(), now: now, effects: &effects)
        }
    }

    /// The answer a parked poll was released with, if it was.
    func answer(_ waiter: WaiterID) -> PollAnswer? {
        guard case .poll(let answer) = released[waiter] else { return nil }
        return answer
    }

    mutating func cancel(_ id: TaskID) -> CancelDecision {
        apply { core, now, effects in core.cancel(id, now: now, effects: &effects) }
    }

    mutating func removeWorker(_ worker: WorkerID, _ reason: WorkerExit = .died("test")) {
        apply { core, now, effects in _ = core.removeWorker(worker, reason: reason, now: now, effects: &effects) }
    }

    mutating func wait(_ condition: WaitCondition, timeout: Duration = .seconds(30)) -> WaiterRegistration {
        apply { core, now, _ in
            let id = core.reserveWaiterID()
            return core.addWaiter(id, condition, deadline: now + timeout, now: now)
        }
    }

    mutating func advance(_ duration: Duration) {
        now = now + duration
        apply { core, now, effects in core.tick(now: now, effects: &effects) }
    }

    func record(_ id: TaskID) -> TaskRecord {
        guard case .found(let record) = core.lookup(id) else {
            Issue.record("task \(id) not found")
            fatalError("task \(id) not found")
        }
        return record
    }

    func state(_ id: TaskID) -> TaskState? { core.lookup(id).record?.state }

    func expectConsistent(sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(core.invariantViolations() == [], sourceLocation: sourceLocation)
    }
}

extension WaiterRegistration {
    var parkedID: WaiterID? {
        if case .parked(let id) = self { return id }
        return nil
    }
}
