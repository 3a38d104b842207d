/// The task records: a slab of records with a free list, and an id -> slot index.
///
/// Records live in one growing array, so the index that is rehashed as the table grows holds 4-byte slots, not
/// whole records, and code that already knows a slot reads and writes the record without hashing its id.
struct TaskTable: Sendable {
    private var records: [TaskRecord?] = []
    private var free: [Int32] = []
    private var index: [TaskID: Int32] = [:]

    /// How many records are stored.
    var count: Int { index.count }

    /// The slot of a stored task.
    func slot(of id: TaskID) -> Int? {
        index[id].map(Int.init)
    }

    /// A copy of a stored record.
    subscript(id: TaskID) -> TaskRecord? {
        guard let slot = index[id] else { return nil }
        return records[Int(slot)]
    }

    /// The record in a live slot, readable and writable in place.
    subscript(slot slot: Int) -> TaskRecord {
        _read { yield records[slot]! }
        _modify { yield &records[slot]! }
    }

    /// Whether `slot` holds the task `id` (slots are reused after eviction).
    func holds(_ id: TaskID, at slot: Int) -> Bool {
        slot < records.count && records[slot]?.id == id
    }

    /// Makes room for `count` more records at once (a restart loads many), so the table grows once, not by doubling.
    mutating func reserve(_ count: Int) {
        records.reserveCapacity(records.count + count)
        index.reserveCapacity(index.count + count)
    }

    /// Stores a new record and returns its slot.
    mutating func insert(_ record: TaskRecord) -> Int {
        let slot: Int
        if let reused = free.popLast() {
            slot = Int(reused)
            records[slot] = record
        } else {
            slot = records.count
            records.append(record)
        }
        index[record.id] = Int32(slot)
        return slot
    }

    /// Removes a record and returns it.
    mutating func remove(_ id: TaskID) -> TaskRecord? {
        guard let slot = index.removeValue(forKey: id) else { return nil }
        defer {
            records[Int(slot)] = nil
            free.append(slot)
        }
        return records[Int(slot)]
    }

    /// Every stored record, in no particular order.
    var all: some Sequence<TaskRecord> {
        records.lazy.compactMap { $0 }
    }
}
