import MailroomCore
import Testing

/// How mailboxes spread over live nodes: a node holds at most ⌈mailboxes ÷ nodes⌉, gives up a surplus, takes free
/// mailboxes up to its share, and lets go of mailboxes no longer worked.
@Suite("Lease balance")
struct LeaseBalanceTests {
    static let me = NodeID("a")
    static let other = NodeID("b")
    static let third = NodeID("c")

    static func ids(_ range: ClosedRange<Int64>) -> Set<MailboxID> { Set(range.map { MailboxID($0) }) }
    static func held(_ ids: Set<MailboxID>, by node: NodeID) -> [MailboxID: NodeID] {
        Dictionary(uniqueKeysWithValues: ids.map { ($0, node) })
    }

    struct Row: Sendable, CustomTestStringConvertible {
        var name: String
        var live: Set<NodeID>
        var mailboxes: Set<MailboxID>
        var holders: [MailboxID: NodeID]
        var share: Int
        var releases: Int
        var mayTake: Int
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        Row(name: "alone, nothing held: take everything", live: [me], mailboxes: ids(1...10), holders: [:], share: 10, releases: 0, mayTake: 10),
        Row(name: "alone and missing from the live list: still counts itself", live: [], mailboxes: ids(1...4), holders: [:], share: 4, releases: 0, mayTake: 4),
        Row(name: "holding all ten when a second node arrives: give up five", live: [me, other], mailboxes: ids(1...10),
            holders: held(ids(1...10), by: me), share: 5, releases: 5, mayTake: 0),
        Row(name: "the new node, all held by the other: take nothing yet", live: [me, other], mailboxes: ids(1...10),
            holders: held(ids(1...10), by: other), share: 5, releases: 0, mayTake: 5),
        Row(name: "the new node after the surplus was released: five free to take", live: [me, other], mailboxes: ids(1...10),
            holders: held(ids(1...5), by: other), share: 5, releases: 0, mayTake: 5),
        Row(name: "ten over three: a share of four", live: [me, other, third], mailboxes: ids(1...10),
            holders: held(ids(1...3), by: other), share: 4, releases: 0, mayTake: 4),
        Row(name: "at its share: nothing to do", live: [me, other], mailboxes: ids(1...4),
            holders: held(ids(1...2), by: me).merging(held(ids(3...4), by: other)) { a, _ in a }, share: 2, releases: 0, mayTake: 0),
        Row(name: "a lease on a paused or removed mailbox goes", live: [me], mailboxes: ids(1...2),
            holders: held(ids(1...3), by: me), share: 2, releases: 1, mayTake: 0),
        Row(name: "no mailboxes: release everything", live: [me, other], mailboxes: [], holders: held(ids(1...2), by: me), share: 0, releases: 2, mayTake: 0),
    ]

    @Test("Shares, surpluses and what may be taken", arguments: rows)
    func plan(row: Row) {
        let plan = LeaseBalance.plan(node: Self.me, liveNodes: row.live, mailboxes: row.mailboxes, holders: row.holders)
        #expect(plan.share == row.share)
        #expect(plan.release.count == row.releases)
        #expect(plan.acquireLimit == row.mayTake)
        let free = row.mailboxes.filter { row.holders[$0] == nil }
        #expect(Set(plan.acquire) == (row.mayTake > 0 ? free : []), "only free mailboxes are tried")
        #expect(plan.release.allSatisfy { row.holders[$0] == Self.me }, "only this node's own leases are given up")
    }

    @Test("Two nodes starting together reach for different mailboxes first, and each one's order is stable")
    func rendezvousOrder() {
        let mailboxes = Self.ids(1...10)
        let mine = LeaseBalance.plan(node: Self.me, liveNodes: [Self.me, Self.other], mailboxes: mailboxes, holders: [:])
        let theirs = LeaseBalance.plan(node: Self.other, liveNodes: [Self.me, Self.other], mailboxes: mailboxes, holders: [:])
        #expect(mine.acquire != theirs.acquire)
        #expect(mine == LeaseBalance.plan(node: Self.me, liveNodes: [Self.me, Self.other], mailboxes: mailboxes, holders: [:]))
    }

    @Test("Repeated balancing converges: two nodes end with five each, every mailbox held once")
    func converges() {
        let mailboxes = Self.ids(1...10)
        var holders = Self.held(mailboxes, by: Self.me)
        let nodes: Set<NodeID> = [Self.me, Self.other]
        for _ in 0..<3 {
            for node in [Self.me, Self.other] {
                let plan = LeaseBalance.plan(node: node, liveNodes: nodes, mailboxes: mailboxes, holders: holders)
                for id in plan.release { holders[id] = nil }
                for id in plan.acquire.prefix(plan.acquireLimit) where holders[id] == nil { holders[id] = node }
            }
        }
        #expect(holders.count == 10)
        #expect(holders.values.filter { $0 == Self.me }.count == 5)
        #expect(holders.values.filter { $0 == Self.other }.count == 5)
    }
}
