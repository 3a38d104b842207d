/// The identifier of a task: a 64-bit number, written on the wire as 16 lowercase hex digits.
public struct TaskID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The numeric value.
    public let rawValue: UInt64

    /// Wraps a numeric value.
    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    /// Parses the 16-hex-digit wire form; `nil` for anything else.
    public init?<S: StringProtocol>(_ text: S) {
        guard text.utf8.count == 16, let value = UInt64(text, radix: 16),
            text.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) })
        else { return nil }
        self.rawValue = value
    }

    /// The 16-hex-digit wire form.
    public var description: String {
        let hex = String(rawValue, radix: 16)
        return String(repeating: "0", count: 16 - hex.utf8.count) + hex
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

    /// Parses the `w` + decimal wire form.
    public init?<S: StringProtocol>(_ text: S) {
        guard text.first == "w", let value = UInt64(text.dropFirst()) else { return nil }
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
