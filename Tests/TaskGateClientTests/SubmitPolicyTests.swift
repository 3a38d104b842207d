import Testing

@testable import TaskGateClient

/// The client's submission decisions, as values: when `submit` waits on the server, and when it batches.
struct SubmitPolicyTests {
    @Test func aFunctionWaitsUntilAWaitComesBackUnfinishedThenSkipsMoreAndMore() {
        var policy = SubmitWaitPolicy(maxSkips: 8, capacity: 16)
        let step1 = policy.shouldWait("f")
        #expect(step1)
        policy.waited("f", finished: true)
        let step2 = policy.shouldWait("f")
        #expect(step2)
        // Unfinished: skip 1, wait; unfinished again: skip 2, wait; then 4, 8, 8 (the cap).
        var pattern: [Bool] = []
        for _ in 0..<5 {
            policy.waited("f", finished: false)
            while !policy.shouldWait("f") { pattern.append(false) }
            pattern.append(true)
        }
        #expect(pattern.split(separator: true).map(\.count) == [1, 2, 4, 8, 8])
        // A finished wait makes it fast again; other functions are not affected.
        policy.waited("f", finished: true)
        let step3 = policy.shouldWait("f")
        #expect(step3)
        policy.waited("g", finished: false)
        let step4 = policy.shouldWait("g")
        #expect(!step4)
        let step5 = policy.shouldWait("f")
        #expect(step5)
    }

    @Test func theTableOfFunctionsIsBounded() {
        var policy = SubmitWaitPolicy(maxSkips: 4, capacity: 3)
        for name in ["a", "b", "c", "d", "e"] { policy.waited(name, finished: false) }
        #expect(policy.count <= 3)
    }

    @Test func fewSubmissionsGoAloneTheRestWaitForTheNextBatch() {
        var queue = SubmitQueue<Int>(maxDirect: 2, maxBatch: 3)
        let step6 = queue.admit(0)
        #expect(step6 == .direct)
        let step7 = queue.admit(1)
        #expect(step7 == .direct)
        let step8 = queue.admit(2)
        #expect(step8 == .queued(startSender: true))
        let step9 = queue.admit(3)
        #expect(step9 == .queued(startSender: false))
        let step10 = queue.admit(4)
        #expect(step10 == .queued(startSender: false))
        let step11 = queue.admit(5)
        #expect(step11 == .queued(startSender: false))
        // Batches are oldest first and at most `maxBatch` long; the sender ends when the queue is empty.
        let step12 = queue.nextBatch()
        #expect(step12 == [2, 3, 4])
        let step13 = queue.admit(6)
        #expect(step13 == .queued(startSender: false))
        let step14 = queue.nextBatch()
        #expect(step14 == [5, 6])
        let step15 = queue.nextBatch()
        #expect(step15 == nil)
        #expect(!queue.sending)
        // A direct submission that finished frees its place.
        queue.directFinished()
        let step16 = queue.admit(7)
        #expect(step16 == .direct)
        let step17 = queue.admit(8)
        #expect(step17 == .queued(startSender: true))
    }
}
