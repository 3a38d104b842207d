import CMicroHTTPD
import HeapModule
import Synchronization

/// Answers parked on the event loop until the store has committed what they report (`StoreWait`).
///
/// An acknowledgement waits for its commit, so under load nearly every answer parks for a moment. Parked here, that
/// costs a heap entry and libmicrohttpd's suspend and resume on the loop's own thread: the store's writer only
/// publishes its progress and wakes the loop once per commit, and the loop resumes every connection whose change is
/// now stored (`settle`). No responder, no lock shared with the writer per answer, no hang-up watch: the wait is
/// bounded by the commit (or, while the store fails, by the gate's timeout), and the connection by the connection
/// limit.
///
/// Owner: the event loop's thread; only `waiting` is read elsewhere (by the writer, to skip waking an idle loop).
final class StoreWaits: @unchecked Sendable {  // touched on the loop thread only, except the atomic `waiting`
    struct Entry: Comparable {
        var seq: UInt64
        var order: UInt64
        var deadline: ContinuousClock.Instant
        var connection: OpaquePointer
        var context: ConnectionContext
        var wait: StoreWait

        static func < (lhs: Entry, rhs: Entry) -> Bool { (lhs.seq, lhs.order) < (rhs.seq, rhs.order) }
        static func == (lhs: Entry, rhs: Entry) -> Bool { (lhs.seq, lhs.order) == (rhs.seq, rhs.order) }
    }

    let gate: StoreGate
    /// Answers parked here right now.
    let waiting = Atomic<Int>(0)
    private var entries = Heap<Entry>()
    private var order: UInt64 = 0

    init(gate: StoreGate) {
        self.gate = gate
    }

    /// Parks `connection` (suspending it) until `wait`'s change is committed; the resumed access call sends
    /// `context.storedAnswer`.
    func park(_ connection: OpaquePointer, _ context: ConnectionContext, _ wait: StoreWait) {
        order &+= 1
        waiting.add(1, ordering: .sequentiallyConsistent)
        gate.store.nudge()
        MHD_suspend_connection(connection)
        entries.insert(
            Entry(
                seq: wait.response.storeSeq, order: order, deadline: .now + gate.timeout, connection: connection,
                context: context, wait: wait))
    }

    /// Whether an answer is ready to be resumed (its change is committed): the loop then runs again without waiting.
    var hasReady: Bool {
        guard let first = entries.min else { return false }
        return first.seq <= gate.committed
    }

    /// Resumes every connection whose change is committed and, while the store fails, every one waiting past the
    /// timeout (with 503 `not_stored`); returns how many. libmicrohttpd answers them in its next run.
    @discardableResult
    func settle() -> Int {
        guard !entries.isEmpty else { return 0 }
        var resumed = 0
        let committed = gate.committed
        while let first = entries.min, first.seq <= committed {
            resume(entries.removeMin(), with: first.wait.response)
            resumed += 1
        }
        guard !entries.isEmpty, gate.isFailing else { return resumed }
        let now = ContinuousClock.now
        guard entries.unordered.contains(where: { $0.deadline <= now }) else { return resumed }
        var keep: [Entry] = []
        while let entry = entries.popMin() {
            if entry.deadline <= now, let answer = gate.failureAnswer(instance: entry.wait.instance) {
                resume(entry, with: answer)
                resumed += 1
            } else {
                keep.append(entry)
            }
        }
        entries = Heap(keep)
        return resumed
    }

    /// Resumes every parked connection: those stored with their answer, the rest with 503 (the server is stopping;
    /// nothing unstored is acknowledged). Called once the loop has ended, before libmicrohttpd stops.
    func resumeAll() {
        settle()
        while let entry = entries.popMin() {
            resume(entry, with: StoreGate.closedAnswer(instance: entry.wait.instance))
        }
    }

    private func resume(_ entry: Entry, with answer: HTTPResponse) {
        entry.context.storedAnswer = answer
        waiting.subtract(1, ordering: .sequentiallyConsistent)
        MHD_resume_connection(entry.connection)
    }
}
