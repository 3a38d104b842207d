#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A one-pass pull reader over UTF-8 JSON: the caller asks for the value it expects next (a string, an integer,
/// an object's members) and the reader checks the syntax as it goes, building nothing it is not asked for. It is
/// what the client decodes the server's answers with: Foundation's `JSONDecoder` on Linux spent three quarters of
/// the client's time in the bulk benchmark (docs/benchmarks.md, issue 11).
///
/// Strict as `JSONScanner` is (RFC 8259, nesting at most `JSONScanner.maxDepth`); `read(_:_:)` also checks that
/// nothing follows the value.
public struct JSONReader: ~Copyable {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var depth = 0

    private init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// Reads `json` with `body`, which must consume exactly one value; only whitespace may follow it.
    public static func read<T>(
        _ json: [UInt8], _ body: (inout JSONReader) throws(WireFormatError) -> T
    ) throws(WireFormatError) -> T {
        let outcome = json.withUnsafeBufferPointer { buffer -> Result<T, WireFormatError> in
            var reader = JSONReader(buffer)
            do throws(WireFormatError) {
                let value = try body(&reader)
                reader.skipWhitespace()
                guard reader.index == buffer.count else { throw reader.syntax("unexpected data after the JSON value") }
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        return try outcome.get()
    }

    // MARK: - Values

    /// The next value as a `JSONValue` (numbers without a fraction or exponent that fit 64 bits are `.integer`).
    public mutating func value() throws(WireFormatError) -> JSONValue {
        switch try peekByte() {
        case UInt8(ascii: "{"):
            var members: [String: JSONValue] = [:]
            try object { (reader: inout JSONReader, key: String) throws(WireFormatError) in
                members[key] = try reader.value()
            }
            return .object(members)
        case UInt8(ascii: "["):
            var elements: [JSONValue] = []
            try array { (reader: inout JSONReader) throws(WireFormatError) in elements.append(try reader.value()) }
            return .array(elements)
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            return .bool(try bool())
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        default:
            return try number()
        }
    }

    /// The next value, which must be a string.
    public mutating func string() throws(WireFormatError) -> String {
        guard try peekByte() == UInt8(ascii: "\"") else { throw mismatch("a string") }
        let (body, escaped) = try scanString()
        return escaped ? JSONScanner.unescape(body) : String(decoding: body, as: UTF8.self)
    }

    /// The next value, which must be a string or `null` (nil).
    public mutating func optionalString() throws(WireFormatError) -> String? {
        try readNull() ? nil : string()
    }

    /// The next value, which must be an integer that fits `Int`.
    public mutating func int() throws(WireFormatError) -> Int {
        guard case .integer(let value) = try number(), let int = Int(exactly: value) else {
            throw mismatch("an integer")
        }
        return int
    }

    /// The next value, which must be a number.
    public mutating func double() throws(WireFormatError) -> Double {
        switch try number() {
        case .integer(let value): return Double(value)
        case .number(let value): return value
        default: throw mismatch("a number")
        }
    }

    /// The next value, which must be `true` or `false`.
    public mutating func bool() throws(WireFormatError) -> Bool {
        switch try peekByte() {
        case UInt8(ascii: "t"):
            try literal("true")
            return true
        case UInt8(ascii: "f"):
            try literal("false")
            return false
        default:
            throw mismatch("a boolean")
        }
    }

    /// Consumes a `null` if one comes next; false (consuming nothing) otherwise.
    public mutating func readNull() throws(WireFormatError) -> Bool {
        guard try peekByte() == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    /// Skips the next value, whatever it is.
    public mutating func skip() throws(WireFormatError) {
        switch try peekByte() {
        case UInt8(ascii: "{"):
            try members { (reader: inout JSONReader, _: Key) throws(WireFormatError) in try reader.skip() }
        case UInt8(ascii: "["):
            try array { (reader: inout JSONReader) throws(WireFormatError) in try reader.skip() }
        case UInt8(ascii: "\""):
            _ = try scanString()
        default:
            _ = try value()
        }
    }

    /// An object's key as it stands in the text: compared with a literal (`case "state":`) without building a
    /// `String`. It points into the text being read, so it must not outlive the `members` callback it is passed to.
    public struct Key {
        fileprivate let bytes: UnsafeBufferPointer<UInt8>
        fileprivate let escaped: Bool

        fileprivate init(_ bytes: UnsafeBufferPointer<UInt8>, escaped: Bool) {
            self.bytes = bytes
            self.escaped = escaped
        }

        /// The decoded key.
        public var string: String {
            escaped ? JSONScanner.unescape(bytes) : String(decoding: bytes, as: UTF8.self)
        }

        /// Whether `key` is `literal`.
        public static func ~= (literal: StaticString, key: Key) -> Bool {
            if key.escaped { return key.string == literal.description }
            return literal.withUTF8Buffer { expected in
                expected.count == key.bytes.count
                    && (expected.count == 0
                        || memcmp(expected.baseAddress!, key.bytes.baseAddress!, expected.count) == 0)
            }
        }
    }

    /// The next value, which must be an object: calls `member` with each key (as a `String`), and `member` must
    /// consume the value.
    public mutating func object(
        _ member: (inout JSONReader, String) throws(WireFormatError) -> Void
    ) throws(WireFormatError) {
        try members { (reader: inout JSONReader, key: Key) throws(WireFormatError) in try member(&reader, key.string) }
    }

    /// The next value, which must be an object: calls `member` with each key as it stands in the text (match it
    /// against literals), and `member` must consume the value.
    public mutating func members(
        _ member: (inout JSONReader, Key) throws(WireFormatError) -> Void
    ) throws(WireFormatError) {
        guard try peekByte() == UInt8(ascii: "{") else { throw mismatch("an object") }
        try enter()
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw syntax("expected a string key")
            }
            let (key, escaped) = try scanString()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                throw syntax("expected ':' after a key")
            }
            index += 1
            try member(&self, Key(key, escaped: escaped))
            skipWhitespace()
            guard index < bytes.count else { throw syntax("unexpected end of input in an object") }
            switch bytes[index] {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                depth -= 1
                return
            default: throw syntax("expected ',' or '}' in an object")
            }
        }
    }

    /// The next value, which must be an array: calls `element` once per element, and `element` must consume it.
    public mutating func array(_ element: (inout JSONReader) throws(WireFormatError) -> Void) throws(WireFormatError) {
        guard try peekByte() == UInt8(ascii: "[") else { throw mismatch("an array") }
        try enter()
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return
        }
        while true {
            try element(&self)
            skipWhitespace()
            guard index < bytes.count else { throw syntax("unexpected end of input in an array") }
            switch bytes[index] {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                depth -= 1
                return
            default: throw syntax("expected ',' or ']' in an array")
            }
        }
    }

    /// The next value, which must be an array of strings.
    public mutating func strings() throws(WireFormatError) -> [String] {
        var strings: [String] = []
        try array { (reader: inout JSONReader) throws(WireFormatError) in strings.append(try reader.string()) }
        return strings
    }

    /// A value the caller did not expect here: `what` names the field for the error.
    public func invalid(_ what: String) -> WireFormatError {
        .invalid("\(what) at byte \(index)", pointer: "")
    }

    // MARK: - Grammar

    private mutating func enter() throws(WireFormatError) {
        guard depth < JSONScanner.maxDepth else { throw syntax("nesting deeper than \(JSONScanner.maxDepth)") }
        depth += 1
        index += 1
    }

    private func syntax(_ reason: String) -> WireFormatError {
        .syntax(JSONSyntaxError(offset: index, reason: reason))
    }

    private func mismatch(_ expected: String) -> WireFormatError {
        .invalid("expected \(expected) at byte \(index)", pointer: "")
    }

    /// Skips whitespace and returns the byte the next value starts with.
    private mutating func peekByte() throws(WireFormatError) -> UInt8 {
        skipWhitespace()
        guard index < bytes.count else { throw syntax("unexpected end of input, expected a value") }
        return bytes[index]
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func literal(_ word: StaticString) throws(WireFormatError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw syntax("invalid literal") }
        let matches = word.withUTF8Buffer { expected in
            (0..<count).allSatisfy { bytes[index + $0] == expected[$0] }
        }
        guard matches else { throw syntax("invalid literal") }
        index += count
    }

    /// Scans a string (at its opening quote): its body between the quotes, and whether it has escapes.
    private mutating func scanString() throws(WireFormatError) -> (UnsafeBufferPointer<UInt8>, escaped: Bool) {
        index += 1
        let start = index
        var escaped = false
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\""):
                let body = UnsafeBufferPointer(rebasing: bytes[start..<index])
                index += 1
                return (body, escaped)
            case UInt8(ascii: "\\"):
                escaped = true
                try escape()
            case 0..<0x20:
                throw syntax("control character in a string")
            default:
                index += 1
            }
        }
        throw syntax("unterminated string")
    }

    /// Checks one escape sequence (at the backslash) and steps over it.
    private mutating func escape() throws(WireFormatError) {
        index += 1
        guard index < bytes.count else { throw syntax("unterminated string") }
        switch bytes[index] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            index += 1
        case UInt8(ascii: "u"):
            index += 1
            for _ in 0..<4 {
                guard index < bytes.count, JSONScanner.hexValue(bytes[index]) != nil else {
                    throw syntax("invalid \\u escape")
                }
                index += 1
            }
        default:
            throw syntax("invalid escape")
        }
    }

    private mutating func digits() -> Int {
        let start = index
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") { index += 1 }
        return index - start
    }

    /// A number: `.integer` when it has no fraction or exponent and fits 64 bits, `.number` otherwise.
    private mutating func number() throws(WireFormatError) -> JSONValue {
        let start = index
        let negative = try peekByte() == UInt8(ascii: "-")
        if negative { index += 1 }
        guard index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) else {
            throw syntax("unexpected character, expected a value")
        }
        let integerStart = index
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            _ = digits()
        }
        let integerEnd = index
        var integral = true
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            integral = false
            index += 1
            guard digits() > 0 else { throw syntax("invalid number: digits expected after '.'") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            integral = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard digits() > 0 else { throw syntax("invalid number: digits expected in the exponent") }
        }
        if integral, integerEnd - integerStart <= 19 {
            var magnitude: UInt64 = 0
            for position in integerStart..<integerEnd { magnitude = magnitude * 10 + UInt64(bytes[position] - 48) }
            if negative, magnitude <= UInt64(Int64.max) + 1 {
                return .integer(magnitude == UInt64(Int64.max) + 1 ? .min : -Int64(magnitude))
            }
            if !negative, magnitude <= UInt64(Int64.max) { return .integer(Int64(magnitude)) }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let value = Double(text) else { throw syntax("invalid number") }
        return .number(value)
    }
}
