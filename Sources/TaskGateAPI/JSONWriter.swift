/// Appends JSON to a byte buffer: objects and arrays with their commas, escaped strings, numbers, and raw JSON
/// values (task payloads) copied as they are.
public struct JSONWriter: Sendable {
    /// The JSON written so far.
    public private(set) var bytes: [UInt8] = []
    /// Open containers (at most 64 deep; the writer's users nest a few levels).
    private var depth = 0
    /// Bit `d` is set once the container at depth `d + 1` has an element: a bit set instead of a stack, so
    /// writing allocates nothing but `bytes`.
    private var filled: UInt64 = 0
    /// True between a key and its value.
    private var afterKey = false

    /// An empty writer, with room for `capacity` bytes.
    public init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    private mutating func markElement() {
        let bit: UInt64 = 1 << UInt64(depth - 1)
        if filled & bit != 0 { bytes.append(UInt8(ascii: ",")) }
        filled |= bit
    }

    private mutating func beforeValue() {
        if afterKey {
            afterKey = false
        } else if depth > 0 {
            markElement()
        }
    }

    private mutating func beforeKey() {
        markElement()
        afterKey = true
    }

    private mutating func open(_ bracket: UInt8) {
        beforeValue()
        bytes.append(bracket)
        precondition(depth < 64, "JSONWriter nests at most 64 containers")
        depth += 1
        filled &= ~(1 << UInt64(depth - 1))
    }

    private mutating func close(_ bracket: UInt8) {
        depth -= 1
        bytes.append(bracket)
    }

    /// Opens an object.
    public mutating func beginObject() { open(UInt8(ascii: "{")) }

    /// Closes the innermost object.
    public mutating func endObject() { close(UInt8(ascii: "}")) }

    /// Opens an array.
    public mutating func beginArray() { open(UInt8(ascii: "[")) }

    /// Closes the innermost array.
    public mutating func endArray() { close(UInt8(ascii: "]")) }

    /// Writes a literal object key (copied as it is: literal keys need no escaping); the next write is its value.
    public mutating func key(_ key: StaticString) {
        beforeKey()
        bytes.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    /// Writes an object key computed at run time (escaped as needed); literal keys take `key(_:)`.
    public mutating func dynamicKey(_ key: String) {
        beforeKey()
        appendEscaped(key)
        bytes.append(UInt8(ascii: ":"))
    }

    /// Writes a string value.
    public mutating func string(_ value: String) {
        beforeValue()
        appendEscaped(value)
    }

    /// Writes an integer value.
    public mutating func number(_ value: some BinaryInteger) {
        beforeValue()
        if let small = Int64(exactly: value) {
            appendDigits(small)
        } else {
            bytes.append(contentsOf: String(value).utf8)
        }
    }

    private mutating func appendDigits(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        Self.appendDecimal(value.magnitude, to: &bytes)
    }

    /// Appends `value` in decimal digits, without going through `String` (event ids, durations, numbers).
    public static func appendDecimal(_ value: UInt64, to bytes: inout [UInt8]) {
        var magnitude = value
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // room for 20 digits, written from the back
        let count = withUnsafeMutableBytes(of: &digits) { buffer -> Int in
            var index = buffer.count
            repeat {
                index -= 1
                buffer[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            return buffer.count - index
        }
        withUnsafeBytes(of: &digits) { bytes.append(contentsOf: $0.suffix(count)) }
    }

    /// Writes a timestamp as an RFC 3339 UTC string with microseconds (`"2026-11-25T09:12:33.123456Z"`).
    public mutating func timestamp(nanosecondsSinceEpoch nanoseconds: Int64) {
        beforeValue()
        bytes.append(UInt8(ascii: "\""))
        RFC3339.append(nanosecondsSinceEpoch: nanoseconds, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    /// Writes a finite floating-point value (non-finite values become `null`).
    public mutating func number(_ value: Double) {
        beforeValue()
        if value.isFinite {
            bytes.append(contentsOf: "\(value)".utf8)
        } else {
            bytes.append(contentsOf: "null".utf8)
        }
    }

    /// Writes a duration in seconds with up to nine decimals (`0.000123`, `2.5`, `3`), without going through `Double`'s
    /// printing (this runs in every task answer that shows an attempt).
    public mutating func seconds(nanoseconds: Int64) {
        beforeValue()
        if nanoseconds < 0 { bytes.append(UInt8(ascii: "-")) }
        let magnitude = nanoseconds.magnitude
        Self.appendDecimal(magnitude / 1_000_000_000, to: &bytes)
        var fraction = magnitude % 1_000_000_000
        guard fraction > 0 else { return }
        bytes.append(UInt8(ascii: "."))
        // Nine places, less the trailing zeros; the leading ones written before the significant digits.
        var places = 9
        while fraction % 10 == 0 {
            fraction /= 10
            places -= 1
        }
        var significant = 1
        var bound: UInt64 = 10
        while fraction >= bound {
            significant += 1
            bound *= 10
        }
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: places - significant))
        Self.appendDecimal(fraction, to: &bytes)
    }

    /// Writes an object of integer members.
    public mutating func fields(_ members: [(String, Int)]) {
        beginObject()
        for (name, value) in members {
            dynamicKey(name)
            number(value)
        }
        endObject()
    }

    /// Writes `true` or `false`.
    public mutating func bool(_ value: Bool) {
        beforeValue()
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    /// Writes `null`.
    public mutating func null() {
        beforeValue()
        bytes.append(contentsOf: "null".utf8)
    }

    /// Writes a `JSONValue` (object members in the dictionary's order), nested as deep as it is.
    public mutating func value(_ value: JSONValue) {
        beforeValue()
        append(value)
    }

    /// Appends a value with its own commas, so a deep value does not count against the writer's 64 levels.
    private mutating func append(_ value: JSONValue) {
        switch value {
        case .null: bytes.append(contentsOf: "null".utf8)
        case .bool(let flag): bytes.append(contentsOf: (flag ? "true" : "false").utf8)
        case .integer(let integer): appendDigits(integer)
        case .number(let double): bytes.append(contentsOf: (double.isFinite ? "\(double)" : "null").utf8)
        case .string(let text): appendEscaped(text)
        case .array(let elements):
            bytes.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                append(element)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let members):
            bytes.append(UInt8(ascii: "{"))
            var first = true
            for (key, member) in members {
                if !first { bytes.append(UInt8(ascii: ",")) }
                first = false
                appendEscaped(key)
                bytes.append(UInt8(ascii: ":"))
                append(member)
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    /// Writes bytes that already are one JSON value.
    public mutating func raw(_ json: [UInt8]) {
        beforeValue()
        bytes.append(contentsOf: json)
    }

    /// Writes a string value of `count` bytes that `write` puts into the buffer it is given; the bytes must need
    /// no escaping (hex ids, for instance). Saves building a `String` for them.
    public mutating func plainString(count: Int, _ write: (UnsafeMutableRawBufferPointer) -> Void) {
        beforeValue()
        bytes.append(UInt8(ascii: "\""))
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: count))
        bytes.withUnsafeMutableBytes { buffer in
            write(UnsafeMutableRawBufferPointer(rebasing: buffer[start..<start + count]))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func appendEscaped(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        let plain = value.withUTF8 { utf8 -> Bool in
            for byte in utf8 where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                return false
            }
            bytes.append(contentsOf: utf8)
            return true
        }
        if plain {
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [
                    UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)],
                    hex[Int(byte & 0xF)],
                ])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
