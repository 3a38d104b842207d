/// Why a JSON text was rejected, and where.
public struct JSONSyntaxError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The byte offset of the problem.
    public var offset: Int
    /// What is wrong there.
    public var reason: String

    /// `reason at byte offset`.
    public var description: String { "\(reason) at byte \(offset)" }
}

/// The kind of a JSON value.
public enum JSONKind: Hashable, Sendable {
    case object, array, string, number, bool, null
}

/// A strict RFC 8259 scanner over UTF-8 bytes. It validates without building a tree, and reports where each
/// member of the top-level object sits, so a value (a task's `args`) can be kept as the exact bytes it arrived as.
public struct JSONScanner {
    /// One member of an object: its key, and the byte range and kind of its value.
    public struct Member: Sendable {
        /// The decoded key.
        public var key: String
        /// Where the value's bytes are.
        public var range: Range<Int>
        /// What the value is.
        public var kind: JSONKind
    }

    /// How deeply arrays and objects may nest.
    public static let maxDepth = 128

    private let bytes: [UInt8]
    private var index = 0

    private init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Checks that `bytes` is exactly one JSON value (with optional surrounding whitespace) and returns its kind.
    @discardableResult
    public static func validate(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONKind {
        var scanner = JSONScanner(bytes)
        scanner.skipWhitespace()
        let kind = try scanner.value(depth: 0)
        scanner.skipWhitespace()
        guard scanner.index == bytes.count else { throw scanner.error("unexpected data after the JSON value") }
        return kind
    }

    /// Validates `bytes` as one JSON value; when it is an object, returns its members in order (nil otherwise).
    public static func members(_ bytes: [UInt8]) throws(JSONSyntaxError) -> [Member]? {
        var scanner = JSONScanner(bytes)
        scanner.skipWhitespace()
        guard scanner.peek == UInt8(ascii: "{") else {
            try validate(bytes)
            return nil
        }
        let members = try scanner.object(depth: 0, collect: true)
        scanner.skipWhitespace()
        guard scanner.index == bytes.count else { throw scanner.error("unexpected data after the JSON value") }
        return members
    }

    /// Validates `bytes` as one JSON value; when it is an array, returns each element's range and kind.
    public static func elements(_ bytes: ArraySlice<UInt8>) throws(JSONSyntaxError) -> [(
        range: Range<Int>, kind: JSONKind
    )]? {
        var scanner = JSONScanner(Array(bytes))
        scanner.skipWhitespace()
        guard scanner.peek == UInt8(ascii: "[") else {
            try validate(Array(bytes))
            return nil
        }
        let elements = try scanner.array(depth: 0, collect: true)
        scanner.skipWhitespace()
        guard scanner.index == scanner.bytes.count else { throw scanner.error("unexpected data after the JSON value") }
        let base = bytes.startIndex
        return elements.map { ($0.range.lowerBound + base..<$0.range.upperBound + base, $0.kind) }
    }

    // MARK: - Grammar

    private var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

    private func error(_ reason: String) -> JSONSyntaxError {
        JSONSyntaxError(offset: index, reason: reason)
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func value(depth: Int) throws(JSONSyntaxError) -> JSONKind {
        guard let byte = peek else { throw error("unexpected end of input, expected a value") }
        switch byte {
        case UInt8(ascii: "{"):
            _ = try object(depth: depth, collect: false)
            return .object
        case UInt8(ascii: "["):
            _ = try array(depth: depth, collect: false)
            return .array
        case UInt8(ascii: "\""):
            _ = try string(decode: false)
            return .string
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try number()
            return .number
        default:
            throw error("unexpected character, expected a value")
        }
    }

    private mutating func object(depth: Int, collect: Bool) throws(JSONSyntaxError) -> [Member] {
        guard depth < Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth)") }
        index += 1
        var members: [Member] = []
        skipWhitespace()
        if peek == UInt8(ascii: "}") {
            index += 1
            return members
        }
        while true {
            skipWhitespace()
            guard peek == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let key = try string(decode: collect)
            skipWhitespace()
            guard peek == UInt8(ascii: ":") else { throw error("expected ':' after a key") }
            index += 1
            skipWhitespace()
            let start = index
            let kind = try value(depth: depth + 1)
            if collect { members.append(Member(key: key ?? "", range: start..<index, kind: kind)) }
            skipWhitespace()
            switch peek {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                return members
            default: throw error("expected ',' or '}' in an object")
            }
        }
    }

    private mutating func array(depth: Int, collect: Bool) throws(JSONSyntaxError) -> [Member] {
        guard depth < Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth)") }
        index += 1
        var elements: [Member] = []
        skipWhitespace()
        if peek == UInt8(ascii: "]") {
            index += 1
            return elements
        }
        while true {
            skipWhitespace()
            let start = index
            let kind = try value(depth: depth + 1)
            if collect { elements.append(Member(key: "", range: start..<index, kind: kind)) }
            skipWhitespace()
            switch peek {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                return elements
            default: throw error("expected ',' or ']' in an array")
            }
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONSyntaxError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("invalid literal") }
        let matches = word.withUTF8Buffer { expected in
            (0..<count).allSatisfy { bytes[index + $0] == expected[$0] }
        }
        guard matches else { throw error("invalid literal") }
        index += count
    }

    private mutating func digits() -> Int {
        let start = index
        while let byte = peek, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { index += 1 }
        return index - start
    }

    private mutating func number() throws(JSONSyntaxError) {
        if peek == UInt8(ascii: "-") { index += 1 }
        if peek == UInt8(ascii: "0") {
            index += 1
        } else {
            guard digits() > 0 else { throw error("invalid number") }
        }
        if peek == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { throw error("invalid number: digits expected after '.'") }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            index += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw error("invalid number: digits expected in the exponent") }
        }
    }

    /// Scans a string; returns its decoded value when `decode` is set.
    private mutating func string(decode: Bool) throws(JSONSyntaxError) -> String? {
        index += 1
        let start = index
        var escaped = false
        while true {
            guard let byte = peek else { throw error("unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                let end = index
                index += 1
                guard decode else { return nil }
                if !escaped { return String(decoding: bytes[start..<end], as: UTF8.self) }
                return Self.unescape(bytes[start..<end])
            case UInt8(ascii: "\\"):
                escaped = true
                index += 1
                guard let next = peek else { throw error("unterminated string") }
                switch next {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 1
                case UInt8(ascii: "u"):
                    index += 1
                    for _ in 0..<4 {
                        guard let hex = peek, Self.hexValue(hex) != nil else { throw error("invalid \\u escape") }
                        index += 1
                    }
                default:
                    throw error("invalid escape")
                }
            case 0..<0x20:
                throw error("control character in a string")
            default:
                index += 1
            }
        }
    }

    static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// Decodes a string value the scanner has validated (its bytes, quotes included).
    public static func decodeString(_ raw: ArraySlice<UInt8>) -> String {
        let body = raw.dropFirst().dropLast()
        if !body.contains(UInt8(ascii: "\\")) { return String(decoding: body, as: UTF8.self) }
        return unescape(body)
    }

    /// Decodes the escapes of an already-scanned string body.
    static func unescape<Bytes: RandomAccessCollection<UInt8>>(_ body: Bytes) -> String where Bytes.Index == Int {
        var scalars = String.UnicodeScalarView()
        var out: [UInt8] = []
        var i = body.startIndex
        func flush() {
            if !out.isEmpty {
                scalars.append(contentsOf: String(decoding: out, as: UTF8.self).unicodeScalars)
                out.removeAll()
            }
        }
        func hex4(_ at: Int) -> UInt32 {
            (0..<4).reduce(0) { $0 << 4 | hexValue(body[at + $1])! }
        }
        while i < body.endIndex {
            let byte = body[i]
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                i += 1
                continue
            }
            let kind = body[i + 1]
            i += 2
            switch kind {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var code = hex4(i)
                i += 4
                if (0xD800..<0xDC00).contains(code), i + 6 <= body.endIndex, body[i] == UInt8(ascii: "\\"),
                    body[i + 1] == UInt8(ascii: "u")
                {
                    let low = hex4(i + 2)
                    if (0xDC00..<0xE000).contains(low) {
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                    }
                }
                flush()
                // A lone surrogate cannot be represented; it becomes U+FFFD like every other decoder does.
                scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
            default: out.append(kind)
            }
        }
        flush()
        return String(scalars)
    }
}
