import Prometheus
import Synchronization
import TaskGateSupport

/// A Prometheus histogram of durations for the hot paths (every request, every task): recording one value is two
/// relaxed atomic additions, the count of its bucket and the sum, with no lock and no allocation. swift-prometheus'
/// `Histogram` takes a lock and compares the value with every bucket's bound as `Duration`s (128-bit) on each record;
/// on the request path that cost about a tenth of a `POST /tasks`. The buckets are summed up (cumulative, as the text
/// format wants them) only when `/metrics` is scraped; the bounds and the sum are written as swift-prometheus writes
/// them, so the exposition is the same.
///
/// A scrape that runs while values are recorded may see a bucket's count before the sum that goes with it: each
/// series stays monotonic, which is all Prometheus asks of a histogram read without a lock.
// `counts` is allocated in init and freed in deinit; only its atomics are shared.
final class LockFreeHistogram: @unchecked Sendable {
    /// The metric's name.
    let name: String
    private let labels: String
    /// Upper bounds in nanoseconds, ascending; a value at most a bound counts in its bucket.
    private let bounds: [Int64]
    private let boundTexts: [String]
    /// One count per bound, then one for the values above every bound.
    private let counts: UnsafeMutablePointer<Atomic<Int>>
    private let sum = Atomic<Int64>(0)

    /// A histogram with these bucket bounds (ascending) and labels (rendered in this order).
    init(name: String, labels: [(String, String)] = [], buckets: [Duration]) {
        self.name = name
        self.labels = labels.map { "\($0.0)=\"\($0.1)\"" }.joined(separator: ",")
        bounds = buckets.map(\.nanoseconds)
        boundTexts = buckets.map(\.bucketRepresentation)
        counts = .allocate(capacity: buckets.count + 1)
        for index in 0...buckets.count { (counts + index).initialize(to: Atomic(0)) }
    }

    deinit {
        counts.deinitialize(count: bounds.count + 1)
        counts.deallocate()
    }

    /// Counts one duration.
    func record(_ duration: Duration) {
        let nanoseconds = duration.nanoseconds
        var index = 0
        while index < bounds.count && nanoseconds > bounds[index] { index += 1 }
        counts[index].add(1, ordering: .relaxed)
        sum.wrappingAdd(nanoseconds, ordering: .relaxed)
    }

    /// How many durations were counted.
    var count: Int {
        (0...bounds.count).reduce(0) { $0 + counts[$1].load(ordering: .relaxed) }
    }

    /// Appends the `# HELP` and `# TYPE` lines of a family of histograms with one name.
    static func header(name: String, help: String, into buffer: inout [UInt8]) {
        buffer.append(contentsOf: "# HELP \(name) \(help)\n# TYPE \(name) histogram\n".utf8)
    }

    /// Appends this series: its cumulative buckets, `+Inf`, the sum in seconds and the count.
    func render(into buffer: inout [UInt8]) {
        let prefix = labels.isEmpty ? "" : labels + ","
        let braces = labels.isEmpty ? "" : "{\(labels)}"
        var cumulative = 0
        for (index, bound) in boundTexts.enumerated() {
            cumulative += counts[index].load(ordering: .relaxed)
            buffer.append(contentsOf: "\(name)_bucket{\(prefix)le=\"\(bound)\"} \(cumulative)\n".utf8)
        }
        cumulative += counts[bounds.count].load(ordering: .relaxed)
        let total = Duration.nanoseconds(sum.load(ordering: .relaxed)).bucketRepresentation
        buffer.append(contentsOf: "\(name)_bucket{\(prefix)le=\"+Inf\"} \(cumulative)\n".utf8)
        buffer.append(contentsOf: "\(name)_sum\(braces) \(total)\n\(name)_count\(braces) \(cumulative)\n".utf8)
    }
}
