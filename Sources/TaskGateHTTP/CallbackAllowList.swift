/// Where completion webhooks may go: the server's `--callback-allow` entries. Without any, `callback_url` is refused,
/// so a client cannot aim the server at an address of its network (SSRF).
///
/// An entry is either an origin-and-path prefix (`https://hooks.example.com/taskgate/`: same scheme, host and port,
/// and a path that starts with the entry's at a segment boundary) or a bare host with an optional port
/// (`hooks.example.com`, `hooks.example.com:8443`: any `http` or `https` URL on it). Hosts compare without case. A URL
/// is refused outright when it has user information, a fragment, a backslash, or a `.`/`..` segment (plain or
/// percent-encoded), so that a receiver cannot resolve it to another path than the one checked.
public struct CallbackAllowList: Sendable, Equatable {
    /// One entry.
    struct Entry: Sendable, Equatable {
        var scheme: String?
        var host: String
        var port: Int?
        var path: String?
    }

    /// A `callback_url` taken apart.
    struct Parts: Equatable {
        var scheme: String
        var host: String
        var port: Int
        var path: String
    }

    let entries: [Entry]

    /// No entry: every callback is refused.
    public init() {
        entries = []
    }

    /// Parses the entries; throws a message naming the first bad one.
    public init(_ specs: [String]) throws(CallbackAllowListError) {
        var entries: [Entry] = []
        for spec in specs {
            if spec.contains("://") {
                guard let parts = Self.parts(of: spec), !spec.contains("?") else {
                    throw CallbackAllowListError(
                        "the callback allow-list entry '\(spec)' is not an http or https URL without user, query or "
                            + "fragment")
                }
                let explicitPort = Self.authority(of: spec)?.contains(":") == true
                entries.append(
                    Entry(
                        scheme: parts.scheme, host: parts.host,
                        port: explicitPort ? parts.port : Self.defaultPort(parts.scheme), path: parts.path))
            } else {
                let pieces = spec.split(separator: ":", omittingEmptySubsequences: false)
                guard (1...2).contains(pieces.count), Self.isHost(pieces[0]),
                    pieces.count == 1 || Int(pieces[1]).map({ (1...65_535).contains($0) }) == true
                else {
                    throw CallbackAllowListError(
                        "the callback allow-list entry '\(spec)' is neither a URL prefix (https://host/path/) nor a "
                            + "host[:port]")
                }
                entries.append(
                    Entry(
                        scheme: nil, host: pieces[0].lowercased(), port: pieces.count == 2 ? Int(pieces[1]) : nil,
                        path: nil))
            }
        }
        self.entries = entries
    }

    /// Whether any entry is given (callbacks are on).
    public var isEmpty: Bool { entries.isEmpty }

    /// Whether `url` may be called back.
    public func allows(_ url: String) -> Bool {
        guard let parts = Self.parts(of: url) else { return false }
        return entries.contains { entry in
            guard entry.host == parts.host else { return false }
            if let scheme = entry.scheme, scheme != parts.scheme { return false }
            if let port = entry.port, port != parts.port { return false }
            guard let prefix = entry.path else { return true }
            return parts.path == prefix || parts.path.hasPrefix(prefix.hasSuffix("/") ? prefix : prefix + "/")
        }
    }

    /// Scheme, host, port (the scheme's default when not given) and path (`/` when empty) of an `http` or `https`
    /// URL; nil for anything else or anything refused outright (see the type's comment). A query is allowed and not
    /// part of the path. Reads the bytes in place (this runs on every submission that carries a callback).
    static func parts(of url: String) -> Parts? {
        var url = url
        return url.withUTF8 { bytes -> Parts? in
            let count = bytes.count
            guard !bytes.contains(UInt8(ascii: "#")), !bytes.contains(UInt8(ascii: "\\")),
                let colon = bytes.firstIndex(of: UInt8(ascii: ":")), colon + 2 < count,
                bytes[colon + 1] == UInt8(ascii: "/"), bytes[colon + 2] == UInt8(ascii: "/")
            else { return nil }
            let scheme: String
            switch lowered(bytes[0..<colon]) {
            case "http": scheme = "http"
            case "https": scheme = "https"
            default: return nil
            }
            var index = colon + 3
            let authorityStart = index
            var portColon: Int?
            while index < count, bytes[index] != UInt8(ascii: "/"), bytes[index] != UInt8(ascii: "?") {
                switch bytes[index] {
                case UInt8(ascii: ":"):
                    guard portColon == nil else { return nil }
                    portColon = index
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."):
                    break
                default:
                    return nil  // user information (@), brackets, anything else
                }
                index += 1
            }
            let hostEnd = portColon ?? index
            guard hostEnd > authorityStart, hostEnd - authorityStart <= 253 else { return nil }
            var port = defaultPort(scheme)
            if let portColon {
                guard index - portColon - 1 >= 1, index - portColon - 1 <= 5 else { return nil }
                var value = 0
                for byte in bytes[(portColon + 1)..<index] {
                    guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                    value = value * 10 + Int(byte - UInt8(ascii: "0"))
                }
                guard (1...65_535).contains(value) else { return nil }
                port = value
            }
            let pathStart = index
            while index < count, bytes[index] != UInt8(ascii: "?") { index += 1 }
            let path = bytes[pathStart..<index]
            guard isPlainPath(path) else { return nil }
            return Parts(
                scheme: scheme, host: lowered(bytes[authorityStart..<hostEnd]), port: port,
                path: path.isEmpty ? "/" : String(decoding: path, as: UTF8.self))
        }
    }

    /// Whether no segment of `path` is `.` or `..` (plain or percent-encoded) and no `%2F` hides a slash.
    private static func isPlainPath(_ path: Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
        var dots = 0
        var other = false
        var index = path.startIndex
        while index <= path.endIndex {
            if index == path.endIndex || path[index] == UInt8(ascii: "/") {
                if !other && (dots == 1 || dots == 2) { return false }
                dots = 0
                other = false
                index += 1
                continue
            }
            if path[index] == UInt8(ascii: "."), !other {
                dots += 1
            } else if path[index] == UInt8(ascii: "%"), index + 2 < path.endIndex {
                let code = (path[index + 1] | 0x20, path[index + 2] | 0x20)
                if code == (UInt8(ascii: "2"), UInt8(ascii: "f")) { return false }
                if code == (UInt8(ascii: "2"), UInt8(ascii: "e")) && !other {
                    dots += 1
                    index += 3
                    continue
                }
                other = true
            } else {
                other = true
            }
            index += 1
        }
        return true
    }

    /// ASCII bytes as a lowercased string.
    private static func lowered(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> String {
        String(
            decoding: bytes.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 + 32 : $0 }, as: UTF8.self)
    }

    /// What lies between `://` and the first `/`, `?` or `#`.
    static func authority(of url: String) -> Substring? {
        guard let separator = url.firstRange(of: "://") else { return nil }
        let rest = url[separator.upperBound...]
        return rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
    }

    private static func defaultPort(_ scheme: String) -> Int { scheme == "https" ? 443 : 80 }

    /// A DNS name or an IPv4 address: letters, digits, `-` and `.`.
    private static func isHost(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.count <= 253
            && text.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."):
                    true
                default: false
                }
            }
    }
}

/// A callback allow-list entry that could not be read.
public struct CallbackAllowListError: Error, Sendable, CustomStringConvertible {
    /// What was wrong.
    public var description: String

    init(_ description: String) {
        self.description = description
    }
}
