import Testing

@testable import TaskScheduler

/// The wire forms of task ids.
struct IdentifiersTests {
    @Test func taskIDsRoundTripThroughTheirWireForm() {
        var generator = SystemRandomNumberGenerator()
        let samples: [UInt64] = [0, 1, 0xF, 0x10, .max, .max - 1, 0x8000_0000_0000_0000]
        for value in samples + (0..<1_000).map({ _ in generator.next() }) {
            let id = TaskID(rawValue: value)
            let text = id.description
            #expect(text.utf8.count == 16)
            #expect(text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) })
            #expect(UInt64(text, radix: 16) == value)
            #expect(TaskID(text) == id)
            #expect(TaskID(Substring(text)) == id)
        }
    }

    @Test(arguments: [
        "", "000000000000000", "00000000000000001", "000000000000000G", "000000000000000A", "0x00000000000001",
        "00000000 0000001", "000000000000000é", "-000000000000001", "+000000000000001",
    ])
    func malformedTaskIDsAreRejected(text: String) {
        #expect(TaskID(text) == nil)
    }
}
