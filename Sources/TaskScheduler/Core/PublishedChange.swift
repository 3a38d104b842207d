/// A change that those following the work see (`GET /events`): a task's record as it was created or changed, or a
/// worker joining or leaving. The core lists them in `Effects.published` only while `SchedulerCore.publishing` is
/// on, in the order it made them; its owner hands them on under its lock, so that order holds across threads.
public enum PublishedChange: Sendable {
    /// A task was accepted, or its state changed: its record after the change.
    case task(TaskRecord)
    /// A worker registered.
    case workerJoined(WorkerSummary)
    /// A worker left, or was declared dead; its tasks' changes follow.
    case workerLeft(WorkerSummary, WorkerExit)
}

/// What an event says about a worker.
public struct WorkerSummary: Sendable, Equatable {
    /// The worker.
    public var id: WorkerID
    /// Its name, as it registered.
    public var name: String
    /// The functions it offers, sorted.
    public var functions: [String]
    /// Tasks it runs at once.
    public var capacity: Int
    /// A remote worker (with a lease) rather than an in-process slot.
    public var remote: Bool

    /// The summary of `worker`.
    public init(_ worker: WorkerRecord) {
        id = worker.id
        name = worker.name
        functions = worker.functions.sorted()
        capacity = worker.capacity
        remote = worker.lease != nil
    }
}
