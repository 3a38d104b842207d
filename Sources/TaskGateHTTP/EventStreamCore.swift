import DequeModule
import TaskGateAPI
import TaskScheduler

/// The event stream's state as one value (`GET /events`, Server-Sent Events): the numbered history of recent events,
/// and each open stream's filter and unsent bytes. No I/O: `EventHub` owns it behind a lock, feeds it the
/// scheduler's changes and moves the bytes to the connections.
///
/// - Events are numbered in one run from 1; an event's SSE id is `<run>-<number>`, so an id from another run (a
///   restart) is recognised as such.
/// - The history keeps the last `historyLimit` events (and at most `historyBytes` of them): a stream that resumes
///   (`Last-Event-ID`) within it gets every event it missed that matches its filter; one that resumes from further
///   back, or from another run, first gets a `reset` event that says so (the client should re-read the state it
///   follows), then the live events.
/// - A stream's unsent bytes are bounded (`bufferLimit`): a reader that falls that far behind is dropped. Its buffer
///   is replaced by a `dropped` event naming the last event it was sent in full, and the stream ends; it can resume
///   from that id. The scheduler never waits for a reader.
struct EventStreamCore {
    /// A stream.
    typealias StreamID = UInt64

    /// Which events a stream wants.
    struct Filter: Equatable {
        /// Task events (`kinds=task`).
        var tasks = true
        /// Worker events (`kinds=worker`).
        var workers = true
        /// Only these tasks (empty: all).
        var ids: Set<TaskID> = []
        /// Only tasks of these functions (empty: all).
        var functions: Set<String> = []
        /// Only task events into these states (empty: all).
        var states: Set<TaskState> = []
        /// Task events carry the result (`results=true`).
        var results = false

        func admits(_ event: Event) -> Bool {
            switch event.subject {
            case .worker: return workers
            case .task(let id, let function, let state):
                return tasks && (ids.isEmpty || ids.contains(id)) && (functions.isEmpty || functions.contains(function))
                    && (states.isEmpty || states.contains(state))
            }
        }
    }

    /// One event, rendered once as SSE lines (and a second time with the result, when the task has one).
    struct Event {
        enum Subject {
            case task(TaskID, function: String, state: TaskState)
            case worker
        }

        var number: UInt64
        var subject: Subject
        /// `id:`, `event:` and `data:` lines and the blank line that ends the event.
        var text: [UInt8]
        /// The same with the task's result in its data (nil when it has none).
        var textWithResult: [UInt8]?

        var weight: Int { text.count + (textWithResult?.count ?? 0) }
    }

    struct Stream {
        var filter: Filter
        /// Bytes rendered for it and not yet handed to its connection.
        var buffer: [UInt8] = []
        /// How far into `buffer` the connection has taken (the rest is unsent).
        var sent = 0
        /// The number of the last event whose bytes were all handed over (for the `dropped` event).
        var lastSent: UInt64 = 0
        /// The events in `buffer` not yet handed over in full: each one's number and where it starts and ends.
        var pendingEnds: Deque<(number: UInt64, start: Int, end: Int)> = []
        /// Its connection waits for bytes (suspended): the next bytes must wake it.
        var waiting = false
        /// Dropped for falling behind: once the buffer is sent, the stream ends.
        var ending = false

        var unsent: Int { buffer.count - sent }
    }

    /// How a stream's connection should go on.
    enum Take: Equatable {
        /// These bytes, now.
        case bytes([UInt8])
        /// Nothing now: the connection waits (it was marked waiting) until `publish` or `heartbeat` wakes it.
        case wait
        /// The stream is over (dropped, or unknown): end the response.
        case end
    }

    let run: String
    let historyLimit: Int
    let historyBytes: Int
    let bufferLimit: Int
    let maxStreams: Int
    private(set) var history: Deque<Event> = []
    private(set) var historyWeight = 0
    private(set) var nextNumber: UInt64 = 1
    private(set) var streams: [StreamID: Stream] = [:]
    /// Streams that want every task's events (subject to their function and state filters).
    private var taskStreams: Set<StreamID> = []
    /// Streams that follow named tasks, by task: an event reaches only those, however many streams are open.
    private var byTask: [TaskID: Set<StreamID>] = [:]
    /// Streams that want worker events.
    private var workerStreams: Set<StreamID> = []
    private var nextStreamID: StreamID = 1
    /// Streams dropped for falling behind since start.
    private(set) var dropped = 0

    init(run: String, historyLimit: Int, historyBytes: Int, bufferLimit: Int, maxStreams: Int) {
        self.run = run
        self.historyLimit = max(1, historyLimit)
        self.historyBytes = max(1, historyBytes)
        self.bufferLimit = max(1, bufferLimit)
        self.maxStreams = max(0, maxStreams)
    }

    /// The number of the newest event (0 before the first).
    var lastNumber: UInt64 { nextNumber - 1 }

    /// Opens a stream; nil when `maxStreams` are open. Its first bytes are a `retry:` hint and, when resuming, the
    /// events it missed (or the `reset` event).
    mutating func open(_ filter: Filter, lastEventID: String?) -> StreamID? {
        guard streams.count < maxStreams else { return nil }
        let id = nextStreamID
        nextStreamID += 1
        var stream = Stream(filter: filter)
        stream.buffer.append(contentsOf: "retry: 2000\n\n".utf8)
        if let lastEventID {
            let resumeAfter = parse(lastEventID)
            let oldest = history.first?.number ?? nextNumber
            if let after = resumeAfter, after + 1 >= oldest, after <= lastNumber {
                for event in history where event.number > after && filter.admits(event) {
                    Self.append(event, to: &stream)
                }
            } else {
                stream.buffer.append(contentsOf: Self.reset(lastEventID: lastEventID, oldest: oldest, run: run))
            }
        }
        stream.lastSent = lastNumber
        streams[id] = stream
        if filter.tasks {
            if filter.ids.isEmpty {
                taskStreams.insert(id)
            } else {
                for task in filter.ids { byTask[task, default: []].insert(id) }
            }
        }
        if filter.workers { workerStreams.insert(id) }
        return id
    }

    /// Closes a stream (its connection ended); false if it was not open.
    @discardableResult
    mutating func close(_ id: StreamID) -> Bool {
        guard let stream = streams.removeValue(forKey: id) else { return false }
        taskStreams.remove(id)
        workerStreams.remove(id)
        for task in stream.filter.ids {
            byTask[task]?.remove(id)
            if byTask[task]?.isEmpty == true { byTask[task] = nil }
        }
        return true
    }

    /// `count` changes went by unrendered (no stream was open): their numbers are used up and the history is
    /// emptied, so a stream resuming from before them gets a `reset` rather than a silent gap.
    mutating func skip(_ count: Int) {
        nextNumber += UInt64(count)
        history.removeAll()
        historyWeight = 0
    }

    /// An event before it is numbered: what it is about, its `event:` name, and its data (JSON), also with the
    /// task's result when it has one.
    struct Pending {
        var subject: Event.Subject
        var name: String
        var data: [UInt8]
        var dataWithResult: [UInt8]?
    }

    /// Numbers and keeps `events` and appends each to the streams that want it. Returns the streams whose
    /// connection waits and must be woken.
    mutating func publish(_ events: [Pending]) -> [StreamID] {
        var wake: [StreamID] = []
        for pending in events {
            let number = nextNumber
            nextNumber += 1
            let event = Event(
                number: number, subject: pending.subject, text: frame(number, pending.name, pending.data),
                textWithResult: pending.dataWithResult.map { frame(number, pending.name, $0) })
            history.append(event)
            historyWeight += event.weight
            while history.count > historyLimit || (history.count > 1 && historyWeight > historyBytes) {
                historyWeight -= history.removeFirst().weight
            }
            switch event.subject {
            case .worker:
                for id in workerStreams { deliver(event, to: id, waking: &wake) }
            case .task(let task, _, _):
                for id in taskStreams { deliver(event, to: id, waking: &wake) }
                for id in byTask[task] ?? [] { deliver(event, to: id, waking: &wake) }
            }
        }
        return wake
    }

    /// An event's lines, `id: RUN-NUMBER`, `event: NAME` and `data: DATA`, and the blank line that ends it, written
    /// into one buffer of the right size (one allocation per event: this runs for every change while streams are
    /// open).
    private func frame(_ number: UInt64, _ name: String, _ data: [UInt8]) -> [UInt8] {
        var text: [UInt8] = []
        text.reserveCapacity(4 + run.utf8.count + 21 + 8 + name.utf8.count + 7 + data.count + 2)
        text.append(contentsOf: "id: ".utf8)
        text.append(contentsOf: run.utf8)
        text.append(UInt8(ascii: "-"))
        JSONWriter.appendDecimal(number, to: &text)
        text.append(contentsOf: "\nevent: ".utf8)
        text.append(contentsOf: name.utf8)
        text.append(contentsOf: "\ndata: ".utf8)
        text.append(contentsOf: data)
        text.append(contentsOf: "\n\n".utf8)
        return text
    }

    /// Appends `event` to stream `id` if its filter admits it; drops the stream if that puts it too far behind.
    private mutating func deliver(_ event: Event, to id: StreamID, waking wake: inout [StreamID]) {
        // In place through the dictionary's index (one hash; taking the stream out and putting it back was two).
        guard let index = streams.index(forKey: id) else { return }
        guard streams.values[index].filter.admits(event), !streams.values[index].ending else { return }
        Self.append(event, to: &streams.values[index])
        if streams.values[index].unsent > bufferLimit {
            var stream = streams.remove(at: index).value
            drop(&stream)
            Self.wakeIfWaiting(&stream, id, &wake)
            streams[id] = stream
        } else {
            Self.wakeIfWaiting(&streams.values[index], id, &wake)
        }
    }

    /// A stream that waited for bytes has some now: it is woken (once).
    private static func wakeIfWaiting(_ stream: inout Stream, _ id: StreamID, _ wake: inout [StreamID]) {
        guard stream.waiting else { return }
        stream.waiting = false
        wake.append(id)
    }

    /// A comment line to every stream with nothing unsent, so that idle connections show they are alive and a gone
    /// client is noticed. Returns the streams to wake.
    mutating func heartbeat() -> [StreamID] {
        update(Array(streams.keys)) { stream in
            guard stream.unsent == 0, !stream.ending else { return false }
            stream.buffer.append(contentsOf: ": keep-alive\n\n".utf8)
            return true
        }
    }

    /// Applies `change` to each of `ids` that is open; each that it changed (it returned true) and that waits is
    /// marked no longer waiting and returned, to be woken.
    private mutating func update(_ ids: some Sequence<StreamID>, _ change: (inout Stream) -> Bool) -> [StreamID] {
        var wake: [StreamID] = []
        for id in ids {
            guard var stream = streams.removeValue(forKey: id) else { continue }
            if change(&stream), stream.waiting {
                stream.waiting = false
                wake.append(id)
            }
            streams[id] = stream
        }
        return wake
    }

    /// `count` changes were lost before they were numbered (the hub's queue was full): nothing in the history can be
    /// resumed from any more, and every stream gets a `reset` event. Returns the streams to wake.
    mutating func lose(_ count: Int) -> [StreamID] {
        history.removeAll()
        historyWeight = 0
        let reset = Self.reset(lastEventID: "\(run)-\(lastNumber)", oldest: nextNumber, run: run)
        return update(Array(streams.keys)) { stream in
            guard !stream.ending else { return false }
            stream.buffer.append(contentsOf: reset)
            return true
        }
    }

    /// Ends stream `id` now (its client went away); returns whether it was waiting (and so must be woken).
    mutating func end(_ id: StreamID) -> Bool {
        !update([id]) { stream in
            stream.ending = true
            stream.buffer.removeAll()
            stream.sent = 0
            stream.pendingEnds.removeAll()
            return true
        }.isEmpty
    }

    /// Ends every stream once what it has been sent is out (the server drains). Returns the streams to wake.
    mutating func endAll() -> [StreamID] {
        update(Array(streams.keys)) { stream in
            stream.ending = true
            return true
        }
    }

    /// Up to `max` unsent bytes of stream `id`; or, with none, `wait` (the stream is marked waiting) or `end`.
    mutating func take(_ id: StreamID, max: Int) -> Take {
        guard var stream = streams.removeValue(forKey: id) else { return .end }
        defer { streams[id] = stream }
        if stream.unsent == 0 {
            if stream.ending { return .end }
            stream.waiting = true
            return .wait
        }
        let count = min(max, stream.unsent)
        let bytes = Array(stream.buffer[stream.sent..<(stream.sent + count)])
        stream.sent += count
        while let first = stream.pendingEnds.first, first.end <= stream.sent {
            stream.lastSent = first.number
            stream.pendingEnds.removeFirst()
        }
        if stream.sent == stream.buffer.count {
            stream.buffer.removeAll(keepingCapacity: stream.buffer.capacity <= 64 * 1024)
            stream.sent = 0
            stream.pendingEnds.removeAll()
        }
        return .bytes(bytes)
    }

    /// Streams open.
    var count: Int { streams.count }

    private static func append(_ event: Event, to stream: inout Stream) {
        let text = stream.filter.results ? (event.textWithResult ?? event.text) : event.text
        let start = stream.buffer.count
        stream.buffer.append(contentsOf: text)
        stream.pendingEnds.append((event.number, start, stream.buffer.count))
    }

    /// Replaces what `stream` had not been sent by a `dropped` event, and ends it after that.
    private mutating func drop(_ stream: inout Stream) {
        dropped += 1
        // An event partly handed over is kept whole (the bytes must stay well-formed); every later one goes.
        var keep = stream.sent
        if let partial = stream.pendingEnds.first(where: { $0.start < stream.sent && stream.sent < $0.end }) {
            keep = partial.end
            stream.lastSent = partial.number
        }
        let lastSent = stream.lastSent
        stream.buffer.removeSubrange(keep...)
        stream.pendingEnds.removeAll()
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("last_event_id")
        writer.string("\(run)-\(lastSent)")
        writer.key("detail")
        writer.string(
            "this stream fell more than \(bufferLimit) bytes behind and was closed; reconnect with Last-Event-ID")
        writer.endObject()
        stream.buffer.append(contentsOf: "event: dropped\ndata: ".utf8)
        stream.buffer.append(contentsOf: writer.bytes)
        stream.buffer.append(contentsOf: "\n\n".utf8)
        stream.ending = true
    }

    /// The number in `id` when it is `<run>-<number>` of this run.
    private func parse(_ id: String) -> UInt64? {
        guard let dash = id.lastIndex(of: "-"), id[..<dash] == run else { return nil }
        return UInt64(id[id.index(after: dash)...])
    }

    static func reset(lastEventID: String, oldest: UInt64, run: String) -> [UInt8] {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("last_event_id")
        writer.string(lastEventID)
        writer.key("oldest_event_id")
        writer.string("\(run)-\(oldest)")
        writer.key("detail")
        writer.string(
            "the events after Last-Event-ID are no longer kept (or it is from an earlier run of the server); "
                + "re-read the state you follow, then go on from here")
        writer.endObject()
        return Array("event: reset\ndata: ".utf8) + writer.bytes + Array("\n\n".utf8)
    }
}
