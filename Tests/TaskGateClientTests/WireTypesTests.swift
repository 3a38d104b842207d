import Foundation
import TaskGateAPI
import TaskGateClient
import TaskGateTesting
import Testing

/// The wire types read what the live server writes.
@Suite(.timeLimit(.minutes(1))) struct WireTypesTests {
    @Test func aResultThatIsNullIsNotAMissingResult() async throws {
        try await withLiveServer(functions: TestFunctions.gated) { server, _ in
            try await withTaskGateClient(server) { client in
                let null = try await client.submit(function: "echo", args: .null)
                #expect(try await null.result() == .null)
                let finished = try await client.task(null.id)
                #expect(finished.state == .succeeded && finished.done)
                #expect(finished.result == .some(.null))
                #expect(finished.finishedAt.flatMap(RFC3339.parse) != nil)

                let running = try await client.submit(function: "gate", args: "wire-running")
                let unfinished = try await client.task(running.id)
                #expect(unfinished.result == nil)
                #expect(unfinished.state == .running && !unfinished.done)
                // Encoding leaves the absent result absent.
                let encoded = String(decoding: try JSONEncoder().encode(unfinished), as: UTF8.self)
                #expect(!encoded.contains("\"result\""))
                let stats = try await client.stats()
                #expect(stats.tasks["running"] == 1 && stats.tasks["succeeded"] == 1)
                #expect(stats.totals["submitted"] == 2)
                #expect(stats.workers == 2 && stats.queueLimit > 0)
                await Gates.shared.open("\"wire-running\"")
                _ = try await running.result()
            }
        }
    }

    @Test func jsonValuesRoundTrip() throws {
        let value: JSONValue = [
            "null": .null, "bool": true, "int": -7, "big": .integer(.max), "double": 1.5, "text": "é\"\\",
            "list": [1, "two", [3]], "empty": [:],
        ]
        let decoded = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value))
        #expect(decoded == value)
    }
}
