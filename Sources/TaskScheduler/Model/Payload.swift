/// Opaque JSON bytes: task arguments and results. The core stores and hands them on; it never parses them.
public struct Payload: Hashable, Sendable, CustomStringConvertible {
    /// The JSON text as UTF-8 bytes.
    public var bytes: [UInt8]

    /// Wraps bytes that the caller vouches are one JSON value.
    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Wraps the UTF-8 bytes of a JSON text.
    public init(json: String) {
        self.bytes = Array(json.utf8)
    }

    /// The JSON `null` value.
    public static let null = Payload(json: "null")

    /// The size in bytes.
    public var count: Int { bytes.count }

    /// The bytes decoded as UTF-8 (for logs and tests).
    public var description: String { String(decoding: bytes, as: UTF8.self) }
}
