import CMicroHTTPD
import Synchronization
import TaskGateAPI
import TaskScheduler

#if canImport(Glibc)
    import Glibc
#endif

/// `GET /events`: the scheduler's changes as Server-Sent Events (see `EventStreamCore` for the semantics).
///
/// The scheduler hands its changes over under its own lock (`enqueue`, which only appends them to a bounded queue);
/// the HTTP server's stream thread (`pump`) renders them once each, numbers them, keeps them in the history and
/// appends them to the streams that want them, then resumes the connections that were waiting. A stream's
/// connection is suspended in libmicrohttpd while it has nothing to send, so an open stream holds a connection and
/// its buffer, never a thread, and a slow reader never slows the scheduler: it is dropped once its buffer is full.
public final class EventHub: Sendable {
    /// The limits.
    public struct Configuration: Sendable {
        /// Events kept for `Last-Event-ID`.
        public var historyLimit = 10_000
        /// ... and at most this many bytes of them.
        public var historyBytes = 16 << 20
        /// Unsent bytes a stream may have before it is dropped.
        public var bufferLimit = 1 << 20
        /// Streams open at once.
        public var maxStreams = 1_000
        /// Changes waiting for the stream thread; past this, changes are lost and every stream is told (a reset).
        public var queueLimit = 1_000_000
        /// A comment line to idle streams this often.
        public var heartbeat: Duration = .seconds(15)
        /// After a pass that rendered at least `busyBatch` changes (a load), the stream thread waits this long before
        /// it looks again, so that the next pass takes a batch: under load it wakes (and wakes the streams' connections)
        /// a few thousand times a second instead of once per handful of changes, and the scheduler writes its eventfd
        /// as rarely. An event then reaches its streams up to this much later; a lone change is sent at once.
        public var coalesce: Duration = .microseconds(500)
        /// See `coalesce`.
        public var busyBatch = 16

        /// The defaults.
        public init() {}
    }

    struct State {
        var core: EventStreamCore
        /// The connection of each stream that is suspended (waiting for events), and its hang-up watch.
        var suspended: [EventStreamCore.StreamID: (connection: UnsafeSendablePointer, watch: UInt64?)] = [:]
        /// Watches suspended streams' sockets, so that a client that goes away frees its stream at once.
        var hangups: HangupWatcher?
        var eventLoop: EventLoop?
        /// Turns the scheduler's publishing on or off and returns the changes it passed over meanwhile (see
        /// `Scheduler.setPublishing`): on while a stream is open, so an event copies no record while none is.
        var switchPublishing: (@Sendable (Bool) -> Int)?
    }

    struct Incoming {
        var changes: [PublishedChange] = []
        /// Changes dropped because the queue was full, since the stream thread last looked.
        var lost = 0
    }

    let configuration: Configuration
    private let state: Mutex<State>
    private let incoming = Mutex(Incoming())
    /// The eventfd that wakes the stream thread (set by the pump that attaches; -1 before).
    private let wakeFD = Atomic<Int32>(-1)

    /// A hub for `scheduler`'s changes; nothing is published until a server `attach`es to it.
    public init(configuration: Configuration = Configuration(), run: String) {
        self.configuration = configuration
        state = Mutex(
            State(
                core: EventStreamCore(
                    run: run, historyLimit: configuration.historyLimit, historyBytes: configuration.historyBytes,
                    bufferLimit: configuration.bufferLimit, maxStreams: configuration.maxStreams)))
    }

    /// Called by the scheduler under its lock while publishing is on (a stream is open): queue the changes, wake the
    /// stream thread.
    func enqueue(_ changes: [PublishedChange]) {
        let wasEmpty = incoming.withLock { incoming -> Bool in
            let wasEmpty = incoming.changes.isEmpty && incoming.lost == 0
            if incoming.changes.count + changes.count > configuration.queueLimit {
                incoming.lost += changes.count
            } else {
                incoming.changes.append(contentsOf: changes)
            }
            return wasEmpty
        }
        if wasEmpty {
            let fd = wakeFD.load(ordering: .acquiring)
            if fd >= 0 { _ = eventfd_write(fd, 1) }
        }
    }

    /// Connects the hub to the switch of the scheduler's publishing (`Scheduler.setPublishing`), which it turns on
    /// while a stream is open. Before any stream opens.
    func connect(publishing: @escaping @Sendable (Bool) -> Int) {
        state.withLock { $0.switchPublishing = publishing }
    }

    /// Connects the hub to the thread that pumps it (a write to `wakeFD` makes that thread call `pump`), to the
    /// event loop that must be woken after a connection is resumed, and to the server's hang-up watcher.
    func attach(eventLoop: EventLoop?, hangups: HangupWatcher?, wakeFD fd: Int32) {
        state.withLock {
            $0.eventLoop = eventLoop
            $0.hangups = hangups
        }
        wakeFD.store(fd, ordering: .releasing)
    }

    /// Opens a stream, or nil when `maxStreams` are open. Changes passed over while no stream was open are
    /// accounted first: they were never kept, so a resume from before them gets a reset.
    func open(_ filter: EventStreamCore.Filter, lastEventID: String?) -> EventStreamCore.StreamID? {
        state.withLock { state in
            // The first stream turns the scheduler's publishing on; the changes it passed over meanwhile use up
            // their numbers, so a resume from before them gets a reset.
            if state.core.count == 0, let passed = state.switchPublishing?(true), passed > 0 { state.core.skip(passed) }
            guard let id = state.core.open(filter, lastEventID: lastEventID) else {
                stopPublishingIfUnfollowed(state)
                return nil
            }
            return id
        }
    }

    /// After the last stream, the scheduler stops publishing (it only counts its changes until the next one opens).
    /// Under the state lock.
    private func stopPublishingIfUnfollowed(_ state: State) {
        if state.core.count == 0 { _ = state.switchPublishing?(false) }
    }

    /// Streams open now.
    public var streams: Int { state.withLock { $0.core.count } }

    /// The content reader of stream `id`'s response, on libmicrohttpd's thread: copies up to `max` bytes into
    /// `buffer` and returns the count; with nothing to send, suspends `connection` and returns 0 (the stream thread
    /// resumes it when there is); at the end, returns libmicrohttpd's end-of-stream.
    func read(
        _ id: EventStreamCore.StreamID, connection: OpaquePointer, into buffer: UnsafeMutablePointer<CChar>, max: Int
    ) -> Int {
        state.withLock { state in
            switch state.core.take(id, max: max) {
            case .bytes(let bytes):
                bytes.withUnsafeBytes {
                    UnsafeMutableRawPointer(buffer).copyMemory(from: $0.baseAddress!, byteCount: $0.count)
                }
                return bytes.count
            case .wait:
                // Under the lock: the stream thread, which resumes only streams marked waiting and only under this
                // lock, cannot resume the connection before it is suspended. libmicrohttpd does not watch a
                // suspended connection's socket; the hang-up watcher does, or a client that closed would hold its
                // stream (and its place under --max-streams) until the next heartbeat.
                var watch: UInt64?
                if let hangups = state.hangups {
                    let token = hangups.reserveToken()
                    if hangups.watch(token, fd: cmhd_connection_fd(connection), onHangup: { [self] in hangUp(id) }) {
                        watch = token
                    }
                }
                state.suspended[id] = (UnsafeSendablePointer(pointer: connection), watch)
                MHD_suspend_connection(connection)
                return 0
            case .end:
                return -1  // MHD_CONTENT_READER_END_OF_STREAM
            }
        }
    }

    /// Everything stream `id` has to send now; then it is closed.
    func takeAvailableAndClose(_ id: EventStreamCore.StreamID) -> [UInt8] {
        state.withLock { state in
            var bytes: [UInt8] = []
            while case .bytes(let more) = state.core.take(id, max: 1 << 20) { bytes += more }
            close(id, in: &state)
            return bytes
        }
    }

    /// Stream `id`'s response was destroyed (its connection ended).
    func close(_ id: EventStreamCore.StreamID) {
        state.withLock { close(id, in: &$0) }
    }

    private func close(_ id: EventStreamCore.StreamID, in state: inout State) {
        guard state.core.close(id) else { return }
        state.suspended[id] = nil
        stopPublishingIfUnfollowed(state)
    }

    /// The client of suspended stream `id` went away (on the hang-up watcher's thread): the stream ends, and its
    /// connection is resumed so that libmicrohttpd finds it closed and frees it.
    func hangUp(_ id: EventStreamCore.StreamID) {
        resume { core in core.end(id) ? [id] : [] }
    }

    /// Renders and publishes what was queued, then resumes the streams that were waiting. On the stream thread.
    @discardableResult
    func pump() -> Int {
        let (changes, lost) = incoming.withLock { incoming in
            defer {
                incoming.changes = []
                incoming.lost = 0
            }
            return (incoming.changes, incoming.lost)
        }
        var pending: [EventStreamCore.Pending] = []
        pending.reserveCapacity(changes.count)
        for change in changes { pending.append(EventJSON.render(change)) }
        resume { core in
            var wake = lost > 0 ? core.lose(lost) : []
            wake += core.publish(pending)
            return wake
        }
        return changes.count
    }

    /// A comment line to idle streams. On the stream thread.
    func heartbeat() {
        resume { $0.heartbeat() }
    }

    /// Ends every stream once what it was sent is out (the server drains).
    public func endAll() {
        resume { $0.endAll() }
    }

    private func resume(_ body: (inout EventStreamCore) -> [EventStreamCore.StreamID]) {
        let (connections, eventLoop, hangups) = state.withLock { state in
            let wake = body(&state.core)
            return (wake.compactMap { state.suspended.removeValue(forKey: $0) }, state.eventLoop, state.hangups)
        }
        // Each was suspended by `read` and marked waiting; `body` cleared the mark under the lock, so it is resumed
        // exactly once, and a suspended connection stays open until it is: its socket is unwatched first, while its
        // descriptor cannot have been reused.
        for (connection, watch) in connections {
            if let watch { hangups?.unwatch(watch) }
            MHD_resume_connection(connection.pointer)
        }
        if !connections.isEmpty { eventLoop?.wake() }
    }
}

/// The data of each event, as JSON.
enum EventJSON {
    static func render(_ change: PublishedChange) -> EventStreamCore.Pending {
        switch change {
        case .task(let record):
            var writer = JSONWriter(capacity: 256)
            writeTask(record, into: &writer)
            var withResult: [UInt8]?
            if let result = record.result {
                var full = writer
                full.key("result")
                full.raw(result.bytes)
                full.endObject()
                withResult = full.bytes
            }
            writer.endObject()
            return .init(
                subject: .task(record.id, function: record.function, state: record.state), name: "task",
                data: writer.bytes, dataWithResult: withResult)
        case .workerJoined(let worker):
            return .init(subject: .worker, name: "worker", data: workerData(worker, change: "joined", detail: nil))
        case .workerLeft(let worker, let exit):
            let (change, detail): (String, String?) =
                switch exit {
                case .left: ("left", nil)
                case .died(let detail): ("died", detail)
                }
            return .init(subject: .worker, name: "worker", data: workerData(worker, change: change, detail: detail))
        }
    }

    /// The task's fields, the object left open (the caller may add the result).
    private static func writeTask(_ record: TaskRecord, into writer: inout JSONWriter) {
        writer.beginObject()
        TaskJSON.writeIdentity(record, into: &writer)
        writer.key("attempt")
        writer.number(record.attempt)
        if let holder = record.holder {
            writer.key("worker")
            writer.string(holder.description)
        }
        TaskJSON.writeTimes(record, into: &writer)
        if let error = record.error {
            writer.key("error")
            TaskJSON.writeError(error, into: &writer)
        }
    }

    private static func workerData(_ worker: WorkerSummary, change: String, detail: String?) -> [UInt8] {
        var writer = JSONWriter(capacity: 128)
        writer.beginObject()
        writer.key("id")
        writer.string(worker.id.description)
        writer.key("name")
        writer.string(worker.name)
        writer.key("change")
        writer.string(change)
        if let detail {
            writer.key("detail")
            writer.string(detail)
        }
        writer.key("functions")
        writer.beginArray()
        for function in worker.functions { writer.string(function) }
        writer.endArray()
        writer.key("capacity")
        writer.number(worker.capacity)
        writer.key("remote")
        writer.bool(worker.remote)
        writer.endObject()
        return writer.bytes
    }
}

/// The thread that pumps an `EventHub`: renders and fans out the scheduler's changes as they come, and sends the
/// heartbeats. Owns its wake eventfd and its thread; `stop()` ends the thread.
// The fd is set in init and never changes.
final class EventPump: @unchecked Sendable {
    let hub: EventHub
    private let wakeFD: Int32
    private let thread = ThreadHandle()

    /// Starts the thread and attaches it to `hub`.
    init(hub: EventHub, eventLoop: EventLoop?, hangups: HangupWatcher?) throws(HTTPServer.StartError) {
        self.hub = hub
        wakeFD = eventfd(0, Int32(EFD_CLOEXEC))
        guard wakeFD >= 0 else { throw HTTPServer.StartError(description: "cannot create the event pump's eventfd") }
        try thread.start(self, routine: MHDCallbacks.eventPump, failure: "cannot start the event pump thread")
        hub.attach(eventLoop: eventLoop, hangups: hangups, wakeFD: wakeFD)
    }

    deinit {
        assert(!thread.isRunning, "EventPump released without stop()")
        if wakeFD >= 0 { close(wakeFD) }
    }

    /// The thread's loop; returns once `stop()` has been called.
    func run() {
        cmhd_name_thread("taskgate-events")
        let interval = hub.configuration.heartbeat
        let milliseconds = Int32(clamping: Int64(interval / .milliseconds(1)))
        var lastHeartbeat = ContinuousClock.now
        while !thread.isStopping {
            var poller = pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)
            if poll(&poller, 1, max(1, milliseconds)) > 0 {
                var value: eventfd_t = 0
                _ = eventfd_read(wakeFD, &value)
                if hub.pump() >= hub.configuration.busyBatch, hub.configuration.coalesce > .zero {
                    _ = usleep(UInt32(clamping: hub.configuration.coalesce.nanoseconds / 1_000))
                }
            }
            if ContinuousClock.now - lastHeartbeat >= interval {
                lastHeartbeat = .now
                hub.heartbeat()
            }
        }
    }

    /// Ends the thread and waits for it. Idempotent.
    func stop() {
        thread.stop { _ = eventfd_write(wakeFD, 1) }
    }
}
