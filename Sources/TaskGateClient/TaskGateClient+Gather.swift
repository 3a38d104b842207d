import Synchronization
import TaskGateAPI

extension TaskGateClient {
    /// The results of `futures`, in their order; throws the first failure (in order) once it is known.
    public func gather(_ futures: [TaskFuture], timeout: Duration? = nil) async throws -> [JSONValue] {
        var results: [JSONValue] = []
        results.reserveCapacity(futures.count)
        let deadline = timeout.map { ContinuousClock.now + $0 }
        for future in futures {
            let left = deadline.map { $0 - ContinuousClock.now }
            if let left, left <= .zero, !future.isDone { throw TaskGateError.timeout }
            results.append(try await future.result(timeout: left))
        }
        return results
    }

    /// The futures in the order they complete (succeeded, failed or cancelled alike); the sequence ends after
    /// the last one.
    public func asCompleted(_ futures: [TaskFuture]) -> AsyncStream<TaskFuture> {
        let unique = Array(Set(futures))
        return AsyncStream(bufferingPolicy: .unbounded) { continuation in
            guard !unique.isEmpty else {
                continuation.finish()
                return
            }
            let remaining = Counter(unique.count)
            for future in unique {
                future.onCompletion { future in
                    continuation.yield(future)
                    if remaining.decrement() == 0 { continuation.finish() }
                }
            }
        }
    }
}

/// A countdown shared by completion callbacks.
final class Counter: Sendable {
    private let value: Mutex<Int>

    init(_ value: Int) {
        self.value = Mutex(value)
    }

    /// Decrements and returns the new value.
    func decrement() -> Int {
        value.withLock { value in
            value -= 1
            return value
        }
    }
}
