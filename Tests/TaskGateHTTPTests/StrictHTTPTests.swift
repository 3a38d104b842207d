import Foundation
import TaskGateHTTP
import TaskGateTesting
import TaskScheduler
import Testing

/// Requests no well-behaved client sends, over real sockets to the real daemon: each gets a problem+json refusal
/// (or, for what is merely unusual, a correct answer), and the server keeps serving what it accepted.
@Suite(.timeLimit(.minutes(2))) struct StrictHTTPTests {
    /// The status code and body of a raw response.
    static func parse(_ response: String) -> (status: Int, head: String, body: String) {
        let parts = response.components(separatedBy: "\r\n\r\n")
        let status = Int(response.split(separator: " ").dropFirst().first ?? "") ?? 0
        return (status, parts.first?.lowercased() ?? "", parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    static func problemCode(_ body: String) -> String? {
        let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        return object?["code"] as? String
    }

    @Test func ambiguousBodyFramingIsRefusedBeforeTheBodyIsRead() async throws {
        try await withLiveServer { server, client in
            let requests = [
                "POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\n"
                    + "Content-Length: 50\r\n\r\n{\"a\":",
                "POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                "POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "Transfer-Encoding: gzip\r\n\r\n",
            ]
            for request in requests {
                let connection = try RawConnection(port: server.port)
                try connection.send(request)
                let (status, head, body) = Self.parse(connection.readToEnd())
                #expect(status == 400, "\(request)")
                #expect(head.contains("content-type: application/problem+json"))
                #expect(head.contains("connection: close"), "the unread body must not be taken for a next request")
                #expect(Self.problemCode(body) == "invalid_framing")
            }
            #expect(server.scheduler.stats.counters.submitted == 0, "no refused request created a task")
        }
    }

    @Test func aContentLengthOverTheLimitIsAnswered413WithoutSendingTheBody() async throws {
        try await withLiveServer(gateway: { $0.maxBodyBytes = 1_000 }) { server, client in
            let connection = try RawConnection(port: server.port)
            // Only the head: the answer must come without the 50 MB the head announces.
            try connection.send(
                "POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\n\r\n")
            let (status, head, body) = Self.parse(connection.readToEnd())
            #expect(status == 413)
            #expect(head.contains("connection: close"))
            #expect(Self.problemCode(body) == "payload_too_large")
        }
    }

    @Test func pathTricksAndLenientNumbersAreRefused() async throws {
        try await withLiveServer { server, client in
            let id = try #require(try await client.post("/tasks", json: #"{"function":"echo","args":1}"#).json["id"])
            func raw(_ target: String, method: String = "GET") throws -> (status: Int, code: String?, body: String) {
                let connection = try RawConnection(port: server.port)
                try connection.send(
                    "\(method) \(target) HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
                let (status, _, body) = Self.parse(connection.readToEnd())
                return (status, Self.problemCode(body), body)
            }
            let nul = try raw("/tasks/\(id)%00/../../stats")
            #expect(nul.status == 400 && nul.code == "invalid_path", "\(nul.body)")
            let slash = try raw("/tasks%2F\(id)")
            #expect(slash.status == 400 && slash.code == "invalid_path", "\(slash.body)")
            let badEscape = try raw("/tasks/%zz")
            #expect(badEscape.status == 400 && badEscape.code == "invalid_path")
            let hex = try raw("/tasks/\(id)?wait=0x10")
            #expect(hex.status == 400 && hex.code == "invalid_parameter", "0x10 is not a number of seconds")
            for wait in ["1e3", "-1", "inf", "nan", ".5", "5."] {
                #expect(try raw("/tasks/\(id)?wait=\(wait)").status == 400, "wait=\(wait)")
            }
            let twice = try raw("/tasks?limit=1&limit=2")
            #expect(twice.status == 400 && twice.code == "invalid_parameter")
            let signed = try raw("/workers/w+1/poll", method: "POST")
            #expect(signed.status == 404 && signed.body.contains("w+1"), "w+1 is not another spelling of w1")
            #expect(try raw("/tasks/\(id)?wait=0.5").status == 200)
            #expect(try raw("/tasks?function=ec%68o&limit=5").status == 200, "escapes in a query value decode")
        }
    }

    @Test func longURLsAreAnsweredAtOnce() async throws {
        try await withLiveServer { server, client in
            // 500 parameters (about 4 KB) once made libmicrohttpd run out of per-connection memory and hang.
            let many = (0..<500).map { "p\($0)=v\($0)" }.joined(separator: "&")
            let connection = try RawConnection(port: server.port)
            try connection.send("GET /tasks?limit=1&\(many) HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(Self.parse(connection.readResponse()).status == 200)
            // An 8 KB URL on the same connection.
            let function = String(repeating: "f", count: 8_000)
            try connection.send("GET /tasks?function=\(function) HTTP/1.1\r\nHost: x\r\n\r\n")
            let (status, _, body) = Self.parse(connection.readResponse())
            #expect(status == 200, "\(body)")
        }
    }

    @Test func headAndOptionsAnswerLikeTheRoutesTheyDescribe() async throws {
        try await withLiveServer { server, client in
            let id = try #require(try await client.post("/tasks", json: #"{"function":"echo","args":1}"#).json["id"])
            let get = try await client.request("GET", "/tasks/\(id)?wait=5")
            let head = try await client.request("HEAD", "/tasks/\(id)")
            #expect(head.status == 200)
            #expect(head.body.isEmpty)
            #expect(head.headers["etag"] == get.headers["etag"])
            #expect(head.headers["content-length"] == "\(get.body.count)")
            let options = try await client.request("OPTIONS", "/tasks/\(id)")
            #expect(options.status == 204)
            #expect(options.headers["allow"] == "DELETE, GET, HEAD, OPTIONS")
            #expect(try await client.request("OPTIONS", "/workers").headers["allow"] == "GET, POST, HEAD, OPTIONS")
            #expect(try await client.request("OPTIONS", "/nowhere").status == 404)
            #expect(try await client.request("HEAD", "/nowhere").status == 404)
        }
    }

    @Test func pollAndHangUpRequestsCannotFillTheParkedCap() async throws {
        try await withLiveServer(functions: TestFunctions.gated, gateway: { $0.maxParked = 50 }) { server, client in
            let id = try #require(
                try await client.post("/tasks", json: #"{"function":"gate","args":"cap"}"#).json["id"] as? String)
            // Four times the cap, each asking for a minute and closing at once.
            for _ in 0..<200 {
                let connection = try RawConnection(port: server.port)
                try connection.send("GET /tasks/\(id)?wait=60 HTTP/1.1\r\nHost: x\r\n\r\n")
                connection.close()
            }
            await yield(until: server.gateway.parked == 0 && server.service.server.parked == 0, bound: .seconds(30))
            #expect(server.gateway.parked == 0)
            // A real long-poll still parks, and is answered by the event it waits for.
            async let answer = client.request("GET", "/tasks/\(id)?wait=30")
            await yield(until: server.gateway.parked == 1)
            #expect(server.gateway.parked == 1)
            await Gates.shared.open("\"cap\"")
            let response = try await answer
            #expect(response.status == 200)
            #expect(response.json["state"] as? String == "succeeded")
        }
    }
}
