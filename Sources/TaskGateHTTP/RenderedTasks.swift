import Synchronization
import TaskScheduler

/// The JSON bodies of finished tasks, rendered once and served again: a finished task no longer changes (every
/// change bumps its version, and an entry is used only for the same id and version), and reading results is what
/// clients do most. Rendering a task (five RFC 3339 timestamps, the keys, the payloads) was a quarter of the
/// request path of `GET /tasks/{id}`.
///
/// Bounded: a direct-mapped table of `slotCount` entries, each body at most `maxBodyBytes` (larger ones are rendered
/// every time), so it holds at most 16 MiB whatever clients do; a new task's body replaces whatever shared its slot.
/// An evicted or expired task is never served from here: the caller looks the task up in the scheduler first.
final class RenderedTasks: Sendable {
    static let slotCount = 4_096
    static let maxBodyBytes = 4_096

    private struct Entry {
        var id: TaskID
        var version: UInt64
        var body: [UInt8]
    }

    private let slots = Mutex<[Entry?]>(Array(repeating: nil, count: RenderedTasks.slotCount))

    /// The body of `record` (`TaskJSON.encode`): the stored one when it is of the same version, else rendered now
    /// (and stored when the task is done).
    func body(of record: TaskRecord) -> [UInt8] {
        guard record.done else { return TaskJSON.encode(record) }
        // Fibonacci hashing: ids that differ only in a few bits still spread over the slots.
        let slot = Int(truncatingIfNeeded: (record.id.rawValue &* 0x9E37_79B9_7F4A_7C15) >> 52)
        let stored = slots.withLock { slots -> [UInt8]? in
            guard let entry = slots[slot], entry.id == record.id, entry.version == record.version else { return nil }
            return entry.body
        }
        if let stored { return stored }
        let body = TaskJSON.encode(record)
        if body.count <= Self.maxBodyBytes {
            slots.withLock { $0[slot] = Entry(id: record.id, version: record.version, body: body) }
        }
        return body
    }
}
