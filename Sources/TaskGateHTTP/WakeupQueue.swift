/// Work a handler leaves for after its answer: the server runs it once the current batch of ready connections has
/// been served (one event-loop iteration), so waking workers neither interrupts the batch nor happens once per
/// request. Handlers use it for wake-ups that may lag their request by a few microseconds, never for the answer.
public struct WakeupQueue: Sendable {
    private var jobs: [@Sendable () -> Void] = []

    /// Nothing to do.
    public init() {}

    /// Whether there is nothing to run.
    public var isEmpty: Bool { jobs.isEmpty }

    /// Adds a job.
    public mutating func add(_ job: @escaping @Sendable () -> Void) {
        jobs.append(job)
    }

    /// Runs the jobs in order and forgets them.
    public mutating func run() {
        if jobs.isEmpty { return }
        let current = jobs
        jobs = []
        for job in current { job() }
    }
}
