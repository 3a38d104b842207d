import TaskGateAPI
import Testing

/// The worker poll codec shared by the server and the Swift worker.
@Suite struct WirePollTests {
    @Test func aRequestRoundTripsWithExactResultBytes() throws {
        let request = WirePollRequest(
            results: [
                .init(id: "00000000000000a1", outcome: .result(Array(#"{"x" : [1, 2.50]}"#.utf8))),
                .init(id: "00000000000000a2", outcome: .error(message: "line\nbreak \"quoted\"")),
            ],
            confirms: [.init(id: "00000000000000a3", confirm: .cancelNotFound)], waitSeconds: 2.5, maxTasks: 0,
            drain: true, running: ["00000000000000a4"])
        let decoded = try WirePollRequest(decoding: request.encoded())
        #expect(decoded == request)
        guard case .result(let bytes) = decoded.results[0].outcome else {
            Issue.record("the result is not a result")
            return
        }
        #expect(String(decoding: bytes, as: UTF8.self) == #"{"x" : [1, 2.50]}"#, "args pass as the exact bytes")
    }

    @Test func anEmptyBodyIsAPollThatDoesNotWait() throws {
        #expect(try WirePollRequest(decoding: []) == WirePollRequest())
    }

    @Test(arguments: [
        (#"{"nope":1}"#, "/nope"), (#"{"results":{}}"#, "/results"), (#"{"results":[{"result":1}]}"#, "/results/0/id"),
        (#"{"results":[{"id":"00000000000000A1","result":1}]}"#, "/results/0/id"),
        (#"{"results":[{"id":"00000000000000a1","result":1,"error":{"message":"m"}}]}"#, "/results/0"),
        (#"{"results":[{"id":"00000000000000a1","error":"m"}]}"#, "/results/0/error"),
        (#"{"confirms":[{"id":"00000000000000a1","confirm":"maybe"}]}"#, "/confirms/0/confirm"),
        (#"{"wait_s":-1}"#, "/wait_s"), (#"{"max_tasks":1.5}"#, "/max_tasks"), (#"{"drain":"yes"}"#, "/drain"),
        (#"{"running":["x"]}"#, "/running/0"), ("[]", ""),
    ])
    func aMalformedRequestNamesTheField(body: String, pointer: String) {
        #expect {
            try WirePollRequest(decoding: Array(body.utf8))
        } throws: { error in
            guard case .invalid(_, let at) = error as? WireFormatError else { return false }
            return at == pointer
        }
    }

    @Test func bytesThatAreNotJSONAreASyntaxError() {
        #expect {
            try WirePollRequest(decoding: Array("{\"results\":".utf8))
        } throws: { error in
            if case .syntax = error as? WireFormatError { return true }
            return false
        }
    }

    @Test func aResponseRoundTripsAndUnknownFieldsAreSkipped() throws {
        let response = WirePollResponse(
            tasks: [
                .init(
                    id: "00000000000000b1", function: "f", args: Array("[1,\"two\"]".utf8), attempt: 2,
                    deadline: "2026-12-01T00:00:00.000000Z"),
                .init(id: "00000000000000b2", function: "g", args: Array("null".utf8), attempt: 1),
            ],
            cancel: ["00000000000000b3"], refused: [.init(id: "00000000000000b4", report: "result", code: "not_holder")]
        )
        #expect(try WirePollResponse(decoding: response.encoded()) == response)
        let newer = #"{"tasks":[{"id":"00000000000000b1","function":"f","args":1,"attempt":1,"hint":"x"}],"later":{}}"#
        let read = try WirePollResponse(decoding: Array(newer.utf8))
        #expect(read.tasks.map(\.id) == ["00000000000000b1"])
    }
}
