/// How mailboxes spread over the live nodes, as a pure rule: each node holds at most ⌈mailboxes ÷ live nodes⌉,
/// gives up its surplus when more nodes are alive, and takes free mailboxes up to its share. Every node applies
/// the same rule to what the database says, so shares converge without any node telling another what to do.
///
/// Free mailboxes are tried in an order of their own per node (a stable hash of node and mailbox, «rendezvous»
/// order), so two nodes starting together mostly reach for different mailboxes instead of racing for the same
/// ones; the database's atomic acquisition settles the races that remain.
public struct LeaseBalance: Sendable, Equatable {
    /// The leases to give up now.
    public var release: Set<MailboxID>
    /// Free mailboxes to try, best first; take at most ``acquireLimit`` of them.
    public var acquire: [MailboxID]
    /// How many more leases this node may take.
    public var acquireLimit: Int
    /// This node's share: ⌈mailboxes ÷ live nodes⌉.
    public var share: Int

    public init(release: Set<MailboxID>, acquire: [MailboxID], acquireLimit: Int, share: Int) {
        self.release = release
        self.acquire = acquire
        self.acquireLimit = acquireLimit
        self.share = share
    }

    /// - Parameters:
    ///   - node: this node.
    ///   - liveNodes: the nodes with a fresh heartbeat (this one counts even when missing).
    ///   - mailboxes: the mailboxes to be worked (enabled, fetching).
    ///   - holders: the unexpired leases, this node's included.
    public static func plan(node: NodeID, liveNodes: Set<NodeID>, mailboxes: Set<MailboxID>, holders: [MailboxID: NodeID]) -> LeaseBalance {
        let nodes = max(1, liveNodes.union([node]).count)
        let share = (mailboxes.count + nodes - 1) / nodes
        let mine = Set(holders.filter { $0.value == node }.keys)
        // Leases on mailboxes no longer worked (paused, removed, not fetching) go at once.
        var release = mine.subtracting(mailboxes)
        let kept = mine.intersection(mailboxes)
        // A surplus goes from the end of this node's own order, so the same mailboxes stay put across passes.
        let surplus = kept.count - share
        if surplus > 0 {
            release.formUnion(order(kept, for: node).suffix(surplus))
        }
        let free = mailboxes.filter { holders[$0] == nil }
        let limit = max(0, share - min(kept.count, share))
        return LeaseBalance(release: release, acquire: limit > 0 ? order(free, for: node) : [], acquireLimit: limit, share: share)
    }

    /// This node's preference among `mailboxes`: by a stable hash of node and mailbox (ties by id).
    static func order(_ mailboxes: Set<MailboxID>, for node: NodeID) -> [MailboxID] {
        mailboxes.map { (rank: rank($0, node), id: $0) }
            .sorted { ($0.rank, $0.id.rawValue) < ($1.rank, $1.id.rawValue) }
            .map(\.id)
    }

    /// FNV-1a over the node id and the mailbox id: stable across processes, unlike `Hasher`.
    static func rank(_ mailbox: MailboxID, _ node: NodeID) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in Array(node.rawValue.utf8) + withUnsafeBytes(of: mailbox.rawValue.littleEndian, Array.init) {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}
