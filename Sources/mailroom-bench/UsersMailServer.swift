import Foundation
import LocalMailServers

/// A private Dovecot on loopback with one user per mailbox, for the latency and fleet benchmarks: the
/// project's one Dovecot configuration, with the process limits raised so that one IMAP session per mailbox
/// fits (Dovecot's defaults stop at 100 processes per service), and plain IMAP so TLS stays out of the figures.
struct UsersMailServer {
    static let mailUID: uid_t = 5000

    let root: String
    let imapPort: Int
    let users: [String]

    private var configFile: String { "\(root)/etc/dovecot.conf" }

    static func password(of user: String) -> String { "\(user)-Secret-1" }

    /// Starts a fresh Dovecot in `root` (what an earlier run left there is stopped and removed) for `users`,
    /// each INBOX holding `preDelivered(user)` when that is not nil; `sessions` is how many IMAP sessions at
    /// once the limits must allow.
    static func start(root: String, users: [String], sessions: Int, preDelivered: (String) -> [UInt8]?) async throws -> UsersMailServer {
        let fm = FileManager.default
        stopLeftover(root: root)
        try? fm.removeItem(atPath: root)
        for sub in ["etc", "run", "state", "log", "tls", "mail"] {
            try fm.createDirectory(atPath: "\(root)/\(sub)", withIntermediateDirectories: true)
        }
        try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root)
        chown("\(root)/mail", mailUID, mailUID)
        for user in users { try deliver(preDelivered(user), to: user, root: root) }
        let usersFile = "\(root)/etc/users"
        try users.map { "\($0):{PLAIN}\(password(of: $0))::::::\n" }.joined().write(toFile: usersFile, atomically: true, encoding: .utf8)
        if let group = getgrnam("dovecot") { chown(usersFile, 0, group.pointee.gr_gid) }
        chmod(usersFile, 0o640)
        let certificates = try LoopbackCertificates.make(in: "\(root)/tls", caName: "Mailroom Bench CA")
        let server = UsersMailServer(root: root, imapPort: try LoopbackPort.free(), users: users)
        let configuration = DovecotConfiguration(
            instanceName: "mailroom-bench-\(server.imapPort)", root: root, usersFile: usersFile,
            certificateFile: certificates.certificateFile, keyFile: certificates.keyFile, mailUID: Int(mailUID),
            imapPort: server.imapPort, imapsPort: try LoopbackPort.free(), submissionPort: try LoopbackPort.free(),
            submissionsPort: try LoopbackPort.free(), submissionRelayPort: try LoopbackPort.free(), authPenalty: false)
        try (configuration.text + limits(sessions: sessions)).write(toFile: server.configFile, atomically: true, encoding: .utf8)
        let started = try CleanSpawn.run(["dovecot", "-c", server.configFile])
        guard started.status == 0 else { throw BenchFailure("Dovecot did not start: \(started.output)") }
        try await LoopbackPort.waitUntilListening(server.imapPort, name: "Dovecot IMAP", timeout: .seconds(20))
        return server
    }

    /// Dovecot's limits for `sessions` sessions at once: an imap process each (Dovecot's default, one client per
    /// process), one long-lived login process per core instead of one per connection, and room at the services
    /// every imap process talks to (anvil, auth, stats). Later sections of the same service add to the first.
    static func limits(sessions: Int) -> String {
        let processes = sessions + 200
        return """

            # mailroom-bench: room for \(sessions) IMAP sessions at once.
            default_client_limit = \(processes * 4)
            default_process_limit = \(processes)
            service imap {
              process_limit = \(processes)
            }
            service imap-login {
              service_count = 0
              process_min_avail = 2
              client_limit = \(processes)
            }

            """
    }

    /// Writes one message into the user's Maildir `new/`, as a delivery agent does; an empty Maildir when nil.
    private static func deliver(_ message: [UInt8]?, to user: String, root: String) throws {
        let fm = FileManager.default
        let home = "\(root)/mail/\(user)"
        let maildir = "\(home)/Maildir"
        for sub in ["cur", "new", "tmp"] { try fm.createDirectory(atPath: "\(maildir)/\(sub)", withIntermediateDirectories: true) }
        if let message {
            let path = String(format: "%@/new/1700000000.M1P1.bench,S=%d", maildir, message.count)
            try Data(message).write(to: URL(fileURLWithPath: path))
            chown(path, mailUID, mailUID)
        }
        for path in [home, maildir, "\(maildir)/cur", "\(maildir)/new", "\(maildir)/tmp"] { chown(path, mailUID, mailUID) }
    }

    func stop() {
        _ = try? CleanSpawn.run(["doveadm", "-c", configFile, "stop"])
    }

    private static func stopLeftover(root: String) {
        if FileManager.default.fileExists(atPath: "\(root)/run/master.pid") {
            _ = try? CleanSpawn.run(["doveadm", "-c", "\(root)/etc/dovecot.conf", "stop"])
        }
    }
}
