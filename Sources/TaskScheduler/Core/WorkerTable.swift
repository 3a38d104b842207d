/// The registered workers: their records in one dense array, and an id -> slot index.
///
/// A record is read and written in place through its slot (`subscript(slot:)`), so reading one field (a load, a
/// capacity) copies nothing; reading it through a dictionary's `values` copied the whole record, retaining each of
/// its sets and arrays, several times per task. Removing a worker moves the last record into its slot, so a slot
/// is valid only until the next removal.
struct WorkerTable: Sendable {
    private var records: [WorkerRecord] = []
    private var index: [WorkerID: Int] = [:]

    /// How many workers are registered.
    var count: Int { records.count }

    /// The slot of a registered worker.
    func slot(of id: WorkerID) -> Int? {
        index[id]
    }

    /// The record in a slot, readable and writable in place.
    subscript(slot slot: Int) -> WorkerRecord {
        _read { yield records[slot] }
        _modify { yield &records[slot] }
    }

    /// A copy of a registered worker's record (nil when it is not registered).
    subscript(id: WorkerID) -> WorkerRecord? {
        index[id].map { records[$0] }
    }

    /// The record of a registered worker, readable and writable in place (it must be registered).
    subscript(registered id: WorkerID) -> WorkerRecord {
        _read { yield records[index[id]!] }
        _modify { yield &records[index[id]!] }
    }

    /// Registers a worker (its id must be new).
    mutating func insert(_ record: WorkerRecord) {
        precondition(index[record.id] == nil, "worker \(record.id) is registered already")
        index[record.id] = records.count
        records.append(record)
    }

    /// Removes a worker and returns its record.
    mutating func remove(_ id: WorkerID) -> WorkerRecord? {
        guard let slot = index.removeValue(forKey: id) else { return nil }
        let last = records.count - 1
        if slot != last {
            records.swapAt(slot, last)
            index[records[slot].id] = slot
        }
        return records.removeLast()
    }

    /// Every registered worker, in no particular order.
    var all: [WorkerRecord] { records }
}
