@testable import Engine
import MailroomCore
import Synchronization
import Testing

@Suite("Commit groups: strictly in order, none after a failed one")
struct CommitQueueTests {
    /// What ran, in the order it ran.
    final class Journal: Sendable {
        private let entries = Mutex<[Int]>([])
        func record(_ n: Int) { entries.withLock { $0.append(n) } }
        var all: [Int] { entries.withLock { $0 } }
    }

    struct Refused: Error {}

    static func group(_ n: Int) -> CommittedGroup { CommittedGroup(outcomes: [], uids: [UInt32(n)]) }

    @Test("A quick group waits for a slow one before it; results come back in the order added")
    func order() async throws {
        let journal = Journal()
        var queue = CommitQueue()
        queue.add { turn in
            try await turn()
            try await Task.sleep(for: .milliseconds(100))
            journal.record(1)
            return Self.group(1)
        }
        queue.add { turn in
            try await turn()
            journal.record(2)
            return Self.group(2)
        }
        #expect(!queue.isFull)
        queue.add { turn in
            try await turn()
            journal.record(3)
            return Self.group(3)
        }
        #expect(queue.isFull)
        var results: [UInt32] = []
        while let done = try await queue.next() { results += done.uids }
        #expect(results == [1, 2, 3])
        #expect(journal.all == [1, 2, 3])
    }

    @Test("What a group does before its turn (writing its raw bytes) runs while the group before is still committing; its commit waits")
    func readyBesideTheCommitBefore() async throws {
        let journal = Journal()
        var queue = CommitQueue()
        queue.add { turn in
            try await turn()
            try await Task.sleep(for: .milliseconds(200))
            journal.record(1)
            return Self.group(1)
        }
        queue.add { turn in
            journal.record(20)
            try await turn()
            journal.record(2)
            return Self.group(2)
        }
        var results: [UInt32] = []
        while let done = try await queue.next() { results += done.uids }
        #expect(results == [1, 2])
        #expect(journal.all == [20, 1, 2], "the second group prepared before the first committed, and committed after it")
    }

    @Test("After a group fails, the groups behind it are never committed, and settling waits for all of them")
    func failureStopsTheRest() async throws {
        let journal = Journal()
        var queue = CommitQueue()
        queue.add { turn in
            try await turn()
            journal.record(1)
            return Self.group(1)
        }
        queue.add { turn in
            try await turn()
            try await Task.sleep(for: .milliseconds(50))
            throw Refused()
        }
        queue.add { turn in
            try await turn()
            journal.record(3)
            return Self.group(3)
        }
        #expect(try await queue.next()?.uids == [1])
        await #expect(throws: Refused.self) { try await queue.next() }
        await queue.settle()
        #expect(journal.all == [1])
    }
}
