import DequeModule

/// The pending tasks: one queue per function (by function index), each a FIFO lane per priority, highest first.
/// Removal is lazy: an entry is live only while its task is pending with the same `queueSeq`; stale entries are
/// skipped when they reach a lane's head and compacted away when they pile up.
struct PendingQueues: Sendable {
    struct Entry: Sendable {
        var id: TaskID
        var seq: Int64
    }

    struct Lane: Sendable {
        var priority: Int
        var entries: Deque<Entry>
    }

    /// One function's queue. Lanes are few (one per priority in use), so a sorted array beats a dictionary.
    struct FunctionQueue: Sendable {
        /// Lanes by priority, highest first; none is empty.
        var lanes: [Lane] = []
        var entries = 0
        /// Live entries (pending tasks).
        var live = 0

        mutating func append(_ entry: Entry, priority: Int, atFront: Bool) {
            var index = 0
            while index < lanes.count && lanes[index].priority > priority { index += 1 }
            if index == lanes.count || lanes[index].priority != priority {
                lanes.insert(Lane(priority: priority, entries: []), at: index)
            }
            if atFront { lanes[index].entries.prepend(entry) } else { lanes[index].entries.append(entry) }
            entries += 1
            live += 1
        }

        /// The first live entry, dropping stale ones on the way.
        mutating func head(isLive: (Entry) -> Bool) -> Entry? {
            while !lanes.isEmpty {
                while let entry = lanes[0].entries.first {
                    if isLive(entry) { return entry }
                    lanes[0].entries.removeFirst()
                    entries -= 1
                }
                lanes.removeFirst()
            }
            return nil
        }

        /// Removes the entry `head` returned.
        mutating func removeHead() {
            lanes[0].entries.removeFirst()
            if lanes[0].entries.isEmpty { lanes.removeFirst() }
            entries -= 1
            live -= 1
        }

        mutating func compact(isLive: (Entry) -> Bool) {
            for index in lanes.indices { lanes[index].entries.removeAll { !isLive($0) } }
            lanes.removeAll { $0.entries.isEmpty }
            entries = lanes.reduce(0) { $0 + $1.entries.count }
        }
    }

    /// Queues by function index.
    var queues: [FunctionQueue] = []
    /// Live pending tasks.
    private(set) var count = 0
    private var nextSeq: Int64 = 1
    private var nextFrontSeq: Int64 = -1

    /// Queues a task at the back of its priority lane (or the front, for a re-queued task); returns its seq.
    mutating func enqueue(_ id: TaskID, function: Int, priority: Int, atFront: Bool = false) -> Int64 {
        let seq: Int64
        if atFront {
            seq = nextFrontSeq
            nextFrontSeq -= 1
        } else {
            seq = nextSeq
            nextSeq += 1
        }
        while queues.count <= function { queues.append(FunctionQueue()) }
        queues[function].append(Entry(id: id, seq: seq), priority: priority, atFront: atFront)
        count += 1
        return seq
    }

    /// Records that a live entry left other than by `pop` (its task was cancelled); the entry goes stale.
    mutating func forget(function: Int, isLive: (Entry) -> Bool) {
        count -= 1
        queues[function].live -= 1
        if queues[function].entries > 1024 && queues[function].entries > 2 * queues[function].live {
            queues[function].compact(isLive: isLive)
        }
    }

    /// Takes the best live task among `functions`: highest priority, then oldest.
    mutating func pop(among functions: [Int], isLive: (Entry) -> Bool) -> TaskID? {
        var best: (function: Int, entry: Entry, priority: Int)?
        for function in functions where function < queues.count && queues[function].live > 0 {
            guard let head = queues[function].head(isLive: isLive) else { continue }
            let priority = queues[function].lanes[0].priority
            if let current = best,
                current.priority > priority || (current.priority == priority && current.entry.seq < head.seq)
            {
                continue
            }
            best = (function, head, priority)
        }
        guard let best else { return nil }
        queues[best.function].removeHead()
        count -= 1
        return best.entry.id
    }

    /// Entries held, live or stale (for invariant checks).
    var storedEntries: Int { queues.reduce(0) { $0 + $1.entries } }
}
