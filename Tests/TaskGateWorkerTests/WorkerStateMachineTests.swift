import TaskGateAPI
import TaskGateTesting
import Testing

@testable import TaskGateWorker

/// The worker runtime's decisions, without I/O.
@Suite struct WorkerStateMachineTests {
    struct NoPoll: Error {}

    /// The next poll; fails the test when the machine wants none.
    func nextPoll(_ machine: inout WorkerStateMachine) throws -> WorkerStateMachine.Poll {
        guard let poll = machine.nextPoll() else {
            Issue.record("the machine wants no poll")
            throw NoPoll()
        }
        return poll
    }

    func task(_ id: String) -> WorkerTask {
        WorkerTask(id: id, function: "f", args: Array("null".utf8))
    }

    @Test func oneParkedPollAtATimeAndASecondOnlyToCarryReports() throws {
        var machine = WorkerStateMachine()
        let first = try nextPoll(&machine)
        #expect(first.reports.isEmpty && first.waits && !first.drain)
        #expect(machine.nextPoll() == nil)
        let actions = machine.pollAnswered(first, tasks: [task("a"), task("b")], cancel: [])
        #expect(actions == [.start(task("a")), .start(task("b"))])
        let parked = try nextPoll(&machine)
        machine.taskFinished(id: "a", .success(Array("1".utf8)))
        let flush = try nextPoll(&machine)
        #expect(flush.reports == [.result(id: "a", .success(Array("1".utf8)))])
        #expect(machine.pollsInFlight == 2)
        machine.taskFinished(id: "b", .failure("boom"))
        let third = machine.nextPoll()
        #expect(third == nil, "never more than two polls in flight")
        _ = machine.pollAnswered(parked, tasks: [], cancel: [])
        let next = try nextPoll(&machine)
        #expect(next.reports == [.result(id: "b", .failure("boom"))])
    }

    @Test func eachPollListsTheRunningTasksAndThoseReportedInAnotherPollInFlight() throws {
        var machine = WorkerStateMachine()
        let first = try nextPoll(&machine)
        #expect(first.running.isEmpty)
        _ = machine.pollAnswered(first, tasks: [task("a"), task("b"), task("c")], cancel: [])
        let parked = try nextPoll(&machine)
        #expect(parked.running == ["a", "b", "c"])
        machine.taskFinished(id: "a", .success(Array("1".utf8)))
        let flush = try nextPoll(&machine)
        #expect(flush.running == ["b", "c"], "its own report is taken before the server reconciles")
        _ = machine.pollAnswered(parked, tasks: [], cancel: [])
        machine.taskFinished(id: "b", .success(Array("2".utf8)))
        let next = try nextPoll(&machine)
        #expect(next.running == ["a", "c"], "a is reported in a poll still in flight")
        _ = machine.pollAnswered(flush, tasks: [], cancel: [])
        _ = machine.pollAnswered(next, tasks: [], cancel: [])
        let last = try nextPoll(&machine)
        #expect(last.running == ["c"])
    }

    @Test func aCancelStopsARunningTaskWhichConfirmsCanceledWhenItStops() throws {
        var machine = WorkerStateMachine()
        let poll = try nextPoll(&machine)
        _ = machine.pollAnswered(poll, tasks: [task("a")], cancel: [])
        let parked = try nextPoll(&machine)
        let actions = machine.pollAnswered(parked, tasks: [], cancel: ["a"])
        #expect(actions == [.cancel(id: "a")])
        machine.taskFinished(id: "a", .cancelled)
        let report = try nextPoll(&machine)
        #expect(report.reports == [.confirm(id: "a", kind: .canceled)])
    }

    @Test func aTaskThatFinishesDespiteTheCancelReportsItsResult() throws {
        var machine = WorkerStateMachine()
        let poll = try nextPoll(&machine)
        _ = machine.pollAnswered(poll, tasks: [task("a")], cancel: [])
        let parked = try nextPoll(&machine)
        _ = machine.pollAnswered(parked, tasks: [], cancel: ["a"])
        machine.taskFinished(id: "a", .success(Array("2".utf8)))
        let report = try nextPoll(&machine)
        #expect(report.reports == [.result(id: "a", .success(Array("2".utf8)))])
    }

    @Test func aCancelForAnUnknownTaskConfirmsNotFoundUnlessItsResultIsOnItsWay() throws {
        var machine = WorkerStateMachine()
        let poll = try nextPoll(&machine)
        _ = machine.pollAnswered(poll, tasks: [task("a")], cancel: [])
        machine.taskFinished(id: "a", .success(Array("1".utf8)))
        let parked = try nextPoll(&machine)
        _ = machine.pollAnswered(parked, tasks: [], cancel: ["a"])
        let another = try nextPoll(&machine)
        let actions = machine.pollAnswered(another, tasks: [], cancel: ["zz"])
        #expect(actions.isEmpty)
        let report = try nextPoll(&machine)
        #expect(report.reports == [.confirm(id: "zz", kind: .cancelNotFound)])
    }

    @Test func aFailedPollPutsItsReportsBackInOrder() throws {
        var machine = WorkerStateMachine()
        let poll = try nextPoll(&machine)
        _ = machine.pollAnswered(poll, tasks: [task("a"), task("b")], cancel: [])
        machine.taskFinished(id: "a", .success(Array("1".utf8)))
        let first = try nextPoll(&machine)
        machine.taskFinished(id: "b", .success(Array("2".utf8)))
        machine.pollFailed(first)
        let retry = try nextPoll(&machine)
        #expect(retry.reports.map(\.id) == ["a", "b"])
    }

    @Test func aRunCancelledWithoutARequestReportsNothing() throws {
        var machine = WorkerStateMachine()
        let poll = try nextPoll(&machine)
        _ = machine.pollAnswered(poll, tasks: [task("a")], cancel: [])
        machine.taskFinished(id: "a", .cancelled)
        let next = try nextPoll(&machine)
        #expect(next.reports.isEmpty)
    }

    @Test func drainAnnouncesItselfWaitsForTheRunningTasksAndEndsWhenAllIsReported() throws {
        var machine = WorkerStateMachine()
        let poll = try nextPoll(&machine)
        _ = machine.pollAnswered(poll, tasks: [task("a")], cancel: [])
        let parked = try nextPoll(&machine)
        machine.beginDrain()
        let announce = try nextPoll(&machine)
        #expect(announce.drain && announce.waits, "with a task running it still waits for cancel requests")
        #expect(!machine.isDrained)
        _ = machine.pollAnswered(announce, tasks: [], cancel: [])
        machine.taskFinished(id: "a", .success(Array("1".utf8)))
        let last = try nextPoll(&machine)
        #expect(last.drain && !last.waits && last.reports.count == 1)
        #expect(!machine.isDrained, "not drained until the last report is answered")
        _ = machine.pollAnswered(last, tasks: [], cancel: [])
        #expect(machine.isDrained, "drained although the older parked poll is still out")
        _ = machine.pollAnswered(parked, tasks: [], cancel: [])
        let none = machine.nextPoll()
        #expect(none == nil)
    }

    @Test func resetForgetsEverythingAndReturnsTheRunningTasks() throws {
        var machine = WorkerStateMachine()
        let poll = try nextPoll(&machine)
        _ = machine.pollAnswered(poll, tasks: [task("a"), task("b")], cancel: [])
        machine.taskFinished(id: "a", .success(Array("1".utf8)))
        _ = machine.nextPoll()
        let stopped = machine.reset()
        #expect(stopped == ["b"])
        #expect(machine.pollsInFlight == 0 && machine.reports.isEmpty && machine.running.isEmpty)
        machine.taskFinished(id: "b", .success(Array("2".utf8)))
        #expect(machine.reports.isEmpty, "a task of before the reset reports nothing")
    }

    /// Random interleavings of answers, failures, finishes and cancels: never more than two polls out, and every
    /// task that ran reports exactly once (result or confirm) unless it was cancelled without a request.
    @Test(arguments: 0..<200) func randomInterleavingsReportEveryTaskExactlyOnce(seed: Int) throws {
        var random = SplitMix(seed: UInt64(seed))
        var machine = WorkerStateMachine()
        var inFlight: [WorkerStateMachine.Poll] = []
        var running: [String] = []
        var cancelRequested = Set<String>()
        var delivered: [String: Int] = [:]
        var expected = Set<String>()
        var unreported = Set<String>()
        var nextID = 0
        for _ in 0..<300 {
            while let poll = machine.nextPoll() {
                // What the poll lists plus what it reports is everything the server may count as held here.
                #expect(Set(poll.running).union(poll.reports.map(\.id)) == Set(running).union(unreported))
                inFlight.append(poll)
            }
            #expect(inFlight.count <= 2)
            switch random.next(upTo: 6) {
            case 0, 1:
                // A poll is answered (maybe with new tasks and a cancel request); its reports arrived.
                guard !inFlight.isEmpty else { continue }
                let poll = inFlight.remove(at: random.next(upTo: inFlight.count))
                for report in poll.reports { unreported.remove(report.id) }
                for case .result(let id, _, _) in poll.reports { delivered[id, default: 0] += 1 }
                for case .confirm(let id, _) in poll.reports { delivered[id, default: 0] += 1 }
                var tasks: [WorkerTask] = []
                for _ in 0..<random.next(upTo: 3) {
                    nextID += 1
                    tasks.append(task("t\(nextID)"))
                }
                var cancel: [String] = []
                if let victim = running.randomElement(using: &random), random.next(upTo: 2) == 0 { cancel = [victim] }
                for action in machine.pollAnswered(poll, tasks: tasks, cancel: cancel) {
                    switch action {
                    case .start(let started): running.append(started.id)
                    case .cancel(let id): cancelRequested.insert(id)
                    }
                }
            case 2:
                guard !inFlight.isEmpty else { continue }
                machine.pollFailed(inFlight.remove(at: random.next(upTo: inFlight.count)))
            default:
                guard !running.isEmpty else { continue }
                let id = running.remove(at: random.next(upTo: running.count))
                let outcome: WorkerStateMachine.Outcome =
                    cancelRequested.contains(id) && random.next(upTo: 2) == 0 ? .cancelled : .success([49])
                machine.taskFinished(id: id, outcome)
                expected.insert(id)
                if outcome != .cancelled || cancelRequested.contains(id) { unreported.insert(id) }
            }
        }
        // Let everything out.
        for _ in 0..<20 {
            while let poll = machine.nextPoll() { inFlight.append(poll) }
            for poll in inFlight {
                for case .result(let id, _, _) in poll.reports { delivered[id, default: 0] += 1 }
                for case .confirm(let id, _) in poll.reports { delivered[id, default: 0] += 1 }
                _ = machine.pollAnswered(poll, tasks: [], cancel: [])
            }
            inFlight.removeAll()
        }
        #expect(Set(delivered.keys) == expected)
        #expect(delivered.values.allSatisfy { $0 == 1 })
    }
}

extension SplitMix {
    mutating func next(upTo bound: Int) -> Int { Int(next() % UInt64(bound)) }
}
