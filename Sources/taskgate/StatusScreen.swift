import Foundation
import TaskGateAPI

/// One screen of `taskgate status` and `taskgate top`, as lines of text: the server's totals and throughput, queue
/// depth and throughput per function, the workers with their load, and the latest failures. Pure: it is given what
/// the server answered (and the sample before, for rates) and returns the lines.
struct StatusScreen {
    /// What the server answered at one moment.
    struct Sample {
        var stats: WireStats
        var workers: [WireWorker]
        /// When it was taken (seconds, monotonic).
        var at: Double
    }

    var server: String
    var current: Sample
    /// The sample before, for the rates; nil shows none.
    var previous: Sample?
    /// Columns available; longer lines are cut.
    var width = 100
    /// Rows available for the function and worker tables together (the rest is cut, saying how many).
    var rows = 40

    /// Finished per second between the two samples, by function ("" for all); nil without a previous sample.
    func rate(_ function: String?) -> Double? {
        guard let previous, current.at > previous.at else { return nil }
        func finished(_ stats: WireStats) -> Int {
            guard let function else {
                return ["succeeded", "failed", "canceled"].reduce(0) { $0 + (stats.totals[$1] ?? 0) }
            }
            guard let counts = stats.functions?.first(where: { $0.name == function }) else { return 0 }
            return counts.succeeded + counts.failed + counts.canceled
        }
        return Double(max(0, finished(current.stats) - finished(previous.stats))) / (current.at - previous.at)
    }

    var lines: [String] {
        let stats = current.stats
        var out: [String] = []
        let total = rate(nil).map { String(format: "%.1f/s", $0) } ?? "-"
        out.append("taskgate \(server) — \(Self.clock())")
        let tasks = stats.tasks
        out.append(
            "tasks: \(tasks["pending"] ?? 0) pending, \(tasks["running"] ?? 0) running, \(tasks["canceling"] ?? 0) "
                + "canceling | finished: \(stats.totals["succeeded"] ?? 0) succeeded, \(stats.totals["failed"] ?? 0) "
                + "failed, \(stats.totals["canceled"] ?? 0) canceled | throughput \(total)")
        out.append(
            "workers: \(stats.workers) (\(stats.remoteWorkers ?? 0) remote), load \(stats.load)/\(stats.capacity) "
                + "slots | queue \(stats.queued)/\(stats.queueLimit) | parked \(stats.parkedRequests)"
                + (stats.eventStreams.map { " | streams \($0)" } ?? "")
                + (stats.callbacksPending.map { " | webhooks pending \($0)" } ?? ""))
        out.append("")
        var budget = max(4, rows - out.count - 8)
        let functions = (stats.functions ?? []).sorted {
            ($0.pending + $0.running, $0.submitted) > ($1.pending + $1.running, $1.submitted)
        }
        out.append(
            Self.row(["FUNCTION", "PENDING", "RUNNING", "SUBMITTED", "SUCCEEDED", "FAILED", "CANCELED", "DONE/S"]))
        let shownFunctions = functions.prefix(max(1, budget / 2))
        for function in shownFunctions {
            let perSecond = rate(function.name).map { String(format: "%.1f", $0) } ?? "-"
            out.append(
                Self.row([
                    function.name, "\(function.pending)", "\(function.running)", "\(function.submitted)",
                    "\(function.succeeded)", "\(function.failed)", "\(function.canceled)", perSecond,
                ]))
        }
        if functions.count > shownFunctions.count { out.append("… \(functions.count - shownFunctions.count) more") }
        if functions.isEmpty { out.append("(no tasks yet)") }
        budget -= shownFunctions.count
        out.append("")
        out.append(Self.row(["WORKER", "NAME", "KIND", "LOAD", "FUNCTIONS"], widths: [16, 20, 11, 9, 40]))
        let shownWorkers = current.workers.prefix(max(1, budget))
        for worker in shownWorkers {
            out.append(
                Self.row(
                    [
                        worker.id, worker.name, worker.kind + (worker.draining ? "*" : ""),
                        "\(worker.load)/\(worker.capacity)", worker.functions.joined(separator: ","),
                    ], widths: [16, 20, 11, 9, 40]))
        }
        if current.workers.count > shownWorkers.count {
            out.append("… \(current.workers.count - shownWorkers.count) more")
        }
        if current.workers.isEmpty { out.append("(no workers)") }
        out.append("")
        out.append("RECENT FAILURES")
        let failures = (stats.recentFailures ?? []).prefix(5)
        for failure in failures {
            let time = failure.finishedAt.map { String($0.dropFirst(11).prefix(8)) } ?? ""
            out.append(
                "\(failure.id)  \(time)  \(failure.function)  \(failure.code ?? "")  "
                    + (failure.detail ?? "").replacingOccurrences(of: "\n", with: " "))
        }
        if failures.isEmpty { out.append("(none)") }
        return out.map { String($0.prefix(width)) }
    }

    /// Cells padded to their widths (the first left-aligned, the rest right-aligned, for the function table).
    static func row(_ cells: [String], widths: [Int]? = nil) -> String {
        let widths = widths ?? [20, 8, 8, 10, 10, 8, 9, 9]
        var line = ""
        for (index, cell) in cells.enumerated() {
            let width = index < widths.count ? widths[index] : 10
            let text = cell.count > width - 1 ? String(cell.prefix(width - 2)) + "…" : cell
            let pad = String(repeating: " ", count: max(0, width - text.count))
            line += (widths.count == 8 && index > 0) ? pad + text : text + pad
        }
        return line.trimmingCharacters(in: .whitespaces)
    }

    static func clock() -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date()) + " UTC"
    }
}
