import TaskGateAPI
import Testing

@Suite struct JSONScannerTests {
    @Test(arguments: [
        "null", "true", "false", "0", "-0", "12", "-3.25", "1e5", "1E-2", "2.5e+10", "\"\"", "\"a\\\"b\\\\c\\/\"",
        "\"\\u00e9\\ud83d\\ude00\"", "[]", "[1,[2,[3]]]", "{}", "{\"a\":{\"b\":[true,null]}}",
        " \t\n{ \"k\" : 1 } \r\n",
        "\"héllo 😀\"",
    ])
    func acceptsValidJSON(text: String) throws {
        try JSONScanner.validate(Array(text.utf8))
    }

    @Test(arguments: [
        "", " ", "nul", "tru", "01", "-", "1.", ".5", "1e", "+1", "[1,]", "[,1]", "{\"a\":1,}", "{a:1}", "{\"a\" 1}",
        "\"abc", "\"\\x\"", "\"\\u12G4\"", "\"tab\there\"", "[1 2]", "{} {}", "[", "{\"a\":}", "NaN", "Infinity", "'x'",
    ])
    func rejectsInvalidJSON(text: String) {
        #expect(throws: JSONSyntaxError.self) { try JSONScanner.validate(Array(text.utf8)) }
    }

    @Test func rejectsNestingBeyondTheLimit() {
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(throws: JSONSyntaxError.self) { try JSONScanner.validate(Array(deep.utf8)) }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: Never.self) { try JSONScanner.validate(Array(fine.utf8)) }
    }

    @Test func membersKeepTheExactBytesOfEachValue() throws {
        let text = #"{"function":"echo","args": {"x" : [1, 2.50]} ,"k\u00e9y":null}"#
        let bytes = Array(text.utf8)
        let members = try #require(try JSONScanner.members(bytes))
        #expect(members.map(\.key) == ["function", "args", "kéy"])
        #expect(members.map(\.kind) == [.string, .object, .null])
        #expect(String(decoding: bytes[members[1].range], as: UTF8.self) == #"{"x" : [1, 2.50]}"#)
        #expect(JSONScanner.decodeString(bytes[members[0].range]) == "echo")
    }

    @Test func membersIsNilForANonObject() throws {
        #expect(try JSONScanner.members(Array("[1]".utf8)) == nil)
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let raw = Array(#""a\nb\t\"\u00e9\ud83d\ude00\u0041""#.utf8)
        try JSONScanner.validate(raw)
        #expect(JSONScanner.decodeString(raw[...]) == "a\nb\t\"é😀A")
    }

    @Test func errorsSayWhere() {
        #expect {
            try JSONScanner.validate(Array("{\"a\": tru}".utf8))
        } throws: { error in
            (error as? JSONSyntaxError)?.offset == 6
        }
    }
}

@Suite struct JSONWriterTests {
    @Test func writesNestedValuesWithCommasAndEscapes() throws {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("s")
        writer.string("q\"b\\n\nt\u{1}é")
        writer.key("n")
        writer.number(-42)
        writer.key("d")
        writer.number(1.5)
        writer.key("a")
        writer.beginArray()
        writer.bool(true)
        writer.null()
        writer.raw(Array("{\"x\":1}".utf8))
        writer.beginObject()
        writer.endObject()
        writer.endArray()
        writer.dynamicKey("dynamic \"key\"")
        writer.beginArray()
        writer.endArray()
        writer.endObject()
        let text = String(decoding: writer.bytes, as: UTF8.self)
        #expect(text == #"{"s":"q\"b\\n\nt\u0001é","n":-42,"d":1.5,"a":[true,null,{"x":1},{}],"dynamic \"key\"":[]}"#)
        try JSONScanner.validate(writer.bytes)
    }

    @Test func nonFiniteNumbersBecomeNull() {
        var writer = JSONWriter()
        writer.beginArray()
        writer.number(Double.nan)
        writer.number(Double.infinity)
        writer.endArray()
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "[null,null]")
    }
}

@Suite struct RFC3339Tests {
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000000Z"),
        (Int64(1_767_225_600_123_456_789), "2026-01-01T00:00:00.123456Z"),
        (Int64(951_782_400_000_000_000), "2000-02-29T00:00:00.000000Z"),
        (Int64(-1_000), "1969-12-31T23:59:59.999999Z"),
        (Int64(4_102_444_799_000_000_000), "2099-12-31T23:59:59.000000Z"),
    ])
    func formats(nanoseconds: Int64, text: String) {
        #expect(RFC3339.format(nanosecondsSinceEpoch: nanoseconds) == text)
    }

    @Test func parsesWhatItFormats() {
        for value: Int64 in [0, 1_767_225_600_123_456_000, 951_782_400_000_000_000, 4_102_444_799_000_000_000] {
            #expect(RFC3339.parse(RFC3339.format(nanosecondsSinceEpoch: value)) == value)
        }
        #expect(RFC3339.parse("2026-11-25T09:00:00Z") == 1_795_597_200_000_000_000)
        #expect(RFC3339.parse("2026-11-25 09:00:00Z") == nil)
    }
}

@Suite struct JSONWriterNumbersAndTimesTests {
    @Test(arguments: [Int64(0), 7, -7, 1234567890, Int64.max, Int64.min, -1_000_000])
    func integersMatchTheirDescription(value: Int64) {
        var writer = JSONWriter()
        writer.number(value)
        #expect(String(decoding: writer.bytes, as: UTF8.self) == String(value))
    }

    @Test(arguments: [Int64(0), 1_767_225_600_123_456_789, -1_000, 951_782_400_000_000_000, 4_102_444_799_999_999_999])
    func timestampsMatchTheFormatter(nanoseconds: Int64) {
        var writer = JSONWriter()
        writer.timestamp(nanosecondsSinceEpoch: nanoseconds)
        #expect(
            String(decoding: writer.bytes, as: UTF8.self) == "\"" + RFC3339.format(nanosecondsSinceEpoch: nanoseconds)
                + "\"")
    }
}
