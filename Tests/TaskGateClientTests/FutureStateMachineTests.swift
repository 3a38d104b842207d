import Foundation
import TaskGateAPI
import TaskGateTesting
import Testing

@testable import TaskGateClient

func wireTask(_ state: WireTaskState, result: JSONValue? = nil, error: WireTaskError? = nil) -> WireTaskStatus {
    WireTaskStatus(
        id: "0000000000000001", function: "f", state: state, done: state.isTerminal, version: 1, result: result,
        error: error)
}

/// The future's life without I/O: every cancel answer, the result/cancel race, first outcome wins.
struct FutureStateMachineTests {
    @Test func aResultDecidesTheFuture() {
        var machine = FutureStateMachine(state: .pending)
        let step1 = machine.received(wireTask(.running))
        #expect(!step1)
        let step2 = machine.received(wireTask(.succeeded, result: 7))
        #expect(step2)
        #expect(machine.outcome == .success(7))
        let step3 = machine.failed(.clientClosed)
        #expect(!step3)
        #expect(machine.outcome == .success(7))
        let step4 = machine.startCancel()
        #expect(step4 == .decided(cancelled: false))
    }

    @Test func aSucceededTaskThatReturnedNullHasANullResult() {
        var machine = FutureStateMachine(state: .running)
        let step5 = machine.received(wireTask(.succeeded, result: .null))
        #expect(step5)
        #expect(machine.outcome == .success(.null))
    }

    @Test func aFailedTaskCarriesItsError() {
        var machine = FutureStateMachine(state: .running)
        let error = WireTaskError(type: "/problems/function_error", title: "t", detail: "boom", code: "function_error")
        let step6 = machine.received(wireTask(.failed, error: error))
        #expect(step6)
        guard case .failure(let failure) = machine.outcome else {
            Issue.record("not a failure")
            return
        }
        #expect(failure == .taskFailed)
        #expect(failure.taskError == error)
    }

    @Test(arguments: [
        FutureStateMachine.CancelAnswer.canceled, .notFound, .timedOut,
    ])
    func canceledNotFoundAndTimeoutCancelTheFuture(answer: FutureStateMachine.CancelAnswer) {
        var machine = FutureStateMachine(state: .running)
        let step7 = machine.startCancel()
        #expect(step7 == .send)
        let (cancelled, decided) = machine.cancelAnswered(answer)
        #expect(cancelled && decided)
        #expect(machine.outcome == .cancelled)
        #expect(machine.lastKnown == .canceled)
        let step8 = machine.startCancel()
        #expect(step8 == .decided(cancelled: true))
    }

    @Test func aResultDuringThePendingCancelLeavesTheFutureCancelled() {
        var machine = FutureStateMachine(state: .running)
        let step9 = machine.startCancel()
        #expect(step9 == .send)
        let step10 = machine.received(wireTask(.succeeded, result: 1))
        #expect(!step10)
        #expect(machine.outcome == nil)
        let step11 = machine.cancelAnswered(.canceled)
        #expect(step11 == (true, true))
        #expect(machine.outcome == .cancelled)
    }

    @Test func cancelFailedWithTheFinishedTaskResolvesWithItsResult() {
        var machine = FutureStateMachine(state: .running)
        let step12 = machine.startCancel()
        #expect(step12 == .send)
        let step13 = machine.cancelAnswered(.cancelFailed(wireTask(.succeeded, result: "r")))
        #expect(step13 == (false, true))
        #expect(machine.outcome == .success("r"))
    }

    @Test func cancelFailedOnARunningTaskLeavesTheFutureWaitingForItsResult() {
        var machine = FutureStateMachine(state: .running)
        let step14 = machine.startCancel()
        #expect(step14 == .send)
        let step15 = machine.cancelAnswered(.cancelFailed(wireTask(.running)))
        #expect(step15 == (false, false))
        #expect(machine.outcome == nil)
        let step16 = machine.received(wireTask(.succeeded, result: 2))
        #expect(step16)
        #expect(machine.outcome == .success(2))
    }

    @Test func aHeldResultIsDeliveredWhenTheCancelFails() {
        var machine = FutureStateMachine(state: .running)
        let step17 = machine.startCancel()
        #expect(step17 == .send)
        let step18 = machine.received(wireTask(.succeeded, result: 3))
        #expect(!step18)
        let step19 = machine.cancelAnswered(.cancelFailed(wireTask(.running)))
        #expect(step19 == (false, true))
        #expect(machine.outcome == .success(3))

        var broken = FutureStateMachine(state: .running)
        let step20 = broken.startCancel()
        #expect(step20 == .send)
        let step21 = broken.received(wireTask(.succeeded, result: 4))
        #expect(!step21)
        let step22 = broken.cancelAnswered(.failed)
        #expect(step22 == (false, true))
        #expect(broken.outcome == .success(4))
    }

    @Test func twoCancelsInFlightWaitForEachOther() {
        var machine = FutureStateMachine(state: .running)
        let step23 = machine.startCancel()
        #expect(step23 == .send)
        let step24 = machine.startCancel()
        #expect(step24 == .send)
        let step25 = machine.received(wireTask(.succeeded, result: 5))
        #expect(!step25)
        let step26 = machine.cancelAnswered(.failed)
        #expect(step26 == (false, false))
        #expect(machine.outcome == nil)
        let step27 = machine.cancelAnswered(.canceled)
        #expect(step27 == (true, true))
        #expect(machine.outcome == .cancelled)
    }

    /// Random sequences of server sightings, cancels and their answers: the outcome never changes once decided,
    /// and every cancel's answer agrees with the outcome (true ⇒ cancelled; false ⇒ not cancelled).
    @Test(arguments: 0..<200) func randomInterleavingsKeepTheInvariants(seed: Int) {
        var random = SplitMix(seed: UInt64(seed))
        var machine = FutureStateMachine(state: .pending)
        var inFlight = 0
        var decidedOnce: FutureStateMachine.Outcome?
        var sawFinished = false
        for _ in 0..<20 {
            switch random.next() % 6 {
            case 0: _ = machine.received(wireTask([.pending, .running, .canceling][Int(random.next() % 3)]))
            case 1:
                _ = machine.received(wireTask(.succeeded, result: .integer(Int64(random.next() % 100))))
                sawFinished = true
            case 2:
                _ = machine.received(wireTask(.canceled))
                sawFinished = true
            case 3:
                if case .send = machine.startCancel() { inFlight += 1 }
            default:
                guard inFlight > 0 else { continue }
                inFlight -= 1
                let answers: [FutureStateMachine.CancelAnswer] = [
                    .canceled, .notFound, .timedOut, .cancelFailed(wireTask(.running)),
                    .cancelFailed(wireTask(.succeeded, result: 9)), .failed,
                ]
                let choice = Int(random.next() % UInt64(answers.count))
                let undecided = machine.outcome == nil
                let (cancelled, _) = machine.cancelAnswered(answers[choice])
                if undecided && choice < 3 { #expect(cancelled && machine.outcome == .cancelled) }
                if undecided && choice == 4 { #expect(!cancelled && machine.outcome == .success(9)) }
                if choice == 4 { sawFinished = true }
            }
            if let decided = decidedOnce { #expect(machine.outcome == decided) }
            decidedOnce = decidedOnce ?? machine.outcome
            // A finished task seen while cancels were in flight is never lost: once none is in flight, the
            // future is decided.
            if inFlight == 0, sawFinished { #expect(machine.outcome != nil) }
        }
        #expect(machine.cancelsInFlight == inFlight)
    }
}
