import TaskGateAPI
import TaskScheduler
import Testing

@testable import TaskGateHTTP

/// The event stream's state without I/O: numbering, filters, resuming with Last-Event-ID, the bounded history,
/// and dropping a reader that falls behind.
@Suite struct EventStreamCoreTests {
    func core(history: Int = 100, historyBytes: Int = 1 << 20, buffer: Int = 1 << 20, streams: Int = 10)
        -> EventStreamCore
    {
        EventStreamCore(
            run: "r1", historyLimit: history, historyBytes: historyBytes, bufferLimit: buffer, maxStreams: streams)
    }

    func task(_ id: UInt64, _ function: String = "f", _ state: TaskState = .pending, result: String? = nil)
        -> EventStreamCore.Pending
    {
        let data = #"{"id":"\#(id)","state":"\#(state.rawValue)"}"#
        return .init(
            subject: .task(TaskID(rawValue: id), function: function, state: state), name: "task",
            data: Array(data.utf8), dataWithResult: result.map { Array((data.dropLast() + #","result":\#($0)}"#).utf8) }
        )
    }

    let worker = EventStreamCore.Pending(subject: .worker, name: "worker", data: Array(#"{"id":"w1"}"#.utf8))

    /// Opens a stream, failing the test when it is refused.
    func open(_ core: inout EventStreamCore, _ filter: EventStreamCore.Filter, _ lastEventID: String?) throws
        -> EventStreamCore.StreamID
    {
        guard let id = core.open(filter, lastEventID: lastEventID) else { throw Failure("the stream was refused") }
        return id
    }

    /// Everything stream `id` has to send now, as text (the `retry:` hint dropped).
    func drain(_ core: inout EventStreamCore, _ id: EventStreamCore.StreamID, max: Int = 1 << 20) -> String {
        var text = ""
        while case .bytes(let bytes) = core.take(id, max: max) { text += String(decoding: bytes, as: UTF8.self) }
        return text.replacingOccurrences(of: "retry: 2000\n\n", with: "")
    }

    /// The `id:` lines of `text`.
    func ids(_ text: String) -> [String] {
        text.split(separator: "\n").filter { $0.hasPrefix("id: ") }.map { String($0.dropFirst(4)) }
    }

    @Test func eventsAreNumberedInOrderAndFramedAsServerSentEvents() throws {
        var core = core()
        let stream = try open(&core, .init(), nil)
        #expect(core.take(stream, max: 100) == .bytes(Array("retry: 2000\n\n".utf8)))
        #expect(core.take(stream, max: 100) == .wait)
        let wake = core.publish([task(1), worker])
        #expect(wake == [stream], "a waiting stream is woken once")
        #expect(core.publish([task(2)]).isEmpty, "a stream already woken is not woken again")
        #expect(
            drain(&core, stream) == """
                id: r1-1\nevent: task\ndata: {"id":"1","state":"pending"}\n\n\
                id: r1-2\nevent: worker\ndata: {"id":"w1"}\n\n\
                id: r1-3\nevent: task\ndata: {"id":"2","state":"pending"}\n\n
                """)
    }

    @Test func eventNumbersAreWrittenInDecimal() {
        for value: UInt64 in [0, 9, 10, 99, 100, 12_345, 1 << 32, .max] {
            var text: [UInt8] = []
            JSONWriter.appendDecimal(value, to: &text)
            #expect(String(decoding: text, as: UTF8.self) == String(value))
        }
    }

    @Test func filtersSelectByKindIdFunctionAndStateAndResultsOnlyOnRequest() throws {
        var core = core()
        let byID = try open(&core, .init(workers: false, ids: [TaskID(rawValue: 2)]), nil)
        let byFunction = try open(&core, .init(workers: false, functions: ["g"]), nil)
        let finished = try open(&core, .init(workers: false, states: [.succeeded, .failed], results: true), nil)
        let workersOnly = try open(&core, .init(tasks: false), nil)
        _ = core.publish([
            task(1, "f"), task(2, "g"), worker, task(2, "g", .running), task(2, "g", .succeeded, result: "42"),
            task(1, "f", .failed),
        ])
        #expect(ids(drain(&core, byID)) == ["r1-2", "r1-4", "r1-5"])
        #expect(ids(drain(&core, byFunction)) == ["r1-2", "r1-4", "r1-5"])
        let finishedText = drain(&core, finished)
        #expect(ids(finishedText) == ["r1-5", "r1-6"])
        #expect(finishedText.contains(#""result":42"#))
        #expect(ids(drain(&core, workersOnly)) == ["r1-3"])
        let plain = try open(&core, .init(), "r1-4")
        #expect(!drain(&core, plain).contains("result"), "without results=true no result")
    }

    @Test func lastEventIDResumesWithinTheHistoryAndSaysWhenItCannot() throws {
        var core = core(history: 3)
        _ = core.publish((1...5).map { task($0) })  // keeps r1-3, r1-4, r1-5
        let resumed = try open(&core, .init(), "r1-2")
        #expect(ids(drain(&core, resumed)) == ["r1-3", "r1-4", "r1-5"])
        let upToDate = try open(&core, .init(), "r1-5")
        #expect(drain(&core, upToDate).isEmpty)
        for gone in ["r1-1", "r0-4", "r1-9", "nonsense", ""] {
            let stream = try open(&core, .init(), gone)
            let text = drain(&core, stream)
            #expect(text.hasPrefix("event: reset\n"), "\(gone)")
            #expect(text.contains(#""oldest_event_id":"r1-3""#), "\(gone)")
            #expect(ids(text).isEmpty, "\(gone): nothing replayed")
        }
    }

    @Test func changesPassedOverWhileNoStreamWasOpenTurnAResumeIntoAReset() throws {
        var core = core()
        _ = core.publish([task(1), task(2)])
        core.skip(3)  // numbers 3, 4, 5 went by unrendered
        _ = core.publish([task(6)])
        let resumed = try open(&core, .init(), "r1-2")
        let text = drain(&core, resumed)
        #expect(text.hasPrefix("event: reset\n"), "the events after r1-2 were not kept")
        #expect(text.contains(#""oldest_event_id":"r1-6""#))
        let current = try open(&core, .init(), "r1-6")
        #expect(drain(&core, current).isEmpty)
    }

    @Test func theHistoryIsBoundedInBytesToo() {
        var core = core(history: 1_000, historyBytes: 200)
        _ = core.publish((1...50).map { task($0) })
        #expect(core.history.count < 10)
        #expect(core.historyWeight <= 200)
        #expect(core.history.last?.number == 50)
    }

    @Test func aSlowReaderIsDroppedWithAFinalEventAndTheOthersGoOn() throws {
        var core = core(buffer: 300)
        let slow = try open(&core, .init(), nil)
        let fast = try open(&core, .init(), nil)
        _ = drain(&core, slow)
        _ = core.publish([task(1)])
        // The slow reader takes part of event 1, then falls behind.
        guard case .bytes(let head) = core.take(slow, max: 10) else { throw Failure("no bytes") }
        #expect(head.count == 10)
        var fastSeen: [String] = []
        for number in 2...20 {
            _ = core.publish([task(UInt64(number))])
            fastSeen += ids(drain(&core, fast))
        }
        #expect(fastSeen == (1...20).map { "r1-\($0)" })
        let rest = drain(&core, slow)
        // Event 1 is finished (its bytes stay well-formed), then the dropped event names it, then the stream ends.
        #expect(String(decoding: head, as: UTF8.self) == "id: r1-1\ne")
        #expect(rest.hasPrefix("vent: task\ndata: {\"id\":\"1\",\"state\":\"pending\"}\n\nevent: dropped\n"))
        #expect(rest.contains(#""last_event_id":"r1-1""#))
        #expect(core.take(slow, max: 100) == .end)
        #expect(core.dropped == 1)
        core.close(slow)
        #expect(core.count == 1)
    }

    @Test func heartbeatsGoOnlyToIdleStreamsAndStreamsAreBounded() throws {
        var core = core(streams: 2)
        let idle = try open(&core, .init(), nil)
        let busy = try open(&core, .init(workers: false), nil)
        #expect(core.open(.init(), lastEventID: nil) == nil, "the third is refused")
        _ = drain(&core, idle)
        _ = drain(&core, busy)
        #expect(core.take(idle, max: 10) == .wait)
        _ = core.publish([worker])  // only `idle` wants it, and it is woken
        #expect(core.heartbeat() == [busy], "idle has an unsent event; busy waits and gets a heartbeat")
        #expect(drain(&core, busy) == ": keep-alive\n\n")
        core.close(idle)
        #expect(core.open(.init(), lastEventID: nil) != nil, "a closed stream frees its place")
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
