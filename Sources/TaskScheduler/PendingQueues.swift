import DequeModule

/// The pending tasks, one priority-ordered queue per function. Removal is lazy: an entry is live only while the
/// task is pending and its `queueSeq` matches; stale entries are skipped and compacted away.
struct PendingQueues: Sendable {
    struct Entry: Sendable {
        var id: TaskID
        var seq: Int64
    }

    /// One function's queue: a FIFO lane per priority, highest priority first.
    struct FunctionQueue: Sendable {
        var lanes: [Int: Deque<Entry>] = [:]
        /// The priorities that have a lane, highest first.
        var priorities: [Int] = []
        var entries = 0

        mutating func append(_ entry: Entry, priority: Int, atFront: Bool) {
            if lanes[priority] == nil {
                lanes[priority] = Deque()
                let index = priorities.firstIndex { $0 < priority } ?? priorities.endIndex
                priorities.insert(priority, at: index)
            }
            if atFront { lanes[priority]!.prepend(entry) } else { lanes[priority]!.append(entry) }
            entries += 1
        }

        /// The first live entry, dropping stale ones on the way.
        mutating func head(isLive: (Entry) -> Bool) -> (entry: Entry, priority: Int)? {
            while let priority = priorities.first {
                while let entry = lanes[priority]!.first {
                    if isLive(entry) { return (entry, priority) }
                    lanes[priority]!.removeFirst()
                    entries -= 1
                }
                lanes[priority] = nil
                priorities.removeFirst()
            }
            return nil
        }

        mutating func removeHead(priority: Int) {
            lanes[priority]!.removeFirst()
            entries -= 1
        }

        mutating func compact(isLive: (Entry) -> Bool) {
            for priority in priorities {
                lanes[priority]!.removeAll { !isLive($0) }
            }
            priorities.removeAll { lanes[$0]!.isEmpty }
            lanes = lanes.filter { !$0.value.isEmpty }
            entries = lanes.values.reduce(0) { $0 + $1.count }
        }
    }

    var queues: [String: FunctionQueue] = [:]
    /// Live pending tasks.
    private(set) var count = 0
    private var nextSeq: Int64 = 1
    private var nextFrontSeq: Int64 = -1

    /// Queues a task at the back of its priority lane (or the front, for a re-queued task); returns its seq.
    mutating func enqueue(_ id: TaskID, function: String, priority: Int, atFront: Bool = false) -> Int64 {
        let seq: Int64
        if atFront {
            seq = nextFrontSeq
            nextFrontSeq -= 1
        } else {
            seq = nextSeq
            nextSeq += 1
        }
        queues[function, default: FunctionQueue()].append(Entry(id: id, seq: seq), priority: priority, atFront: atFront)
        count += 1
        return seq
    }

    /// Records that a live entry left the queue other than by `pop` (cancelled); the entry goes stale.
    mutating func forget(function: String, isLive: (Entry) -> Bool) {
        count -= 1
        guard let queue = queues[function] else { return }
        if queue.entries > 1024 && queue.entries > 2 * count {
            queues[function]!.compact(isLive: isLive)
            if queues[function]!.entries == 0 { queues[function] = nil }
        }
    }

    /// Takes the best live task among `functions`: highest priority, then oldest.
    mutating func pop(among functions: some Sequence<String>, isLive: (Entry) -> Bool) -> TaskID? {
        var best: (function: String, entry: Entry, priority: Int)?
        for function in functions {
            guard queues[function] != nil else { continue }
            guard let head = queues[function]!.head(isLive: isLive) else {
                queues[function] = nil
                continue
            }
            if let current = best,
                current.priority > head.priority || (current.priority == head.priority && current.entry.seq < head.entry.seq)
            {
                continue
            }
            best = (function, head.entry, head.priority)
        }
        guard let best else { return nil }
        queues[best.function]!.removeHead(priority: best.priority)
        if queues[best.function]!.entries == 0 { queues[best.function] = nil }
        count -= 1
        return best.entry.id
    }

    /// Entries held, live or stale (for invariant checks).
    var storedEntries: Int { queues.values.reduce(0) { $0 + $1.entries } }
}
