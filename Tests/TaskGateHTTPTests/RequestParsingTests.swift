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
}
