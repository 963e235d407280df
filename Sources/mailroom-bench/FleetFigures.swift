import Foundation

/// What `mailroom-bench fleet` measured, and the markdown table it prints.
struct FleetFigures {
    struct Failover {
        var node: String
        var mailboxes: Int
        /// From the SIGKILL until the bench's APPENDs to the dead node's mailboxes were all answered.
        var appendSeconds: Double
        /// From the SIGKILL until every one of those messages was committed by another node.
        var allCommittedSeconds: Double
    }

    /// VmRSS of a node with zero mailboxes.
    var emptyKiB = 0
    var allFiledSeconds = 0.0
    /// Several nodes: from their start until every mailbox was leased and no node held more than its share.
    var balancedSeconds: Double?
    var newMailMilliseconds: [Double] = []
    /// VmRSS of each node at the end of the idle period.
    var nodeKiB: [Int] = []
    var nodeCorePercent: [Double] = []
    var failover: Failover?

    func print(mailboxes: Int, nodes: Int, database: String, idleSeconds: Int) {
        let latency = Percentiles(newMailMilliseconds)
        let totalKiB = nodeKiB.reduce(0, +)
        let perMailbox = Double(totalKiB - nodes * emptyKiB) / Double(mailboxes)
        let cpu = nodeCorePercent.reduce(0, +)
        let mib = { (kib: Int) in String(format: "%.1f MiB", Double(kib) / 1024) }
        say("")
        say("\(mailboxes) mailboxes (one Dovecot user each, plain IMAP on loopback), \(nodes) `mailroom serve` node(s) on \(database), push on, poll interval 60 s")
        say("")
        say("| figure | value | target |")
        say("|---|---:|---|")
        say(String(format: "| every mailbox's first message filed, from the nodes' start | %.1f s | |", allFiledSeconds))
        if let balancedSeconds {
            say(String(format: "| leases spread evenly over the nodes, from their start | %.1f s | |", balancedSeconds))
        }
        say(String(format: "| new mail to %d random mailboxes, one at a time: APPEND → committed, p50 | %.0f ms | |", newMailMilliseconds.count, latency(50)))
        say(String(format: "| … p99 | %.0f ms | |", latency(99)))
        say("| resident memory (VmRSS) with every session in IDLE | \(nodeKiB.map(mib).joined(separator: " + ")) | |")
        say("| resident memory of a node with zero mailboxes | \(mib(emptyKiB))\(nodes > 1 ? " each" : "") | |")
        say(String(format: "| memory per idle mailbox, above the zero-mailbox node%@ | %.0f KiB | under 200 KiB |", nodes > 1 ? "s" : "", perMailbox))
        say(String(format: "| CPU while idle, %d s (utime + stime)%@ | %.2f%% of a core | under 2%% |", idleSeconds,
                           nodes > 1 ? ", all nodes together" : "", cpu))
        if let failover {
            say(String(format: "| SIGKILL of %@ (%d mailboxes, the most leases): its mailboxes' new mail committed elsewhere, from the kill | %.1f s | |",
                               failover.node, failover.mailboxes, failover.allCommittedSeconds))
            say(String(format: "| … of which the bench's %d APPENDs took | %.1f s | |", failover.mailboxes, failover.appendSeconds))
        }
    }
}
