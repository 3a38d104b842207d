import Synchronization
import TaskScheduler

/// The answers to `GET /tasks/{id}` of finished tasks, built once and served again: a finished task rarely
/// changes (only its webhook's delivery does; every change bumps its version, and an entry is used only for the same
/// id and version), and reading results is what clients do most. A repeated read does not render the task again
/// (five RFC 3339 timestamps, the keys, the payloads: a quarter of the request path before). Keeping a libmicrohttpd response per entry as well
/// (shared by the connections, no copy of the body, no header added per request) was tried and measured no faster.
///
/// Bounded: a direct-mapped table of `slotCount` entries, each body at most `maxBodyBytes` (larger ones are rendered
/// every time), so it holds about 17 MiB at most whatever clients do; a new task's answer replaces whatever shared its
/// slot. An evicted or expired task is never answered from here: the caller looks the task up in the scheduler
/// first.
final class RenderedTasks: Sendable {
    static let slotCount = 4_096
    static let maxBodyBytes = 4_096

    private struct Entry {
        var id: TaskID
        var version: UInt64
        var response: HTTPResponse
    }

    private let slots = Mutex<[Entry?]>(Array(repeating: nil, count: RenderedTasks.slotCount))

    /// The 200 answer for `record` (`TaskJSON.response`): the stored one when it is of the same version, else built
    /// now (and stored when the task is done).
    func response(of record: TaskRecord) -> HTTPResponse {
        guard record.done else { return TaskJSON.response(200, record) }
        // Fibonacci hashing: ids that differ only in a few bits still spread over the slots.
        let slot = Int(truncatingIfNeeded: (record.id.rawValue &* 0x9E37_79B9_7F4A_7C15) >> 52)
        let stored = slots.withLock { slots -> HTTPResponse? in
            guard let entry = slots[slot], entry.id == record.id, entry.version == record.version else { return nil }
            return entry.response
        }
        if let stored { return stored }
        let response = TaskJSON.response(200, record)
        if response.body.count <= Self.maxBodyBytes {
            slots.withLock { $0[slot] = Entry(id: record.id, version: record.version, response: response) }
        }
        return response
    }
}
