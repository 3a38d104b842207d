import TaskGateAPI
import TaskScheduler

/// Turns request bodies, query parameters and headers into typed values, or into the problem that explains why not.
enum RequestParsing {
    /// Checks the media type and encoding of a JSON body and returns it (`Gateway.handle` refused a body over the
    /// size limit already).
    static func jsonBody(_ request: HTTPRequest) throws(Problem) -> [UInt8] {
        let contentType = request.header(.contentType)
        guard let contentType, isJSON(contentType) else { throw .unsupportedMediaType(contentType) }
        guard (try? UTF8Span(validating: request.body.span)) != nil else {
            throw .malformedJSON("the body is not valid UTF-8")
        }
        return request.body
    }

    /// Whether a `Content-Type` names JSON: `application/json` or `application/*+json`, any case, parameters
    /// (`; charset=utf-8`) ignored. Reads the bytes in place (this runs on every submission).
    static func isJSON(_ contentType: String) -> Bool {
        var contentType = contentType
        return contentType.withUTF8 { bytes in
            var end = bytes.firstIndex(of: UInt8(ascii: ";")) ?? bytes.count
            var start = 0
            while start < end, bytes[start] == UInt8(ascii: " ") || bytes[start] == UInt8(ascii: "\t") { start += 1 }
            while end > start, bytes[end - 1] == UInt8(ascii: " ") || bytes[end - 1] == UInt8(ascii: "\t") { end -= 1 }
            let mediaType = UnsafeBufferPointer(rebasing: bytes[start..<end])
            func matches(_ expected: StaticString, at offset: Int) -> Bool {
                guard offset >= 0, offset + expected.utf8CodeUnitCount <= mediaType.count else { return false }
                for index in 0..<expected.utf8CodeUnitCount {
                    let byte = mediaType[offset + index]
                    let lowered = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
                    if lowered != expected.utf8Start[index] { return false }
                }
                return true
            }
            if mediaType.count == 16, matches("application/json", at: 0) { return true }
            return mediaType.count > 17 && matches("application/", at: 0) && matches("+json", at: mediaType.count - 5)
        }
    }

    /// `text` without leading and trailing spaces, tabs and the characters in `extra`.
    static func trim(_ text: Substring, _ extra: Set<Character> = []) -> Substring {
        var text = text
        while let first = text.first, first == " " || first == "\t" || extra.contains(first) { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" || extra.contains(last) { text.removeLast() }
        return text
    }

    /// The members of a body that must be one JSON object.
    static func object(_ body: [UInt8], pointer: String = "") throws(Problem) -> [JSONScanner.Member] {
        do {
            return try WireReading.object(body, pointer: pointer, what: "the body")
        } catch {
            throw Problem(error)
        }
    }

    /// A submission from the members of one task object.
    static func submitRequest(
        _ body: [UInt8], _ members: [JSONScanner.Member], pointer prefix: String, idempotencyKey: String?
    ) throws(Problem) -> SubmitRequest {
        var request = SubmitRequest(function: "", idempotencyKey: idempotencyKey)
        var hasFunction = false
        for (index, member) in members.enumerated() {
            var pointer: String { prefix + "/" + member.key }
            // A scan of the members before this one: an unknown field throws at once, so at most the six known
            // ones are ever compared.
            guard !members[..<index].contains(where: { $0.key == member.key }) else {
                throw .invalidRequest("the field '\(member.key)' appears twice", pointer: pointer)
            }
            let raw = body[member.range]
            switch member.key {
            case "function":
                guard member.kind == .string else {
                    throw .invalidRequest("function must be a string", pointer: pointer)
                }
                request.function = JSONScanner.decodeString(raw)
                hasFunction = true
            case "args":
                request.args = Payload(Array(raw))
            case "priority":
                guard member.kind == .number, let value = Int(String(decoding: raw, as: UTF8.self)) else {
                    throw .invalidRequest("priority must be an integer", pointer: pointer)
                }
                request.priority = value
            case "timeout_s":
                if member.kind == .null { continue }
                guard member.kind == .number, let value = Double(String(decoding: raw, as: UTF8.self)),
                    value.isFinite
                else {
                    throw .invalidRequest("timeout_s must be a number of seconds", pointer: pointer)
                }
                guard value > 0, value <= 1e9 else {
                    throw .invalidRequest("timeout_s must be above 0", pointer: pointer)
                }
                request.timeout = .nanoseconds(Int64(value * 1e9))
            case "max_retries":
                guard member.kind == .number, let value = Int(String(decoding: raw, as: UTF8.self)) else {
                    throw .invalidRequest("max_retries must be an integer", pointer: pointer)
                }
                request.maxRetries = value
            case "tags":
                request.tags = try strings(Array(raw), pointer: pointer, what: "tags")
            case "callback_url":
                if member.kind == .null { continue }
                guard member.kind == .string else {
                    throw .invalidRequest("callback_url must be a string", pointer: pointer)
                }
                request.callbackURL = JSONScanner.decodeString(raw)
            default:
                throw .invalidRequest(
                    "unknown field '\(member.key)'; known: function, args, priority, timeout_s, max_retries, tags, "
                        + "callback_url",
                    pointer: pointer)
            }
        }
        guard hasFunction else { throw .invalidRequest("function is required", pointer: prefix + "/function") }
        return request
    }

    /// A JSON array of strings.
    static func strings(_ raw: [UInt8], pointer: String, what: String) throws(Problem) -> [String] {
        do {
            return try WireReading.strings(raw, pointer: pointer, what: what)
        } catch {
            throw Problem(error)
        }
    }

    /// Decodes a scanned JSON string value (quotes included).
    static func string(_ raw: [UInt8]) -> String {
        JSONScanner.decodeString(raw[...])
    }

    /// Seconds from a `wait` query parameter or a `Prefer: wait=N` header (the parameter wins), clamped to
    /// `max`; nil when neither is given.
    static func wait(_ request: HTTPRequest, max: Duration) throws(Problem) -> Duration? {
        var seconds: Double?
        if let value = request.query["wait"] {
            guard let parsed = decimalSeconds(value[...].utf8) else {
                throw .invalidParameter("wait", "wait must be a non-negative number of seconds, got '\(value)'")
            }
            seconds = parsed
        } else if let prefer = request.header(.prefer), let preferred = preferWait(prefer) {
            seconds = preferred
        }
        guard let seconds else { return nil }
        return .seconds(seconds, atMost: max)
    }

    /// The `wait` preference of a `Prefer` header (RFC 7240), if any: `wait=N` among comma-separated preferences,
    /// with optional spaces, quotes and `;` parameters. Read on the bytes: every `Prefer: wait` submit pays for it.
    static func preferWait(_ header: String) -> Double? {
        var header = header
        return header.withUTF8 { bytes -> Double? in
            var start = 0
            while start < bytes.count {
                var end = start
                while end < bytes.count, bytes[end] != UInt8(ascii: ",") { end += 1 }
                if let seconds = waitValue(UnsafeBufferPointer(rebasing: bytes[start..<end])) { return seconds }
                start = end + 1
            }
            return nil
        }
    }

    /// Whether a `Prefer` header asks for `return=minimal` (RFC 7240): answers then carry each task's status only.
    static func prefersMinimal(_ header: String) -> Bool {
        header.split(separator: ",").contains { preference in
            let token = trim(preference.split(separator: ";").first ?? "")
            let parts = token.split(separator: "=", maxSplits: 1)
            return parts.count == 2 && trim(parts[0]).lowercased() == "return"
                && trim(parts[1], ["\""]).lowercased() == "minimal"
        }
    }

    private static let waitName = Array("wait".utf8)

    /// `N` of one `wait=N` preference; nil for any other preference or a value that is not a non-negative number.
    private static func waitValue(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        func isSpace(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        var index = 0
        while index < bytes.count, isSpace(bytes[index]) { index += 1 }
        let name = waitName
        guard index + name.count <= bytes.count else { return nil }
        for offset in 0..<name.count where bytes[index + offset] | 0x20 != name[offset] { return nil }
        index += name.count
        while index < bytes.count, isSpace(bytes[index]) { index += 1 }
        guard index < bytes.count, bytes[index] == UInt8(ascii: "=") else { return nil }
        index += 1
        while index < bytes.count, isSpace(bytes[index]) || bytes[index] == UInt8(ascii: "\"") { index += 1 }
        var end = index
        while end < bytes.count, bytes[end] != UInt8(ascii: ";"), !isSpace(bytes[end]), bytes[end] != UInt8(ascii: "\"")
        {
            end += 1
        }
        return decimalSeconds(UnsafeBufferPointer(rebasing: bytes[index..<end]))
    }

    /// A plain decimal number of seconds (`5`, `0.25`): digits with an optional fraction, nothing else — no sign,
    /// exponent, hexadecimal (`0x10`), `inf` or `nan`, which `Double.init` would all take.
    static func decimalSeconds<C: BidirectionalCollection<UInt8>>(_ bytes: C) -> Double? {
        var digits = 0
        var dots = 0
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                dots += 1
            } else if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                digits += 1
            } else {
                return nil
            }
        }
        guard digits > 0, dots <= 1, bytes.first != UInt8(ascii: "."), bytes.last != UInt8(ascii: ".") else {
            return nil
        }
        return Double(String(decoding: bytes, as: UTF8.self)).flatMap { $0.isFinite ? $0 : nil }
    }

    /// A W3C Trace Context `traceparent` header (version 00 form: `VV-<32 hex>-<16 hex>-FF`, lowercase, trace and
    /// parent ids not all zeros, version not `ff`), or nil. An invalid one is dropped, not refused, as the
    /// specification asks of a receiver.
    static func traceparent(_ header: String?) -> String? {
        guard let header, header.utf8.count == 55 else { return nil }
        let bytes = Array(header.utf8)
        func isHex(_ range: Range<Int>) -> Bool {
            bytes[range].allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
        }
        func isZero(_ range: Range<Int>) -> Bool { bytes[range].allSatisfy { $0 == 48 } }
        guard bytes[2] == 45, bytes[35] == 45, bytes[52] == 45, isHex(0..<2), isHex(3..<35), isHex(36..<52),
            isHex(53..<55), header.prefix(2) != "ff", !isZero(3..<35), !isZero(36..<52)
        else { return nil }
        return header
    }

    /// The versions named by an `If-None-Match` header; `nil` stands for `*`.
    static func etagVersions(_ header: String) -> Set<UInt64>? {
        var versions = Set<UInt64>()
        for item in header.split(separator: ",") {
            var tag = trim(item)
            if tag == "*" { return nil }
            if tag.hasPrefix("W/") { tag.removeFirst(2) }
            tag = trim(tag, ["\""])
            if let version = UInt64(tag) { versions.insert(version) }
        }
        return versions
    }

    /// Formats seconds for `Preference-Applied: wait=N`.
    /// Seconds with at most three decimals and no exponent (`5`, `0.25`).
    static func seconds(_ duration: Duration) -> String {
        let millis = Int((duration.seconds * 1000).rounded())
        let whole = String(millis / 1000)
        guard millis % 1000 != 0 else { return whole }
        var fraction = String(millis % 1000)
        fraction = String(repeating: "0", count: 3 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return whole + "." + fraction
    }
}
