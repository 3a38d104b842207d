/// Why the HTTP layer found a request malformed before any handler saw it; the gateway answers each with a 400
/// problem (and, since the body was not read, libmicrohttpd closes the connection after it).
public enum RequestDefect: Sendable, Equatable {
    /// The path is not a clean percent-encoded path: a bad escape, an encoded NUL or slash, or invalid UTF-8.
    case path(String)
    /// A query parameter the server reads is malformed or repeated.
    case query(name: String, String)
    /// The body's framing is ambiguous: repeated or conflicting `Content-Length`, or a `Transfer-Encoding` other
    /// than `chunked` (the request smuggling shapes of RFC 9112 section 6.3).
    case framing(String)
}

/// The request target (`/path?query`) as the client sent it, decoded strictly by taskgate rather than by
/// libmicrohttpd: libmicrohttpd 0.9.75 turns `%00` into a C string's end (so `/tasks/<id>%00/x` looked like
/// `/tasks/<id>`), decodes `%2F` into a path separator, and stops answering when a long query's parameters outgrow
/// its per-connection memory. taskgate reads only the parameters it knows, so a query costs no memory per
/// parameter.
struct RequestTarget {
    /// The decoded path.
    var path = ""
    /// The known query parameters, decoded (`+` is a space, as in forms).
    var query: [String: String] = [:]
    /// What was wrong, if anything.
    var defect: RequestDefect?

    /// Parses a raw target; `known` lists the query parameters to keep.
    init(_ target: [UInt8], known: [String]) {
        let questionMark = target.firstIndex(of: UInt8(ascii: "?")) ?? target.endIndex
        switch Self.decode(target[..<questionMark], plusIsSpace: false, forbidSlash: true) {
        case .success(let path): self.path = path
        case .failure(let problem):
            self.path = String(decoding: target[..<questionMark], as: UTF8.self)
            defect = .path(problem.detail)
            return
        }
        guard questionMark < target.endIndex else { return }
        var start = questionMark + 1
        while start <= target.endIndex {
            let end = target[start...].firstIndex(of: UInt8(ascii: "&")) ?? target.endIndex
            let pair = target[start..<end]
            start = end + 1
            if pair.isEmpty { continue }
            let equals = pair.firstIndex(of: UInt8(ascii: "=")) ?? pair.endIndex
            guard let name = known.first(where: { $0.utf8.elementsEqual(pair[..<equals]) }) else { continue }
            let rawValue = equals < pair.endIndex ? pair[(equals + 1)...] : pair[pair.endIndex...]
            switch Self.decode(rawValue, plusIsSpace: true, forbidSlash: false) {
            case .success(let value):
                guard query.updateValue(value, forKey: name) == nil else {
                    defect = .query(name: name, "\(name) is given more than once")
                    return
                }
            case .failure(let problem):
                defect = .query(name: name, "\(name): \(problem.detail)")
                return
            }
        }
    }

    struct DecodeError: Error {
        var detail: String
    }

    /// Percent-decodes `bytes`; refuses a malformed escape, an encoded NUL, an encoded `/` when `forbidSlash`, and
    /// bytes that are not UTF-8.
    static func decode(_ bytes: ArraySlice<UInt8>, plusIsSpace: Bool, forbidSlash: Bool) -> Result<String, DecodeError>
    {
        if !bytes.contains(where: { $0 == UInt8(ascii: "%") || $0 >= 0x80 || ($0 == UInt8(ascii: "+") && plusIsSpace) })
        {
            // Plain ASCII (the usual case): valid UTF-8 as it is.
            return .success(String(decoding: bytes, as: UTF8.self))
        }
        if !bytes.contains(UInt8(ascii: "%")) && !(plusIsSpace && bytes.contains(UInt8(ascii: "+"))) {
            guard let text = String(validating: bytes, as: UTF8.self) else {
                return .failure(DecodeError(detail: "the request target is not UTF-8"))
            }
            return .success(text)
        }
        var decoded: [UInt8] = []
        decoded.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") && plusIsSpace {
                decoded.append(UInt8(ascii: " "))
                index += 1
                continue
            }
            guard byte == UInt8(ascii: "%") else {
                decoded.append(byte)
                index += 1
                continue
            }
            guard index + 2 < bytes.endIndex, let high = hexValue(bytes[index + 1]),
                let low = hexValue(bytes[index + 2])
            else { return .failure(DecodeError(detail: "'%' must be followed by two hexadecimal digits")) }
            let value = high << 4 | low
            if value == 0 { return .failure(DecodeError(detail: "an encoded NUL (%00) is not allowed")) }
            if value == UInt8(ascii: "/") && forbidSlash {
                return .failure(DecodeError(detail: "an encoded slash (%2F) is not allowed in the path"))
            }
            decoded.append(value)
            index += 3
        }
        guard let text = String(validating: decoded, as: UTF8.self) else {
            return .failure(DecodeError(detail: "the request target does not decode to UTF-8"))
        }
        return .success(text)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
