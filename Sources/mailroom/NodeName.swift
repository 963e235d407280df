import Foundation

/// What this process calls itself among the nodes sharing a database: `MAILROOM_NODE_ID`, else the host's name
/// and a random suffix, so two processes on one host are told apart. Chosen once per process.
enum NodeName {
    private static let generated = "\(ProcessInfo.processInfo.hostName)-\(UUID().uuidString.prefix(8).lowercased())"

    static func current(_ environment: [String: String]) -> String {
        environment["MAILROOM_NODE_ID"].flatMap { $0.isEmpty ? nil : $0 } ?? generated
    }
}
