import Foundation
import MailroomCore

extension NodeID {
    /// A name for this process when none is configured: unique per process start, so a restarted process never
    /// takes a dead one's leases or claims for its own. `serve` passes the configured one (`MAILROOM_NODE_ID`).
    public static let thisProcess = NodeID("node-\(UUID().uuidString.lowercased())")
}
