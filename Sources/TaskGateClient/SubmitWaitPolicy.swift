/// Decides, per function, whether `submit` asks the server to hold its answer for a moment (`Prefer: wait`), so
/// that a task that finishes at once comes back finished in the same round trip and `result()` needs no poll.
///
/// A function is presumed fast. When a submit that waited comes back unfinished, the function's next waits are
/// skipped: the next 1, then 2, 4, … up to `maxSkips` submits go without waiting, so a slow function pays the
/// wait on one submit in `maxSkips + 1` at most. A submit that comes back finished makes the function fast again.
/// A value type tested without I/O; the client keeps one behind a lock.
struct SubmitWaitPolicy: Sendable {
    private struct Record {
        /// Submits still to go without waiting.
        var skip = 0
        /// How many to skip after the next unfinished wait.
        var nextSkip = 1
    }

    /// The longest run of submits that do not wait, for a slow function.
    let maxSkips: Int
    /// Functions remembered at most (the names come from callers; the table is emptied when full).
    let capacity: Int
    private var records: [String: Record] = [:]

    init(maxSkips: Int = 1_024, capacity: Int = 1_024) {
        self.maxSkips = max(1, maxSkips)
        self.capacity = max(1, capacity)
    }

    /// Functions with a record (tests).
    var count: Int { records.count }

    /// Whether the next submit of `function` should wait; counts a skipped one.
    mutating func shouldWait(_ function: String) -> Bool {
        guard var record = records[function], record.skip > 0 else { return true }
        record.skip -= 1
        records[function] = record
        return false
    }

    /// A submit of `function` that waited came back finished (`true`) or not.
    mutating func waited(_ function: String, finished: Bool) {
        if finished {
            records[function] = nil
            return
        }
        if records[function] == nil, records.count >= capacity { records.removeAll(keepingCapacity: true) }
        var record = records[function, default: Record()]
        record.skip = record.nextSkip
        record.nextSkip = min(maxSkips, record.nextSkip * 2)
        records[function] = record
    }
}
