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

    /// `MHD_OPTION_URI_LOG_CALLBACK`: called with the raw request target before libmicrohttpd parses it; returns the
    /// request's retained `ConnectionContext`, which becomes its `con_cls`. `cls` is the unretained `HTTPServer`.
    static let uriLog: cmhd_uri_log_callback = { cls, uri, _ in
        let server = Unmanaged<HTTPServer>.fromOpaque(cls!).takeUnretainedValue()
        return server.begin(target: uri!)
    }

    /// `MHD_RequestCompletedCallback`: releases the request's `ConnectionContext` (retained on the first call).
    static let completed: MHD_RequestCompletedCallback = { _, _, conCls, _ in
        guard let conCls, let raw = conCls.pointee else { return }
        Unmanaged<ConnectionContext>.fromOpaque(raw).release()
        conCls.pointee = nil
    }

    /// The hang-up watcher thread's start routine (`pthread_create`): `argument` is the `HangupWatcher`, retained
    /// for the thread by its creator and released here when the thread ends.
    static let hangupWatcher: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? = { argument in
        let watcher = Unmanaged<HangupWatcher>.fromOpaque(argument!)
        watcher.takeUnretainedValue().run()
        watcher.release()
        return nil
    }

    /// The event pump's start routine (`pthread_create`): `argument` is the `EventPump`, retained for the thread by
    /// its creator and released here when the loop ends.
    static let eventPump: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? = { argument in
        let pump = Unmanaged<EventPump>.fromOpaque(argument!)
        pump.takeUnretainedValue().run()
        pump.release()
        return nil
    }

    /// An event stream's content reader (`MHD_ContentReaderCallback`): `cls` is the stream's retained `EventStreamBox`.
    static let eventReader: MHD_ContentReaderCallback = { cls, _, buffer, max in
        let box = Unmanaged<EventStreamBox>.fromOpaque(cls!).takeUnretainedValue()
        return box.hub.read(box.id, connection: box.connection, into: buffer!, max: max)
    }

    /// An event stream's response was destroyed: close the stream and release its box.
    static let eventReaderFree: MHD_ContentReaderFreeCallback = { cls in
        let box = Unmanaged<EventStreamBox>.fromOpaque(cls!)
        box.takeUnretainedValue().hub.close(box.takeUnretainedValue().id)
        box.release()
    }

    /// The event-loop thread's start routine (`pthread_create`): `argument` is the `EventLoop`, retained for the
    /// thread by its creator and released here when the loop ends.
    static let eventLoop: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? = { argument in
        let loop = Unmanaged<EventLoop>.fromOpaque(argument!)
        loop.takeUnretainedValue().run()
        loop.release()
        return nil
    }
}
