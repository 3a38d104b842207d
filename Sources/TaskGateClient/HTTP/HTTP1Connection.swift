import NIOCore
import NIOHTTP1
import Synchronization

/// One keep-alive HTTP/1.1 connection to the server, carrying one exchange at a time. It is the last handler of its
/// channel's pipeline (after NIO's `HTTPRequestEncoder` and `HTTPResponseDecoder`); everything it holds is touched
/// on its channel's event loop only.
final class HTTP1Connection: ChannelInboundHandler, @unchecked Sendable {
    // @unchecked: every mutable field is read and written on `channel.eventLoop` only (NIO's handler contract);
    // the pool reads `channel` and `id`, which never change after `attach`, and `isOpen`, an atomic.
    typealias InboundIn = HTTPClientResponsePart

    /// The outcome of one exchange.
    enum Failure: Error {
        /// The connection was closed before the request was written: sending it elsewhere is safe.
        case notSent
        case closed(String)
        case timedOut
        case tooLarge(Int)
        case cancelled
    }

    /// Identity within the pool.
    let id: Int
    private(set) var channel: (any Channel)?
    private let maxResponseBytes: Int
    /// Called (on the event loop) once the connection is closed, whatever closed it.
    private let onClose: @Sendable (HTTP1Connection) -> Void

    private var promise: EventLoopPromise<Transport.Response>?
    private var head: HTTPResponseHead?
    private var body: [UInt8] = []
    private var timeout: Scheduled<Void>?
    private var closed = false
    /// Whether the connection is open, for the pool's threads.
    private let open = Atomic<Bool>(true)

    init(id: Int, maxResponseBytes: Int, onClose: @escaping @Sendable (HTTP1Connection) -> Void) {
        self.id = id
        self.maxResponseBytes = maxResponseBytes
        self.onClose = onClose
    }

    /// Remembers the channel this handler was added to.
    func attach(_ channel: any Channel) {
        self.channel = channel
    }

    /// Sends one request and completes `promise` with the whole answer, or fails it (and closes the connection) on a
    /// transport error, at `deadline`, or when the answer is larger than allowed. On the event loop.
    func execute(
        head requestHead: HTTPRequestHead, body requestBody: [UInt8]?, deadline: NIODeadline,
        promise: EventLoopPromise<Transport.Response>
    ) {
        guard let channel else {
            promise.fail(Failure.notSent)
            return
        }
        channel.eventLoop.assertInEventLoop()
        guard !closed, self.promise == nil else {
            promise.fail(Failure.notSent)
            return
        }
        self.promise = promise
        head = nil
        body.removeAll(keepingCapacity: true)
        timeout = channel.eventLoop.scheduleTask(deadline: deadline) { [self] in fail(.timedOut) }
        channel.write(HTTPClientRequestPart.head(requestHead), promise: nil)
        if let requestBody {
            channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: requestBody))), promise: nil)
        }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
    }

    /// Abandons the exchange in flight (its Swift task was cancelled): fails it and closes the connection, whose
    /// answer would otherwise arrive later. On the event loop.
    func cancel() {
        fail(.cancelled)
    }

    /// Closes the connection (idle, or the pool is shutting down). On the event loop.
    func close() {
        guard !closed else { return }
        fail(.closed("the client closed the connection"))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let responseHead):
            head = responseHead
        case .body(let buffer):
            guard body.count + buffer.readableBytes <= maxResponseBytes else {
                fail(.tooLarge(maxResponseBytes))
                return
            }
            buffer.withUnsafeReadableBytes { body.append(contentsOf: $0) }
        case .end:
            guard let promise, let head else { return }
            self.promise = nil
            timeout?.cancel()
            timeout = nil
            let response = Transport.Response(status: Int(head.status.code), headers: head.headers, body: body)
            body = []
            if !head.isKeepAlive { closeChannel() }
            promise.succeed(response)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(.closed("the server closed the connection"))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(.closed(String(describing: error)))
    }

    /// Fails the exchange in flight, if any, and closes the connection for good.
    private func fail(_ failure: Failure) {
        timeout?.cancel()
        timeout = nil
        let promise = self.promise
        self.promise = nil
        closeChannel()
        promise?.fail(failure)
    }

    private func closeChannel() {
        guard !closed else { return }
        closed = true
        open.store(false, ordering: .releasing)
        channel?.close(promise: nil)
        onClose(self)
    }

    /// Whether the connection is still open (any thread; it may close a moment later).
    var isOpen: Bool { open.load(ordering: .acquiring) }
}
