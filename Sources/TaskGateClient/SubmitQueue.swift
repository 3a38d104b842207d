/// Decides how each single `submit` goes out, as a value tested without I/O: alone as `POST /tasks` while few
/// submissions are in flight (one round trip, with the short server-side wait), or, once `maxDirect` are in flight,
/// queued and sent with the others queued meanwhile as one `POST /tasks/batch`. A service submitting from many
/// requests at once then pays one request per batch instead of one per task; one submitting one at a time never
/// waits for company.
struct SubmitQueue<Item> {
    /// How a submission goes out.
    enum Route: Equatable {
        /// Send it alone now; call `directFinished()` when its answer is in.
        case direct
        /// It was queued; when `startSender` is true, the caller starts the one sender that takes batches.
        case queued(startSender: Bool)
    }

    /// Single submissions in flight at most before the next ones are queued.
    let maxDirect: Int
    /// Tasks per batch at most (the server takes at most 1,000).
    let maxBatch: Int
    private(set) var direct = 0
    private(set) var queued: [Item] = []
    private(set) var sending = false

    init(maxDirect: Int, maxBatch: Int) {
        self.maxDirect = max(1, maxDirect)
        self.maxBatch = max(1, min(1_000, maxBatch))
    }

    /// Routes one submission (`item` is kept only when it is queued).
    mutating func admit(_ item: Item) -> Route {
        if direct < maxDirect {
            direct += 1
            return .direct
        }
        queued.append(item)
        if sending { return .queued(startSender: false) }
        sending = true
        return .queued(startSender: true)
    }

    /// A direct submission was answered.
    mutating func directFinished() {
        direct -= 1
    }

    /// The next batch for the sender, oldest first; nil (and the sender ends) when nothing is queued.
    mutating func nextBatch() -> [Item]? {
        guard !queued.isEmpty else {
            sending = false
            return nil
        }
        let count = min(maxBatch, queued.count)
        let batch = Array(queued.prefix(count))
        queued.removeFirst(count)
        return batch
    }
}
