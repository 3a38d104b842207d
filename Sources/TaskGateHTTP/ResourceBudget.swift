import CMicroHTTPD

/// What the process's open-file limit allows the HTTP server to hold. Every connection, parked or not, holds a
/// descriptor; when they run out, accepting fails and other parts of the process (threads, timers, the runtime)
/// fail with them. So the connection limit leaves a reserve below the open-file limit, and the parked cap leaves
/// headroom below the connection limit, so that short requests (probes, results, cancels) still get through when
/// every parked slot is taken.
public struct ResourceBudget: Sendable, Equatable {
    /// The soft open-file limit (RLIMIT_NOFILE) in force.
    public var openFiles: Int

    /// A budget for `openFiles` descriptors.
    public init(openFiles: Int) {
        self.openFiles = openFiles
    }

    /// Raises the soft open-file limit to the hard limit (each parked long-poll holds a socket), then returns the
    /// budget of the limit in force.
    public static func raisingOpenFileLimit() -> ResourceBudget {
        let limit = cmhd_raise_open_file_limit()
        return ResourceBudget(openFiles: limit == 0 ? 1_024 : Int(min(limit, UInt(Int32.max))))
    }

    /// Descriptors kept for everything but client connections: the listening socket, epoll sets, the runtime's
    /// threads and timers, log files, worker pipes. An eighth of the limit, at least 64 and at most 1,024.
    public var reserve: Int { min(1_024, max(64, openFiles / 8)) }

    /// The most connections the limit allows.
    public var maxConnections: Int { max(1, openFiles - reserve) }

    /// The connection limit by default: what the limit allows, at most 20,000.
    public var defaultConnections: Int { min(20_000, maxConnections) }

    /// Connections kept free of parked requests when `connections` are allowed: a tenth, at least 8.
    public static func headroom(connections: Int) -> Int { max(8, connections / 10) }

    /// The most parked requests `connections` allow.
    public static func maxParked(connections: Int) -> Int { max(1, connections - headroom(connections: connections)) }
}
