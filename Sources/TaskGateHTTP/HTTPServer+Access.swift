import CMicroHTTPD

#if canImport(Glibc)
    import Glibc
#endif

extension HTTPServer {
    /// The URI callback: keeps the raw target for the access handler to decode strictly, and empties the query
    /// string of libmicrohttpd's copy so that libmicrohttpd does not parse it (it would spend per-connection
    /// memory on every parameter and, when that runs out, stop answering; see `RequestTarget`).
    func begin(target uri: UnsafePointer<CChar>) -> UnsafeMutableRawPointer {
        let length = strlen(uri)
        let target = [UInt8](UnsafeRawBufferPointer(start: uri, count: length))
        if let questionMark = memchr(uri, Int32(UInt8(ascii: "?")), length) {
            // libmicrohttpd has found the '?' already and will parse the arguments after it: end them there. The
            // buffer is libmicrohttpd's own writable copy of the request line (the callback runs "before we modify
            // URI or args").
            let arguments = questionMark.assumingMemoryBound(to: CChar.self) + 1
            if arguments.pointee != 0 { UnsafeMutablePointer(mutating: arguments).pointee = 0 }
        }
        return Unmanaged.passRetained(ConnectionContext(target: target)).toOpaque()
    }

    /// The access handler: read the headers, accumulate the body, dispatch once it is complete, park or answer.
    func access(
        connection: OpaquePointer, url: UnsafePointer<CChar>, method: UnsafePointer<CChar>,
        uploadData: UnsafePointer<CChar>?, uploadSize: UnsafeMutablePointer<Int>,
        context: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    ) -> MHD_Result {
        // The URI callback always sets the context.
        guard let raw = context.pointee else { return .NO }
        let state = Unmanaged<ConnectionContext>.fromOpaque(raw).takeUnretainedValue()
        if !state.started {
            // First call: headers only.
            state.started = true
            if observer != nil { state.startedAt = .now }
            state.request = readRequest(connection, method: method, target: state.target)
            // A malformed request, or a body announced too large, is answered before the body is read (libmicrohttpd
            // then closes the connection instead of reading on).
            guard state.request.defect != nil || state.request.bodyTooLarge else { return .YES }
        } else if uploadSize.pointee > 0 {
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
        // The request moves out of the context (no copy of its fields for the handler and the observer); a parked
        // one moves back for the observer when it is answered.
        var request = HTTPRequest(method: "", path: "")
        swap(&request, &state.request)
        if let answer = state.storedAnswer {
            // Resumed once the store committed what the answer reports (or failed past its timeout).
            state.storedAnswer = nil
            return queue(connection, answer, for: request, startedAt: state.startedAt)
        }
        if let responder = state.responder {
            // Resumed after parking: answer with what the responder stored.
            guard let response = responder.takeResponse() else { return .NO }
            return queue(connection, response, for: request, startedAt: state.startedAt)
        }
        // With the event loop, the deferred work runs after the whole batch; with libmicrohttpd's own threads, after
        // this answer is queued (the `defer` below runs once this function has queued or parked it).
        var deferred = WakeupQueue()
        defer { deferred.run() }
        let result = eventLoop.map { handler(request, &$0.deferred) } ?? handler(request, &deferred)
        switch result {
        case .respond(let response):
            return queue(connection, response, for: request, startedAt: state.startedAt)
        case .park(let start):
            state.request = request
            park(connection, state, start)
            return .YES
        case .stream(let subscription, let headers):
            return queueStream(connection, subscription, headers: headers, for: request, startedAt: state.startedAt)
        case .awaitStore(let wait):
            state.request = request
            if let storeWaits, storeWaits.gate === wait.gate {
                storeWaits.park(connection, state, wait)
            } else {
                park(connection, state) { responder in wait.gate.complete(responder, with: wait) }
            }
            return .YES
        }
    }

    /// The request as the handler sees it, with what is wrong with its target or framing.
    private func readRequest(_ connection: OpaquePointer, method: UnsafePointer<CChar>, target raw: [UInt8])
        -> HTTPRequest
    {
        let target = RequestTarget(raw, known: HTTPRequest.queryParameters)
        let (headers, contentLengths) = readHeaders(connection)
        var request = HTTPRequest(
            method: String(cString: method), path: target.path, query: target.query, headers: headers)
        request.defect = target.defect
        let transferEncoding = request.headers[.transferEncoding]
        if let length = request.headers[.contentLength] {
            if transferEncoding != nil {
                request.defect = .framing("a request may not carry both Content-Length and Transfer-Encoding")
            } else if contentLengths > 1 {
                request.defect = .framing("Content-Length is given more than once")
            } else if let bytes = Int(length), bytes > configuration.maxBodyBytes {
                request.bodyTooLarge = true
            }
        } else if let transferEncoding, transferEncoding.lowercased() != "chunked" {
            request.defect = .framing("Transfer-Encoding must be chunked, got '\(transferEncoding)'")
        }
        return request
    }

    /// Parks the connection until the responder completes.
    private func park(_ connection: OpaquePointer, _ state: ConnectionContext, _ start: (Responder) -> Void) {
        parkedCount.add(1, ordering: .relaxed)
        let token = hangups.reserveToken()
        let responder = Responder(sink: .connection(UnsafeSendablePointer(pointer: connection), eventLoop)) {
            [self] in
            self.hangups.unwatch(token)
            self.parkedCount.subtract(1, ordering: .relaxed)
        }
        hangups.watch(token, fd: cmhd_connection_fd(connection), responder: responder)
        state.responder = responder
        MHD_suspend_connection(connection)
        responder.markSuspended()
        start(responder)
    }

    /// The headers the gateway reads (`HTTPHeaders.Name`), copied out of libmicrohttpd in one pass, and how many
    /// `Content-Length` headers came.
    private func readHeaders(_ connection: OpaquePointer) -> (headers: HTTPHeaders, contentLengths: UInt32) {
        let names = HeaderScan.shared
        let count = HTTPHeaders.Name.allCases.count
        return withUnsafeTemporaryAllocation(of: cmhd_header_value.self, capacity: count) { found in
            found.initialize(repeating: cmhd_header_value())
            var scan = cmhd_header_scan(
                names: names.cNames, lengths: names.lengths, count: UInt32(count), found: found.baseAddress)
            cmhd_scan_headers(connection, &scan)
            var headers = HTTPHeaders()
            for name in HTTPHeaders.Name.allCases {
                let header = found[name.rawValue]
                guard let value = header.value else { continue }
                headers[name] = value.withMemoryRebound(to: UInt8.self, capacity: header.length) {
                    String(decoding: UnsafeBufferPointer(start: $0, count: header.length), as: UTF8.self)
                }
            }
            return (headers, found[HTTPHeaders.Name.contentLength.rawValue].occurrences)
        }
    }

    /// The names of `HTTPHeaders.Name` as C strings for `cmhd_scan_headers`, in slot order, made once.
    // Immutable after init; the C arrays live as long as the process.
    final class HeaderScan: @unchecked Sendable {
        static let shared = HeaderScan()
        let cNames: UnsafeMutablePointer<UnsafePointer<CChar>?>
        let lengths: UnsafeMutablePointer<Int>

        private init() {
            let names = HTTPHeaders.Name.allCases
            cNames = .allocate(capacity: names.count)
            lengths = .allocate(capacity: names.count)
            for name in names {
                cNames[name.rawValue] = UnsafePointer(strdup(name.text))
                lengths[name.rawValue] = name.text.utf8.count
            }
        }
    }

    /// Starts an event stream's response: chunked, of unknown length, read from the hub as events come.
    private func queueStream(
        _ connection: OpaquePointer, _ subscription: EventSubscription, headers: [(name: String, value: String)],
        for request: HTTPRequest, startedAt: ContinuousClock.Instant?
    ) -> MHD_Result {
        defer {
            if let observer { observer(request, 200, startedAt.map { .now - $0 } ?? .zero) }
        }
        let box = Unmanaged.passRetained(EventStreamBox(subscription, connection: connection))
        guard
            let created = MHD_create_response_from_callback(
                UInt64.max, 16 * 1_024, MHDCallbacks.eventReader, box.toOpaque(), MHDCallbacks.eventReaderFree)
        else {
            subscription.hub.close(subscription.id)
            box.release()
            return .NO
        }
        for (name, value) in headers {
            _ = name.withCString { name in value.withCString { MHD_add_response_header(created, name, $0) } }
        }
        let result = MHD_queue_response(connection, 200, created)
        MHD_destroy_response(created)
        return result
    }

    private func queue(
        _ connection: OpaquePointer, _ response: HTTPResponse, for request: HTTPRequest,
        startedAt: ContinuousClock.Instant?
    ) -> MHD_Result {
        defer {
            if let observer { observer(request, response.status, startedAt.map { .now - $0 } ?? .zero) }
        }
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
