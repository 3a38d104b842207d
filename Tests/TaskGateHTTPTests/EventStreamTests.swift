import Foundation
import TaskGateHTTP
import TaskGateTesting
import Testing

/// `GET /events` against a live server: a task's story as it happens, resuming with Last-Event-ID, worker events,
/// heartbeats, the bounds, and the end of every stream when the server drains.
@Suite(.timeLimit(.minutes(2))) struct EventStreamTests {
    static func object(_ data: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any] ?? [:]
    }

    /// Events from `events` until `done` says so (or the stream ends), at most 30 s.
    static func collect(
        _ events: AsyncThrowingStream<TestEvent, any Error>, until done: @escaping @Sendable ([TestEvent]) -> Bool
    ) async throws -> [TestEvent] {
        try await withThrowingTaskGroup(of: [TestEvent]?.self) { group in
            group.addTask {
                var seen: [TestEvent] = []
                for try await event in events {
                    seen.append(event)
                    if done(seen) { break }
                }
                return seen
            }
            group.addTask {
                try await Task.sleep(for: .seconds(30))
                return nil
            }
            let first = try await group.next()!
            group.cancelAll()
            return try #require(first, "no such events within 30 s")
        }
    }

    @Test func aTasksStoryArrivesInOrderAndResumesFromLastEventID() async throws {
        try await withLiveServer { server, client in
            let opened = try await client.events("/events?kinds=task&results=true")
            #expect(opened.status == 200)
            #expect(opened.headers["content-type"] == "text/event-stream; charset=utf-8")
            #expect(opened.headers["cache-control"] == "no-store")
            let submitted = try await client.post("/tasks", json: #"{"function":"echo","args":{"x":1}}"#)
            let id = try #require(submitted.json["id"] as? String)
            let events = try await Self.collect(opened.events) { seen in
                seen.contains { Self.object($0.data)["state"] as? String == "succeeded" }
            }
            let story = events.filter { Self.object($0.data)["id"] as? String == id }
            #expect(story.map(\.event) == Array(repeating: "task", count: story.count))
            #expect(story.map { Self.object($0.data)["state"] as? String } == ["pending", "running", "succeeded"])
            #expect(story.map { Self.object($0.data)["version"] as? Int } == [1, 2, 3])
            #expect(Self.object(story.last!.data)["result"] as? [String: Int] == ["x": 1])
            #expect(Self.object(story.last!.data)["function"] as? String == "echo")

            // Resuming after the first event replays the other two; without results=true there is no result.
            let first = try #require(story.first?.id)
            let resumed = try await client.events("/events?kinds=task", headers: ["Last-Event-ID": first])
            let replay = try await Self.collect(resumed.events) { seen in
                seen.contains { Self.object($0.data)["state"] as? String == "succeeded" }
            }
            #expect(replay.compactMap(\.id) == story.dropFirst().compactMap(\.id))
            #expect(replay.allSatisfy { Self.object($0.data)["result"] == nil })

            // An id from another run gets a reset event first.
            let other = try await client.events("/events", headers: ["Last-Event-ID": "elsewhere-12"])
            let reset = try await Self.collect(other.events) { !$0.isEmpty }
            #expect(reset.first?.event == "reset")
            #expect(Self.object(reset.first!.data)["last_event_id"] as? String == "elsewhere-12")
            _ = server
        }
    }

    /// While no stream is open the scheduler hands the hub nothing; what changed meanwhile is still counted, so a
    /// resume from before it is a reset, and the next changes reach the new stream.
    @Test func changesWhileNoStreamIsOpenAreCountedNotKept() async throws {
        let echo = #"{"function":"echo","args":1}"#
        try await withLiveServer { server, client in
            let first = try RawConnection(port: server.port)
            try first.send("GET /events?kinds=task HTTP/1.1\r\nHost: test\r\n\r\n")
            await yield(until: server.gateway.events.streams == 1, bound: .seconds(30))
            let before = try await client.post("/tasks", json: echo, headers: ["Prefer": "wait=5"])
            #expect(before.json["state"] as? String == "succeeded")
            // Its three events, then silence (the next heartbeat is 15 s away).
            let text = first.readToEnd(seconds: 1)
            first.close()
            let ids = text.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("id: ") }.map {
                String($0.dropFirst(4))
            }
            #expect(ids.count == 3, "\(text)")
            let last = try #require(ids.last)
            await yield(until: server.gateway.events.streams == 0, bound: .seconds(30))
            #expect(server.gateway.events.streams == 0, "the first stream closed")

            let quiet = try await client.post("/tasks", json: echo, headers: ["Prefer": "wait=5"])
            #expect(quiet.json["state"] as? String == "succeeded")

            let resumed = try await client.events("/events?kinds=task", headers: ["Last-Event-ID": last])
            let after = try await client.post("/tasks", json: echo)
            let afterID = try #require(after.json["id"] as? String)
            let events = try await Self.collect(resumed.events) { seen in
                seen.contains {
                    Self.object($0.data)["id"] as? String == afterID
                        && Self.object($0.data)["state"] as? String == "succeeded"
                }
            }
            #expect(events.first?.event == "reset", "the quiet task's changes were not kept")
            let quietID = quiet.json["id"] as? String
            #expect(!events.contains { Self.object($0.data)["id"] as? String == quietID })
            let story = events.filter { Self.object($0.data)["id"] as? String == afterID }
            #expect(story.map { Self.object($0.data)["state"] as? String } == ["pending", "running", "succeeded"])
        }
    }

    @Test func filtersWorkerEventsAndHeartbeats() async throws {
        try await withLiveServer(gateway: { $0.events.heartbeat = .milliseconds(200) }) { server, client in
            let onlyFailures = try await client.events("/events?state=failed")
            let workers = try await client.events("/events?kinds=worker")
            _ = try await client.post("/tasks", json: #"{"function":"echo","args":1}"#)
            _ = try await client.post("/tasks", json: #"{"function":"fail","args":"boom"}"#)
            let failures = try await Self.collect(onlyFailures.events) { $0.contains { $0.event == "task" } }
            let failed = try #require(failures.first { $0.event == "task" })
            #expect(Self.object(failed.data)["state"] as? String == "failed")
            #expect((Self.object(failed.data)["error"] as? [String: Any])?["code"] != nil)

            let register = try await client.post(
                "/workers", json: #"{"name":"evented","functions":["remote.f"],"capacity":2}"#)
            let workerID = try #require(register.json["id"] as? String)
            let secret = try #require(register.json["secret"] as? String)
            _ = try await client.request("DELETE", "/workers/\(workerID)", headers: ["TaskGate-Worker-Secret": secret])
            let seen = try await Self.collect(workers.events) { seen in
                seen.contains { Self.object($0.data)["change"] as? String == "left" }
                    && seen.contains { $0.event == ":" }
            }
            let changes = seen.filter { $0.event == "worker" }.map { Self.object($0.data) }
            #expect(changes.map { $0["change"] as? String } == ["joined", "left"])
            #expect(changes.allSatisfy { $0["id"] as? String == workerID && $0["name"] as? String == "evented" })
            #expect(seen.contains { $0.event == ":" && $0.data.contains("keep-alive") })
            _ = server
        }
    }

    /// A client that goes away frees its stream (and its place under the cap) at once, not at the next heartbeat:
    /// open-and-close must not be able to fill --max-streams.
    @Test func aStreamWhoseClientWentAwayIsFreedAtOnce() async throws {
        try await withLiveServer(gateway: { $0.events.heartbeat = .seconds(600) }) { server, client in
            for round in 1...3 {
                let sockets = try (0..<20).map { _ in try RawConnection(port: server.port) }
                for socket in sockets { try socket.send("GET /events HTTP/1.1\r\nHost: test\r\n\r\n") }
                await yield(until: server.gateway.events.streams == 20, bound: .seconds(30))
                #expect(server.gateway.events.streams == 20, "round \(round): the streams opened")
                for socket in sockets { socket.close() }
                await yield(until: server.gateway.events.streams == 0, bound: .seconds(30))
                #expect(server.gateway.events.streams == 0, "round \(round): the closed streams were freed")
            }
            _ = client
        }
    }

    @Test func badFiltersAndTooManyStreamsAreProblemsAndDrainEndsEveryStream() async throws {
        try await withLiveServer(gateway: { $0.events.maxStreams = 1 }) { server, client in
            for query in ["kinds=jobs", "ids=nope", "state=done", "results=yes"] {
                let refused = try await client.request("GET", "/events?\(query)")
                #expect(refused.status == 400, "\(query)")
                #expect(refused.json["code"] as? String == "invalid_parameter", "\(query)")
            }
            let open = try await client.events("/events")
            let second = try await client.request("GET", "/events")
            #expect(second.status == 503)
            #expect(second.json["code"] as? String == "too_many_streams")
            #expect(server.gateway.events.streams == 1)
            server.gateway.beginDrain()
            // A heartbeat comment may come first on a slow machine (every 15 s); no event may.
            var events: [TestEvent] = []
            for try await event in open.events where event.event != ":" { events.append(event) }
            #expect(events.isEmpty, "the stream ends, with no event: \(events)")
        }
    }
}
