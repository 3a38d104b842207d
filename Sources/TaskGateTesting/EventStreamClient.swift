import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// One Server-Sent Event as a test reads it; a comment line (`: ...`) comes as the event `:` with the comment.
public struct TestEvent: Sendable, Equatable {
    /// The `id:` field, if any.
    public var id: String?
    /// The `event:` field (`message` when absent), or `:` for a comment.
    public var event: String
    /// The `data:` lines, joined with newlines.
    public var data: String
}

extension TestHTTPClient {
    /// Opens `path` as an event stream: its status, its headers, and its events as they come (the sequence ends
    /// with the response). Cancelling the task that iterates closes the connection.
    public func events(_ path: String, headers: [String: String] = [:]) async throws -> (
        status: Int, headers: [String: String], events: AsyncThrowingStream<TestEvent, any Error>
    ) {
        var request = HTTPClientRequest(url: baseURL + path)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await client.execute(request, timeout: .seconds(300))
        var collected: [String: String] = [:]
        for header in response.headers { collected[header.name.lowercased()] = header.value }
        let body = response.body
        let events = AsyncThrowingStream<TestEvent, any Error> { continuation in
            let reader = Task {
                var line: [UInt8] = []
                var event = TestEvent(id: nil, event: "message", data: "")
                var hasData = false
                do {
                    for try await buffer in body {
                        for byte in buffer.readableBytesView {
                            guard byte == UInt8(ascii: "\n") else {
                                line.append(byte)
                                continue
                            }
                            let text = String(decoding: line, as: UTF8.self)
                            line.removeAll()
                            if text.isEmpty {
                                if hasData { continuation.yield(event) }
                                event = TestEvent(id: nil, event: "message", data: "")
                                hasData = false
                            } else if text.hasPrefix(":") {
                                continuation.yield(TestEvent(id: nil, event: ":", data: String(text.dropFirst())))
                            } else if let colon = text.firstIndex(of: ":") {
                                let field = text[..<colon]
                                var value = text[text.index(after: colon)...]
                                if value.hasPrefix(" ") { value = value.dropFirst() }
                                switch field {
                                case "id": event.id = String(value)
                                case "event": event.event = String(value)
                                case "data":
                                    event.data += (hasData ? "\n" : "") + value
                                    hasData = true
                                default: break
                                }
                            }
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in reader.cancel() }
        }
        return (Int(response.status.code), collected, events)
    }
}
