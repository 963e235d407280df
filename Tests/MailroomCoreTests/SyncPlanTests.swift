import MailroomCore
import Testing

/// The README's guarantees for incoming mail, proven on the sync plan alone: no server, no store.
@Suite("Sync plan")
struct SyncPlanTests {
    static let source = "imap://support@imap.example.com:993/INBOX"

    // MARK: Where a pass starts

    struct StartRow: Sendable, CustomTestStringConvertible {
        var name: String
        var stored: SyncWatermark?
        var uidValidity: UInt32
        var expected: SyncPlan.Start
        var testDescription: String { name }
    }

    static let startRows: [StartRow] = [
        StartRow(name: "first pass: from UID 0, saved", stored: nil, uidValidity: 7,
                 expected: .init(watermark: .init(uidValidity: 7, lastUID: 0, source: source), save: true, rescan: nil)),
        StartRow(name: "same folder: the stored position, nothing to save", stored: .init(uidValidity: 7, lastUID: 40, source: source), uidValidity: 7,
                 expected: .init(watermark: .init(uidValidity: 7, lastUID: 40, source: source), save: false, rescan: nil)),
        StartRow(name: "folder recreated: rescan from 0", stored: .init(uidValidity: 7, lastUID: 40, source: source), uidValidity: 8,
                 expected: .init(watermark: .init(uidValidity: 8, lastUID: 0, source: source), save: true, rescan: .newUIDValidity(old: 7, new: 8))),
        StartRow(name: "another account, same UIDVALIDITY: rescan from 0",
                 stored: .init(uidValidity: 7, lastUID: 40, source: "imap://other@imap.example.com:993/INBOX"), uidValidity: 7,
                 expected: .init(watermark: .init(uidValidity: 7, lastUID: 0, source: source), save: true, rescan: .otherSource)),
        StartRow(name: "position saved before sources were recorded: adopted", stored: .init(uidValidity: 7, lastUID: 40, source: nil), uidValidity: 7,
                 expected: .init(watermark: .init(uidValidity: 7, lastUID: 40, source: source), save: true, rescan: nil)),
        StartRow(name: "old position and a new UIDVALIDITY: rescan", stored: .init(uidValidity: 7, lastUID: 40, source: nil), uidValidity: 9,
                 expected: .init(watermark: .init(uidValidity: 9, lastUID: 0, source: source), save: true, rescan: .newUIDValidity(old: 7, new: 9))),
    ]

    @Test("Where a pass starts", arguments: startRows)
    func start(row: StartRow) {
        #expect(SyncPlan.start(stored: row.stored, uidValidity: row.uidValidity, source: Self.source) == row.expected)
    }

    // MARK: The watermark passes only filed UIDs

    struct ArrivalRow: Sendable, CustomTestStringConvertible {
        var name: String
        var wanted: [UInt32]
        var arrivals: [UInt32]
        /// What each arrival lets the watermark pass once filed; nil for an arrival that is ignored.
        var passing: [UInt32?]
        var undelivered: [UInt32]
        var testDescription: String { name }
    }

    static let arrivalRows: [ArrivalRow] = [
        ArrivalRow(name: "in order", wanted: [3, 4, 5], arrivals: [3, 4, 5], passing: [3, 4, 5], undelivered: []),
        ArrivalRow(name: "out of order: stops below the lowest still awaited", wanted: [3, 4, 5], arrivals: [5, 3, 4],
                   passing: [2, 3, 5], undelivered: []),
        ArrivalRow(name: "one never comes: the watermark stays below it", wanted: [3, 4, 5], arrivals: [3, 5],
                   passing: [3, 3], undelivered: [4]),
        ArrivalRow(name: "a UID not asked for, and one twice, are ignored", wanted: [10, 20], arrivals: [99, 10, 10, 20],
                   passing: [nil, 10, nil, 20], undelivered: []),
        ArrivalRow(name: "nothing arrives", wanted: [1, 2], arrivals: [], passing: [], undelivered: [1, 2]),
    ]

    @Test("A fetch's arrivals move the watermark only over filed UIDs", arguments: arrivalRows)
    func arrivals(row: ArrivalRow) {
        var progress = FetchProgress(wanted: row.wanted)
        var passing: [UInt32?] = []
        for uid in row.arrivals {
            let mark = progress.arrived(uid)
            if let mark, let lowest = progress.awaited.min() { #expect(mark < lowest, "passed \(mark) with \(lowest) still awaited") }
            passing.append(mark)
        }
        #expect(passing == row.passing)
        #expect(progress.undelivered == row.undelivered)
    }

    @Test("Arrivals in any order pass exactly what the naive rule passes: the highest delivered, below the lowest awaited")
    func arrivalsInAnyOrder() {
        var random = SystemRandomNumberGenerator()
        for round in 0..<200 {
            let wanted = (0..<(1 + round % 40)).map { _ in UInt32.random(in: 1...60, using: &random) }
            let unique = Array(Set(wanted))
            // Mostly in order, as servers answer, sometimes shuffled; some never arrive; a few strays and repeats.
            var arrivals = round % 3 == 0 ? unique.shuffled(using: &random) : unique.sorted()
            arrivals.removeAll { _ in Int.random(in: 0..<8, using: &random) == 0 }
            arrivals.insert(UInt32.random(in: 61...90, using: &random), at: Int.random(in: 0...arrivals.count, using: &random))
            if let repeated = arrivals.first { arrivals.append(repeated) }
            var progress = FetchProgress(wanted: wanted)
            var awaited = Set(unique), highest: UInt32 = 0
            for uid in arrivals {
                let expected: UInt32?
                if awaited.remove(uid) != nil {
                    highest = max(highest, uid)
                    expected = awaited.min().map { min(highest, $0 - 1) } ?? highest
                } else {
                    expected = nil
                }
                #expect(progress.arrived(uid) == expected, "wanted \(wanted), arrivals \(arrivals), at \(uid)")
            }
            #expect(progress.undelivered == awaited.sorted())
        }
    }

    // MARK: Batches, sizes, the position after a batch

    @Test("New UIDs are those above the watermark, once each, in order; a server's `n:*` answer may include a lower one")
    func newUIDs() {
        let mark = SyncWatermark(uidValidity: 1, lastUID: 10, source: Self.source)
        #expect(SyncPlan.newUIDs([12, 10, 11, 12, 3], above: mark) == [11, 12])
        #expect(SyncPlan.newUIDs([10], above: mark).isEmpty)
        #expect(SyncPlan.batches([1, 2, 3, 4, 5], size: 2) == [[1, 2], [3, 4], [5]])
        #expect(SyncPlan.batches([1, 2], size: 0) == [[1], [2]])
        #expect(SyncPlan.batches([], size: 50).isEmpty)
    }

    @Test("Mail over the limit is filed as a notice and left on the server; mail without a size is fetched")
    func oversized() {
        let split = SyncPlan.split([1, 2, 3, 4], sizes: [1: 100, 2: 5_000, 3: 1_000], limit: 1_000)
        #expect(split.tooLarge == [2])
        #expect(split.wanted == [1, 3, 4])
    }

    @Test("After a batch the position moves past its last UID, never backwards")
    func afterBatch() {
        let mark = SyncWatermark(uidValidity: 1, lastUID: 7, source: Self.source)
        #expect(SyncPlan.afterBatch([8, 9, 12], watermark: mark)?.lastUID == 12)
        #expect(SyncPlan.afterBatch([5, 6], watermark: mark) == nil)
        #expect(SyncPlan.afterBatch([], watermark: mark) == nil)
    }

    @Test("Fetching runs on into the next batch unless a step needs the batch's end committed first")
    func settling() {
        #expect(!SyncPlan.settles(after: [1, 2, 3], wanted: [1, 2, 3], undelivered: [], deleteAfterFetch: false))
        #expect(!SyncPlan.settles(after: [1, 2, 3], wanted: [1, 3], undelivered: [], deleteAfterFetch: false), "a middle UID too large settled before")
        #expect(SyncPlan.settles(after: [1, 2, 3], wanted: [1, 2, 3], undelivered: [2], deleteAfterFetch: false), "a notice for unreadable mail")
        #expect(SyncPlan.settles(after: [1, 2, 3], wanted: [1, 2, 3], undelivered: [], deleteAfterFetch: true), "delete-after-fetch")
        #expect(SyncPlan.settles(after: [1, 2, 3], wanted: [1, 2], undelivered: [], deleteAfterFetch: false), "the last UID too large")
        #expect(SyncPlan.settles(after: [1, 2], wanted: [], undelivered: [], deleteAfterFetch: false), "nothing fetched")
    }

    // MARK: Delete only filed mail

    @Test("Delete-after-fetch removes only what was committed with its content, from this source, at or below the watermark")
    func deletion() {
        let mark = SyncWatermark(uidValidity: 1, lastUID: 20, source: Self.source)
        #expect(SyncPlan.looksForLeftovers(deleteAfterFetch: true, watermark: mark))
        #expect(!SyncPlan.looksForLeftovers(deleteAfterFetch: false, watermark: mark))
        #expect(!SyncPlan.looksForLeftovers(deleteAfterFetch: true, watermark: .init(uidValidity: 1, lastUID: 0)))
        // 5 was filed as a notice only (too large): the store has no content for it, so it stays.
        #expect(SyncPlan.leftovers(onServer: [21, 4, 5, 6], stored: [4, 6, 21], watermark: mark) == [4, 6])
        #expect(SyncPlan.deletable(committed: [1, 2], deleteAfterFetch: true) == [1, 2])
        #expect(SyncPlan.deletable(committed: [1, 2], deleteAfterFetch: false).isEmpty)
    }

    // MARK: Whole passes, with crashes

    /// A folder as a test server would hold it.
    struct Folder: Sendable {
        var uids: [UInt32]
        var sizes: [UInt32: Int] = [:]
        /// UIDs the server lists but returns no content for.
        var unreadable: Set<UInt32> = []
        /// Answers a fetch in reverse order, as some servers may.
        var reversed = false
    }

    /// What the store holds: what each UID was filed as.
    enum Filed: Equatable { case email, tooLarge, unreadable }

    struct PassRow: Sendable, CustomTestStringConvertible {
        var name: String
        var folder: Folder
        var deleteAfterFetch: Bool
        var batchSize: Int
        var groupSize: Int
        /// Commits after which the first pass crashes (nil: it finishes).
        var crashAfterCommits: Int?
        var testDescription: String { name }
    }

    static let passRows: [PassRow] = [
        PassRow(name: "plain folder, kept on the server", folder: Folder(uids: Array(1...9)), deleteAfterFetch: false, batchSize: 4, groupSize: 2),
        PassRow(name: "out of order answers, crash after the second commit", folder: Folder(uids: Array(1...9), reversed: true),
                deleteAfterFetch: true, batchSize: 5, groupSize: 2, crashAfterCommits: 2),
        PassRow(name: "oversized and unreadable mail among the rest, crash after the first commit",
                folder: Folder(uids: [2, 3, 5, 8, 13, 21], sizes: [5: 9_999], unreadable: [13]),
                deleteAfterFetch: true, batchSize: 3, groupSize: 1, crashAfterCommits: 1),
        PassRow(name: "gaps in UIDs, delete after fetch, no crash", folder: Folder(uids: [4, 40, 400]), deleteAfterFetch: true, batchSize: 2, groupSize: 5),
        PassRow(name: "kept on the server: groups run across batches, crash after the third commit",
                folder: Folder(uids: Array(1...11), reversed: true), deleteAfterFetch: false, batchSize: 3, groupSize: 2, crashAfterCommits: 3),
        PassRow(name: "kept on the server: an oversized last UID and unreadable mail settle their batch",
                folder: Folder(uids: Array(1...12), sizes: [6: 9_999], unreadable: [8]), deleteAfterFetch: false, batchSize: 3, groupSize: 4,
                crashAfterCommits: 2),
        PassRow(name: "crash before anything was committed", folder: Folder(uids: [1, 2, 3], reversed: true), deleteAfterFetch: true,
                batchSize: 3, groupSize: 1, crashAfterCommits: 0),
    ]

    /// One pass as `MailboxSyncer` runs it, over the model: notices for oversized mail at the current position,
    /// groups committed with the position that covers them, notices for unreadable mail, then the batch's end; a
    /// crash loses everything after the last commit.
    struct Crash: Error {}

    static func pass(_ folder: inout Folder, stored: inout SyncWatermark?, filed: inout [UInt32: Filed], deleted: inout Set<UInt32>,
                     deleteAfterFetch: Bool, batchSize: Int, groupSize: Int, crashAfterCommits: Int?) throws {
        var commits = 0
        func commit(_ uids: [UInt32: Filed], mark: SyncWatermark) throws {
            if let crashAfterCommits, commits >= crashAfterCommits { throw Crash() }
            commits += 1
            for (uid, kind) in uids where filed[uid] == nil { filed[uid] = kind }
            stored = mark
        }
        let start = SyncPlan.start(stored: stored, uidValidity: 1, source: source)
        var mark = start.watermark
        if start.save { stored = mark }
        if SyncPlan.looksForLeftovers(deleteAfterFetch: deleteAfterFetch, watermark: mark) {
            let contents = Set(filed.filter { $0.value == .email }.keys)
            let gone = SyncPlan.leftovers(onServer: folder.uids, stored: contents, watermark: mark)
            deleted.formUnion(gone)
            folder.uids.removeAll { gone.contains($0) }
        }
        // The pipeline: a group and its position run on across batches, until the plan says to settle.
        var group: [UInt32: Filed] = [:]
        var groupMark = mark
        var committed: [UInt32] = []
        func settle() throws {
            if !group.isEmpty {
                try commit(group, mark: groupMark)
                committed += group.keys
                group = [:]
            }
            mark = groupMark
        }
        for batch in SyncPlan.batches(SyncPlan.newUIDs(folder.uids, above: mark), size: batchSize) {
            let (tooLarge, wanted) = SyncPlan.split(batch, sizes: folder.sizes, limit: 1_000)
            if !tooLarge.isEmpty { try settle() }
            for uid in tooLarge { try commit([uid: .tooLarge], mark: mark) }
            var progress = FetchProgress(wanted: wanted)
            let answered = wanted.filter { !folder.unreadable.contains($0) }
            for uid in folder.reversed ? answered.reversed() : answered {
                guard let passing = progress.arrived(uid) else { continue }
                group[uid] = .email
                groupMark.lastUID = max(groupMark.lastUID, passing)
                if group.count >= groupSize {
                    try commit(group, mark: groupMark)
                    committed += group.keys
                    group = [:]
                }
            }
            let undelivered = progress.undelivered
            guard SyncPlan.settles(after: batch, wanted: wanted, undelivered: undelivered, deleteAfterFetch: deleteAfterFetch) else { continue }
            try settle()
            let stillThere = undelivered.filter { folder.uids.contains($0) }
            if !stillThere.isEmpty { try commit(Dictionary(uniqueKeysWithValues: stillThere.map { ($0, .unreadable) }), mark: mark) }
            if let next = SyncPlan.afterBatch(batch, watermark: mark) {
                mark = next
                groupMark = next
                stored = mark
            }
            let gone = SyncPlan.deletable(committed: committed, deleteAfterFetch: deleteAfterFetch)
            committed = []
            deleted.formUnion(gone)
            folder.uids.removeAll { gone.contains($0) }
        }
        try settle()
    }

    @Test("Whole passes: the watermark never passes an unfiled UID, a crash only causes a refetch, every message is filed once, only filed mail is deleted",
          arguments: passRows)
    func wholePass(row: PassRow) throws {
        var folder = row.folder
        let original = Set(folder.uids)
        var stored: SyncWatermark?
        var filed: [UInt32: Filed] = [:]
        var deleted: Set<UInt32> = []
        do {
            try Self.pass(&folder, stored: &stored, filed: &filed, deleted: &deleted, deleteAfterFetch: row.deleteAfterFetch,
                          batchSize: row.batchSize, groupSize: row.groupSize, crashAfterCommits: row.crashAfterCommits)
            #expect(row.crashAfterCommits == nil, "the pass was to crash")
        } catch is Crash {}
        // After the crash (or the pass): nothing at or below the stored position is unfiled.
        let position = stored?.lastUID ?? 0
        for uid in original where uid <= position {
            #expect(filed[uid] != nil, "UID \(uid) is below the watermark \(position) but not filed")
        }
        #expect(deleted.allSatisfy { filed[$0] == .email }, "deleted mail that was not filed with its content")

        // The next start finishes the job: everything filed exactly once, nothing lost.
        try Self.pass(&folder, stored: &stored, filed: &filed, deleted: &deleted, deleteAfterFetch: row.deleteAfterFetch,
                      batchSize: row.batchSize, groupSize: row.groupSize, crashAfterCommits: nil)
        #expect(Set(filed.keys) == original)
        for uid in original {
            let expected: Filed = (row.folder.sizes[uid] ?? 0) > 1_000 ? .tooLarge : row.folder.unreadable.contains(uid) ? .unreadable : .email
            #expect(filed[uid] == expected, "UID \(uid)")
        }
        #expect(stored?.lastUID == original.max())
        if row.deleteAfterFetch {
            #expect(deleted == Set(original.filter { filed[$0] == .email }), "delete-after-fetch removes exactly the mail filed with its content")
            #expect(Set(folder.uids) == Set(original.filter { filed[$0] != .email }), "notices stand in for mail that stays on the server")
        } else {
            #expect(deleted.isEmpty)
        }
    }
}
