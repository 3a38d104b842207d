import TaskScheduler

/// Named gates that test functions wait on: a test opens a gate when it wants the functions behind it to finish.
public actor Gates {
    /// The gates every test shares (names keep tests apart).
    public static let shared = Gates()
    private var open: Set<String> = []
    private var waiting: [String: [CheckedContinuation<Void, Never>]] = [:]

    /// Returns once `name` is open.
    public func wait(_ name: String) async {
        if open.contains(name) { return }
        await withCheckedContinuation { waiting[name, default: []].append($0) }
    }

    /// Opens `name` for good.
    public func open(_ name: String) {
        open.insert(name)
        for continuation in waiting.removeValue(forKey: name) ?? [] { continuation.resume() }
    }
}

/// Functions for tests that need to control when a task finishes.
public enum TestFunctions {
    /// `gate` returns its args once the gate named by their JSON text opens (args `"x"` wait for `"x"` with the
    /// quotes); `park` opens `started:<args>` and then runs until cancelled.
    public static var gated: FunctionRegistry {
        var registry = FunctionRegistry()
        registry.register("gate") { args, _ in
            await Gates.shared.wait(String(decoding: args.bytes, as: UTF8.self))
            return args
        }
        registry.register("park") { args, _ in
            await Gates.shared.open("started:" + String(decoding: args.bytes, as: UTF8.self))
            try await Task.sleep(for: .seconds(600))
            return args
        }
        return registry
    }
}

/// Yields (never sleeps) until `condition` holds or `bound` of wall-clock time has passed — a bound for a stuck
/// test, not a speed assertion: callers then check the condition themselves.
public func yield(until condition: @autoclosure () -> Bool, bound: Duration = .seconds(60)) async {
    let deadline = ContinuousClock.now + bound
    while !condition() && ContinuousClock.now < deadline {
        await Task.yield()
    }
}

/// SplitMix64: a small seeded generator, so randomized tests can be replayed from their seed.
public struct SplitMix: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator for `seed`.
    public init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number below `upperBound` (by remainder: close enough to uniform for tests).
    public mutating func next(upperBound: UInt64) -> UInt64 {
        next() % upperBound
    }
}

/// Runs `body` for each index in `0..<count` with at most `width` of them in flight, and returns the results in
/// index order. A load test that keeps no more requests in flight than its client has connections never waits for
/// a pooled connection.
public func concurrentMap<Element: Sendable>(
    _ count: Int, width: Int, _ body: @escaping @Sendable (Int) async throws -> Element
) async throws -> [Element] {
    try await withThrowingTaskGroup(of: (Int, Element).self) { group in
        var results = [Element?](repeating: nil, count: count)
        var next = 0
        while next < min(width, count) {
            let index = next
            group.addTask { (index, try await body(index)) }
            next += 1
        }
        while let (index, element) = try await group.next() {
            results[index] = element
            if next < count {
                let index = next
                group.addTask { (index, try await body(index)) }
                next += 1
            }
        }
        return results.map { $0! }
    }
}
