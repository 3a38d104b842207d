import Testing

@testable import TaskGateHTTP

/// The hand-written parsers on the request path.
struct RequestParsingTests {
    @Test(arguments: [
        ("application/json", true),
        ("application/json; charset=utf-8", true),
        ("Application/JSON", true),
        ("  application/json\t;charset=utf-8", true),
        ("application/problem+json", true),
        ("APPLICATION/VND.API+JSON; q=1", true),
        ("application/+json", false),
        ("application/jsonx", false),
        ("application/json-seq", false),
        ("text/json", false),
        ("text/plain", false),
        ("", false),
        ("application/", false),
        ("application/json+xml", false),
    ])
    func jsonMediaTypes(contentType: String, isJSON: Bool) {
        #expect(RequestParsing.isJSON(contentType) == isJSON)
    }

    @Test(
        arguments: [
            ("wait=5", 5.0),
            ("wait=0.005", 0.005),
            ("WAIT=2", 2.0),
            ("respond-async, wait=10", 10.0),
            ("  wait = 3 ", 3.0),
            ("wait=\"7\"", 7.0),
            ("wait=4;foo=bar", 4.0),
            ("handling=lenient,wait=1.5, return=minimal", 1.5),
            ("wait=0", 0.0),
        ] as [(String, Double)])
    func preferWaitValues(header: String, seconds: Double) {
        #expect(RequestParsing.preferWait(header) == seconds)
    }

    @Test(arguments: [
        "", "respond-async", "wait", "wait=", "wait=-1", "wait=abc", "waiting=5", "wai=5", "wait=inf", "wait=nan",
    ])
    func preferWithoutAUsableWait(header: String) {
        #expect(RequestParsing.preferWait(header) == nil)
    }

    @Test(arguments: [
        ("return=minimal", true),
        ("Return=Minimal", true),
        ("respond-async, return=minimal; x=1", true),
        ("return = \"minimal\"", true),
        ("return=representation", false),
        ("wait=5", false),
        ("", false),
        ("return=minimalist", false),
    ])
    func preferReturnMinimal(header: String, minimal: Bool) {
        #expect(RequestParsing.prefersMinimal(header) == minimal)
    }

    @Test func headersKeepTheOnesTheGatewayReadsByAnyCaseOfTheirName() {
        let request = HTTPRequest(
            method: "GET", path: "/stats",
            headers: ["Authorization": "Bearer t", "IF-NONE-MATCH": "\"3\"", "x-other": "dropped", "prefer": "wait=1"])
        #expect(request.headers[.authorization] == "Bearer t")
        #expect(request.header("authorization") == "Bearer t")
        #expect(request.header("Authorization") == "Bearer t")
        #expect(request.header(.ifNoneMatch) == "\"3\"")
        #expect(request.header("prefer") == "wait=1")
        #expect(request.header("x-other") == nil)
        #expect(request.headers[.traceparent] == nil)
        for name in HTTPHeaders.Name.allCases {
            #expect(HTTPHeaders.Name(text: name.text) == name)
        }
        var headers = HTTPHeaders()
        headers["x-other"] = "ignored"
        headers["content-type"] = "application/json"
        #expect(headers[.contentType] == "application/json")
        #expect(headers["x-other"] == nil)
    }
}
