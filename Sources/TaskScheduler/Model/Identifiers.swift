/// The identifier of a task: a 64-bit number, written on the wire as 16 lowercase hex digits.
public struct TaskID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The numeric value.
    public let rawValue: UInt64

    /// Wraps a numeric value.
    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    /// Parses the 16-hex-digit wire form (lowercase); `nil` for anything else. Inlinable, so that each caller gets
    /// a loop specialized to its string type (the generic one costs a request a microsecond).
    @inlinable
    public init?<S: StringProtocol>(_ text: S) {
        var value: UInt64 = 0
        var count = 0
        for byte in text.utf8 {
            count += 1
            guard count <= 16 else { return nil }
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = value << 4 | UInt64(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = value << 4 | UInt64(byte - UInt8(ascii: "a") + 10)
            default: return nil
            }
        }
        guard count == 16 else { return nil }
        self.rawValue = value
    }

    /// The 16-hex-digit wire form.
    public var description: String {
        String(unsafeUninitializedCapacity: 16) { buffer in
            writeHex(into: UnsafeMutableRawBufferPointer(buffer))
            return 16
        }
    }

    /// Writes the 16 hex digits of the wire form at the start of `buffer` (which has room for them).
    public func writeHex(into buffer: UnsafeMutableRawBufferPointer) {
        let digits: StaticString = "0123456789abcdef"
        for index in 0..<16 {
            buffer[index] = digits.utf8Start[Int(truncatingIfNeeded: rawValue >> UInt64(60 - 4 * index)) & 0xF]
        }
    }

    /// Orders by number, which is submission order within one scheduler.
    public static func < (lhs: TaskID, rhs: TaskID) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// The identifier of a registered worker.
public struct WorkerID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The numeric value.
    public let rawValue: UInt64

    /// Wraps a numeric value.
    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    /// Parses the `w` + decimal wire form, exactly as `description` writes it: digits only, no sign, no leading zero.
    @inlinable
    public init?<S: StringProtocol>(_ text: S) {
        let digits = text.utf8.dropFirst()
        guard text.first == "w", !digits.isEmpty, digits.allSatisfy({ $0 >= 48 && $0 <= 57 }),
            digits.count == 1 || digits.first != UInt8(ascii: "0"), let value = UInt64(text.dropFirst())
        else { return nil }
        self.rawValue = value
    }

    /// The wire form, `w` followed by the decimal number.
    public var description: String { "w\(rawValue)" }

    /// Orders by registration.
    public static func < (lhs: WorkerID, rhs: WorkerID) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// The identifier of a parked waiter inside the scheduler core.
public struct WaiterID: Hashable, Sendable {
    /// The numeric value.
    public let rawValue: UInt64
}
