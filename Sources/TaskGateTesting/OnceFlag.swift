import Synchronization

/// A flag set once from any thread, read from any other (a test's "it happened").
public final class OnceFlag: Sendable {
    private let value = Atomic<Bool>(false)

    /// An unset flag.
    public init() {}

    /// Sets it.
    public func open() { value.store(true, ordering: .releasing) }

    /// Whether it was set.
    public var isOpen: Bool { value.load(ordering: .acquiring) }
}
