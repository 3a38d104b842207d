import Foundation
import TaskGateAPI
import TaskGateTesting
import Testing

/// The one-pass reader the client decodes answers with: values, strictness, and agreement with Foundation's decoder
/// on random documents.
struct JSONReaderTests {
    static func value(_ text: String) throws(WireFormatError) -> JSONValue {
        try JSONReader.read(Array(text.utf8)) { (reader: inout JSONReader) throws(WireFormatError) in
            try reader.value()
        }
    }

    @Test(
        arguments: [
            ("null", JSONValue.null),
            ("true", .bool(true)),
            (" false ", .bool(false)),
            ("0", .integer(0)),
            ("-0", .integer(0)),
            ("42", .integer(42)),
            ("9223372036854775807", .integer(.max)),
            ("-9223372036854775808", .integer(.min)),
            ("9223372036854775808", .number(9_223_372_036_854_775_808)),
            ("12345678901234567890123", .number(1.234_567_890_123_456_8e22)),
            ("1.5", .number(1.5)),
            ("-2.5e3", .number(-2500)),
            ("1E2", .number(100)),
            (#""""#, .string("")),
            (#""a\"b\\c\/d\n\t\r\b\f""#, .string("a\"b\\c/d\n\t\r\u{8}\u{C}")),
            (#""\u00e9\u20ac\ud83d\ude00""#, .string("é€😀")),
            (#""\ud83d""#, .string("\u{FFFD}")),
            ("[]", .array([])),
            ("{}", .object([:])),
            (#"[1,[2,{"a":[]}]]"#, .array([1, [2, ["a": []]]])),
            (#"{"a":1,"a":2}"#, .object(["a": 2])),
            (#"{ "k" : "v" , "n" : null }"#, .object(["k": "v", "n": .null])),
        ] as [(String, JSONValue)])
    func values(text: String, expected: JSONValue) throws {
        #expect(try Self.value(text) == expected)
    }

    @Test(arguments: [
        "", " ", "nul", "tru", "01", "1.", ".5", "-", "1e", "+1", "\"abc", "\"a\u{1}b\"", #""\x""#, #""\u12g4""#,
        "[1,]", "[1 2]", "{\"a\"}", "{\"a\":1,}", "{a:1}", "1 2", "[", "{", "}", "[1]]", "NaN", "Infinity",
    ])
    func rejectsWhatIsNotOneJSONValue(text: String) {
        #expect(throws: WireFormatError.self) { try Self.value(text) }
    }

    @Test func nestingIsBounded() throws {
        let ok =
            String(repeating: "[", count: JSONScanner.maxDepth) + String(repeating: "]", count: JSONScanner.maxDepth)
        _ = try Self.value(ok)
        let deep = "[" + ok + "]"
        #expect(throws: WireFormatError.self) { try Self.value(deep) }
        let deepObjects = String(repeating: #"{"a":"#, count: 200) + "1" + String(repeating: "}", count: 200)
        #expect(throws: WireFormatError.self) { try Self.value(deepObjects) }
    }

    @Test func typedReadsSayWhatTheyExpected() {
        func read(_ text: String, _ body: (inout JSONReader) throws(WireFormatError) -> Void) -> WireFormatError? {
            do {
                try JSONReader.read(Array(text.utf8), body)
                return nil
            } catch {
                return error
            }
        }
        #expect(read("1") { (reader: inout JSONReader) throws(WireFormatError) in _ = try reader.string() } != nil)
        #expect(read("1.5") { (reader: inout JSONReader) throws(WireFormatError) in _ = try reader.int() } != nil)
        #expect(read("\"x\"") { (reader: inout JSONReader) throws(WireFormatError) in _ = try reader.bool() } != nil)
        #expect(read("[1]") { (reader: inout JSONReader) throws(WireFormatError) in _ = try reader.strings() } != nil)
        #expect(
            read("null") { (reader: inout JSONReader) throws(WireFormatError) in _ = try reader.optionalString() }
                == nil)
        // A value left unread is data after the value.
        #expect(read("[1]") { (_: inout JSONReader) throws(WireFormatError) in } != nil)
    }

    @Test func skipAndKeysMatchWithoutBuildingStrings() throws {
        let text = #"{"skip":{"deep":[1,"two",{"three":null}],"s":"\""},"id":"x","i\u0064":"y","other":true}"#
        let ids = try JSONReader.read(Array(text.utf8)) { (reader: inout JSONReader) throws(WireFormatError) in
            var ids: [String] = []
            try reader.members { (reader: inout JSONReader, key: JSONReader.Key) throws(WireFormatError) in
                switch key {
                case "id": ids.append(try reader.string())
                default: try reader.skip()
                }
            }
            return ids
        }
        // "i\u0064" is "id" once unescaped: it matches too.
        #expect(ids == ["x", "y"])
    }

    /// Random documents read as Foundation's `JSONDecoder` reads them, and what `JSONWriter.value` writes reads
    /// back as the same value.
    @Test(arguments: 0..<8)
    func agreesWithFoundationOnRandomDocuments(seed: UInt64) throws {
        var random = SplitMix(seed: seed)
        for _ in 0..<60 {
            let value = Self.randomValue(&random, depth: 0)
            var writer = JSONWriter()
            writer.value(value)
            let bytes = writer.bytes
            let read = try JSONReader.read(bytes) { (reader: inout JSONReader) throws(WireFormatError) in
                try reader.value()
            }
            #expect(read == value)
            // Foundation reads `464.0` as an integer; the reader keeps it a number, as `JSONValue` documents (and as
            // Python does). Numbers are compared by value.
            let foundation = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
            #expect(Self.sameByValue(read, foundation), "\(String(decoding: bytes, as: UTF8.self))")
        }
    }

    static func sameByValue(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.integer(let x), .number(let y)), (.number(let y), .integer(let x)): return Double(x) == y
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { sameByValue($0, $1) }
        case (.object(let x), .object(let y)):
            return x.count == y.count && x.allSatisfy { key, value in y[key].map { sameByValue(value, $0) } ?? false }
        default: return a == b
        }
    }

    static func randomValue(_ random: inout SplitMix, depth: Int) -> JSONValue {
        switch random.next() % (depth > 4 ? 5 : 7) {
        case 0: return .null
        case 1: return .bool(random.next() % 2 == 0)
        case 2: return .integer(Int64(bitPattern: random.next()) >> (random.next() % 64))
        case 3: return .number(Double(Int64(bitPattern: random.next()) % 1_000_000) / 64 + 0.5)
        case 4: return .string(randomString(&random))
        case 5: return .array((0..<Int(random.next() % 5)).map { _ in randomValue(&random, depth: depth + 1) })
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<Int(random.next() % 5) {
                members[randomString(&random)] = randomValue(&random, depth: depth + 1)
            }
            return .object(members)
        }
    }

    static func randomString(_ random: inout SplitMix) -> String {
        let alphabet: [Character] = ["a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\u{1}", "é", "€", "😀", "_"]
        return String((0..<Int(random.next() % 8)).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] })
    }
}
