import Engine
import Foundation
import MailroomCore
import Storage

/// What this process calls itself among the nodes sharing a database.
///
/// `MAILROOM_NODE_ID` when set: a stable, unique name per node (a pod's or host's name) lets a restarted node take
/// its own mailboxes back at once instead of waiting for its old leases to expire. Without it: on SQLite, which only
/// one host can share, the host's name (a restart after a crash resumes at once); on PostgreSQL, the host's name and
/// a random suffix per process, so two processes on one host are never mistaken for one node.
enum NodeName {
    static func current(_ environment: [String: String], database: DatabaseURL) -> NodeID {
        if let configured = environment["MAILROOM_NODE_ID"], !configured.isEmpty { return NodeID(configured) }
        switch database {
        case .sqlite: return NodeID(ProcessInfo.processInfo.hostName)
        case .postgres: return NodeID("\(ProcessInfo.processInfo.hostName)-\(NodeID.thisProcess.rawValue.suffix(8))")
        }
    }
}
