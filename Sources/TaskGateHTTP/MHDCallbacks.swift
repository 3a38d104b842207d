import CMicroHTTPD

/// Every C callback handed to libmicrohttpd, as closure literals with no captures: each recovers its Swift owner
/// from the context pointer and forwards to a method. They run on libmicrohttpd's threads, never an actor.
enum MHDCallbacks {
    /// `MHD_AccessHandlerCallback`: called once with the headers, once per body chunk, once at the end, and once
    /// more after a parked connection is resumed. `cls` is the unretained `HTTPServer`.
    static let access: MHD_AccessHandlerCallback = { cls, connection, url, method, _, uploadData, uploadSize, conCls in
        let server = Unmanaged<HTTPServer>.fromOpaque(cls!).takeUnretainedValue()
        return server.access(
            connection: connection!, url: url!, method: method!, uploadData: uploadData, uploadSize: uploadSize!,
            context: conCls!)
    }

    /// `MHD_RequestCompletedCallback`: releases the request's `ConnectionContext` (retained on the first call).
    static let completed: MHD_RequestCompletedCallback = { _, _, conCls, _ in
        guard let conCls, let raw = conCls.pointee else { return }
        Unmanaged<ConnectionContext>.fromOpaque(raw).release()
        conCls.pointee = nil
    }

    /// `MHD_KeyValueIterator` for `MHD_get_connection_values`: `cls` is an unretained `KeyValueCollector`.
    static let collect: MHD_KeyValueIterator = { cls, _, key, value in
        let collector = Unmanaged<KeyValueCollector>.fromOpaque(cls!).takeUnretainedValue()
        if let key {
            collector.add(String(cString: key), value.map { String(cString: $0) } ?? "")
        }
        return .YES
    }
}

/// Gathers headers or query arguments during one `MHD_get_connection_values` call.
final class KeyValueCollector {
    var values: [String: String] = [:]
    let lowercaseKeys: Bool
    let joinRepeats: Bool

    init(lowercaseKeys: Bool, joinRepeats: Bool) {
        self.lowercaseKeys = lowercaseKeys
        self.joinRepeats = joinRepeats
    }

    func add(_ key: String, _ value: String) {
        let key = lowercaseKeys ? key.lowercased() : key
        if joinRepeats, let existing = values[key] {
            values[key] = existing + ", " + value
        } else {
            values[key] = value
        }
    }
}
