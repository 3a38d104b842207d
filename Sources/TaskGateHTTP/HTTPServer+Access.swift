import CMicroHTTPD

extension HTTPServer {
    /// The access handler: accumulate the body, dispatch once it is complete, park or answer.
    func access(
        connection: OpaquePointer, url: UnsafePointer<CChar>, method: UnsafePointer<CChar>,
        uploadData: UnsafePointer<CChar>?, uploadSize: UnsafeMutablePointer<Int>,
        context: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    ) -> MHD_Result {
        guard let raw = context.pointee else {
            // First call: headers only.
            let request = HTTPRequest(
                method: String(cString: method), path: String(cString: url),
                query: lookup(connection, .GET_ARGUMENT_KIND, HTTPRequest.queryParameters),
                headers: lookup(connection, .HEADER_KIND, HTTPRequest.headerNames))
            context.pointee = Unmanaged.passRetained(ConnectionContext(request: request)).toOpaque()
            return .YES
        }
        let state = Unmanaged<ConnectionContext>.fromOpaque(raw).takeUnretainedValue()
        if uploadSize.pointee > 0 {
            if !state.request.bodyTooLarge, let uploadData {
                if state.request.body.count + uploadSize.pointee > configuration.maxBodyBytes {
                    state.request.bodyTooLarge = true
                    state.request.body = []
                } else {
                    uploadData.withMemoryRebound(to: UInt8.self, capacity: uploadSize.pointee) {
                        state.request.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: uploadSize.pointee))
                    }
                }
            }
            uploadSize.pointee = 0
            return .YES
        }
        if let responder = state.responder {
            // Resumed after parking: answer with what the responder stored.
            guard let response = responder.takeResponse() else { return .NO }
            return queue(connection, response)
        }
        if let eventLoop {
            // On the loop thread: the deferred work runs after the whole batch.
            return dispatch(connection, state, handler(state.request, &eventLoop.deferred))
        }
        var deferred = WakeupQueue()
        defer { deferred.run() }
        return dispatch(connection, state, handler(state.request, &deferred))
    }

    /// Answers now, or parks the connection until the responder completes.
    private func dispatch(_ connection: OpaquePointer, _ state: ConnectionContext, _ result: HandlerResult)
        -> MHD_Result
    {
        switch result {
        case .respond(let response):
            return queue(connection, response)
        case .park(let start):
            parkedCount.add(1, ordering: .relaxed)
            let responder = Responder(sink: .connection(UnsafeSendablePointer(pointer: connection), eventLoop)) {
                [self] in self.parkedCount.subtract(1, ordering: .relaxed)
            }
            state.responder = responder
            MHD_suspend_connection(connection)
            responder.markSuspended()
            start(responder)
            return .YES
        }
    }

    /// Copies the named headers or query arguments that are present (libmicrohttpd matches header names
    /// case-insensitively).
    private func lookup(
        _ connection: OpaquePointer, _ kind: MHD_ValueKind, _ names: [(key: String, cName: StaticString)]
    ) -> [String: String] {
        var values: [String: String] = [:]
        for (key, cName) in names {
            let name = UnsafeRawPointer(cName.utf8Start).assumingMemoryBound(to: CChar.self)
            if let value = MHD_lookup_connection_value(connection, kind, name) {
                values[key] = String(cString: value)
            }
        }
        return values
    }

    private func queue(_ connection: OpaquePointer, _ response: HTTPResponse) -> MHD_Result {
        let created: OpaquePointer? = response.body.withUnsafeBytes { buffer in
            MHD_create_response_from_buffer(
                buffer.count, UnsafeMutableRawPointer(mutating: buffer.baseAddress), .RESPMEM_MUST_COPY)
        }
        guard let created else { return .NO }
        // Explicit withCString: implicit bridging would allocate a C copy of each small (inline) string.
        for (name, value) in response.headers {
            _ = name.withCString { name in value.withCString { MHD_add_response_header(created, name, $0) } }
        }
        let result = MHD_queue_response(connection, UInt32(response.status), created)
        MHD_destroy_response(created)
        return result
    }
}
