import TaskGateHTTP
import TaskGateTesting
import TaskScheduler
import Testing

/// Every bad input gets its status and a problem+json body with a stable code, and creates nothing.
@Suite struct ErrorStatusTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var method = "POST"
        var path = "/tasks"
        var contentType: String? = "application/json"
        var body: String? = nil
        var query: [String: String] = [:]
        var status: Int
        var code: String
        var pointer: String? = nil
        var testDescription: String { "\(method) \(path) \(body ?? "") -> \(status) \(code)" }
    }

    static let cases: [Case] = [
        Case(body: #"{"function":"#, status: 400, code: "malformed_json"),
        Case(body: #"{"function":"f"} x"#, status: 400, code: "malformed_json"),
        Case(body: "", status: 400, code: "malformed_json"),
        Case(contentType: "text/plain", body: #"{"function":"f"}"#, status: 415, code: "unsupported_media_type"),
        Case(contentType: nil, body: #"{"function":"f"}"#, status: 415, code: "unsupported_media_type"),
        Case(body: #"[1]"#, status: 422, code: "invalid_request", pointer: ""),
        Case(body: #"{"args":1}"#, status: 422, code: "invalid_request", pointer: "/function"),
        Case(body: #"{"function":3}"#, status: 422, code: "invalid_request", pointer: "/function"),
        Case(body: #"{"function":"f","priority":1.5}"#, status: 422, code: "invalid_request", pointer: "/priority"),
        Case(body: #"{"function":"f","timeout_s":-1}"#, status: 422, code: "invalid_request", pointer: "/timeout_s"),
        Case(body: #"{"function":"f","tags":[1]}"#, status: 422, code: "invalid_request", pointer: "/tags/0"),
        Case(body: #"{"function":"f","timeout":5}"#, status: 422, code: "invalid_request", pointer: "/timeout"),
        Case(body: #"{"function":"f","function":"f"}"#, status: 422, code: "invalid_request", pointer: "/function"),
        Case(body: #"{"function":"nope"}"#, status: 422, code: "unknown_function", pointer: "/function"),
        Case(
            body: #"{"function":"f","priority":99999999}"#, status: 422, code: "invalid_argument", pointer: "/priority"),
        Case(
            body: #"{"function":"f","max_retries":1000}"#, status: 422, code: "invalid_argument",
            pointer: "/max_retries"),
        Case(method: "GET", path: "/nowhere", contentType: nil, status: 404, code: "route_not_found"),
        Case(method: "PUT", path: "/tasks", contentType: nil, status: 405, code: "method_not_allowed"),
        Case(method: "GET", path: "/tasks/batch", contentType: nil, status: 405, code: "method_not_allowed"),
        Case(
            method: "GET", path: "/tasks/00000000000000aa", contentType: nil, query: ["wait": "soon"], status: 400,
            code: "invalid_parameter"),
        Case(
            method: "GET", path: "/tasks", contentType: nil, query: ["limit": "0"], status: 400,
            code: "invalid_parameter"),
        Case(path: "/tasks/wait", body: #"{"ids":"x"}"#, status: 422, code: "invalid_request", pointer: "/ids"),
        Case(
            path: "/tasks/wait", body: #"{"ids":[],"mode":"some"}"#, status: 422, code: "invalid_request",
            pointer: "/mode"),
    ]

    @Test(arguments: cases)
    func badInputIsAProblemWithAStableCode(_ c: Case) async throws {
        let h = try GatewayHarness()
        var headers: [String: String] = [:]
        if let contentType = c.contentType { headers["content-type"] = contentType }
        let response = await h.client.send(
            HTTPRequest(
                method: c.method, path: c.path, query: c.query, headers: headers, body: Array((c.body ?? "").utf8)))
        #expect(response.status == c.status)
        #expect(response.header("Content-Type") == "application/problem+json")
        let problem = response.object
        #expect(problem["code"] as? String == c.code)
        #expect(problem["status"] as? Int == c.status)
        #expect(problem["type"] as? String == "/problems/\(c.code)")
        #expect((problem["title"] as? String)?.isEmpty == false)
        #expect((problem["detail"] as? String)?.isEmpty == false)
        if let pointer = c.pointer { #expect(problem["pointer"] as? String == pointer) }
        if c.status == 405 { #expect(response.header("Allow") != nil) }
        #expect(h.scheduler.stats.counters.submitted == 0)
    }

    @Test func oversizedBodyIs413() async throws {
        let h = try GatewayHarness()
        let response = await h.client.send(
            HTTPRequest(
                method: "POST", path: "/tasks", headers: ["content-type": "application/json"], bodyTooLarge: true))
        #expect(response.status == 413)
        #expect(response.object["code"] as? String == "payload_too_large")
    }

    @Test func fullQueueIs503WithRetryAfterAndAcceptsNothing() async throws {
        let h = try GatewayHarness { $0.queueLimit = 1 }
        // The fake worker (capacity 4) takes the first four; the fifth queues; the sixth is refused.
        for _ in 0..<5 { _ = try await h.submit() }
        let refused = await h.send("POST", "/tasks", json: #"{"function":"f"}"#)
        #expect(refused.status == 503)
        #expect(refused.object["code"] as? String == "queue_full")
        #expect(refused.header("Retry-After") == "1")
        #expect(h.scheduler.stats.counters.submitted == 5)
    }

    @Test func tooManyParkedRequestsIs503() async throws {
        let h = try GatewayHarness(maxParked: 1)
        let id = try await h.submit()
        let parked = await h.parkWait(on: id)
        let refused = await h.send("GET", "/tasks/\(id)", query: ["wait": "10"])
        #expect(refused.status == 503)
        #expect(refused.object["code"] as? String == "too_many_waiters")
        h.advance(.seconds(10))
        #expect(await parked.value.status == 200)
        #expect(h.gateway.parked == 0)
    }

    @Test func submitWithAWaitBeyondTheParkedCapIsAcceptedWithout503() async throws {
        let h = try GatewayHarness(maxParked: 1)
        let parked = await h.parkWait(on: try await h.submit())
        // The task is accepted before the wait could be parked: answering 503 would hide it and invite a duplicate.
        let accepted = await h.send("POST", "/tasks", headers: ["Prefer": "wait=5"], json: #"{"function":"f"}"#)
        #expect(accepted.status == 202)
        #expect(accepted.header("Preference-Applied") == nil)
        let acceptedID = try #require(accepted.object["id"] as? String)
        #expect(h.scheduler.task(TaskID(acceptedID)!).record != nil)
        #expect(h.scheduler.stats.counters.submitted == 2)
        h.advance(.seconds(10))
        #expect(await parked.value.status == 200)
    }

    @Test func cancelBeyondTheParkedCapAnswersStillCanceling() async throws {
        let h = try GatewayHarness(maxParked: 1)
        let running = try await h.submit()
        try h.take()
        let parked = await h.parkWait(on: running)
        let cancel = await h.send("DELETE", "/tasks/\(running)", query: ["wait": "5"])
        #expect(cancel.status == 202)
        #expect(cancel.object["state"] as? String == "canceling")
        #expect(cancel.header("Location") == "/tasks/\(running)")
        try h.confirm(running, .canceled)
        #expect(await parked.value.object["state"] as? String == "canceled")
    }

    @Test func aBadWaitOnSubmitIs400AndCreatesNothing() async throws {
        let h = try GatewayHarness()
        let refused = await h.send("POST", "/tasks", query: ["wait": "soon"], json: #"{"function":"f"}"#)
        #expect(refused.status == 400)
        #expect(refused.object["code"] as? String == "invalid_parameter")
        #expect(h.scheduler.stats.counters.submitted == 0)
    }

    @Test func invalidUTF8Is400() async throws {
        let h = try GatewayHarness()
        let response = await h.client.send(
            HTTPRequest(
                method: "POST", path: "/tasks", headers: ["content-type": "application/json"],
                body: Array(#"{"function":"f","args":""#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8)))
        #expect(response.status == 400)
    }
}
