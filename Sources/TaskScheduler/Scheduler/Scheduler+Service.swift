import ServiceLifecycle

extension Scheduler: Service {
    /// The timer loop: fires deadlines every `timerResolution` until graceful shutdown or cancellation, then
    /// drains (stops accepting, releases parked waiters with the current state).
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: self.configuration.timerResolution)
                } catch {
                    break
                }
                self.processTimers()
            }
        }
        drain()
    }
}
