import Foundation
import LocalMailServers

/// The benchmark's own Dovecot on loopback, holding the corpus in one user's INBOX, its state in the
/// bench folder. It is what every contender fetches from, so they all meet the same server.
struct BenchMailServer {
    static let user = "bench1"
    static let password = "bench1-secret"
    static let mailUID: uid_t = 5000

    let root: String
    let imapPort: Int

    private var configFile: String { "\(root)/etc/dovecot.conf" }
    private var maildir: String { "\(root)/mail/\(Self.user)/Maildir" }

    /// Starts Dovecot (stopping one left by an earlier run) and delivers `files` unless INBOX already holds them.
    static func start(root: String, corpus files: [URL]) async throws -> BenchMailServer {
        let fm = FileManager.default
        for sub in ["etc", "run", "state", "log", "tls", "mail"] {
            try fm.createDirectory(atPath: "\(root)/\(sub)", withIntermediateDirectories: true)
        }
        try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root)
        chown("\(root)/mail", mailUID, mailUID)
        stopLeftover(root: root)
        let server = BenchMailServer(root: root, imapPort: try LoopbackPort.free())
        try server.deliver(files)
        let users = "\(root)/etc/users"
        try "\(user):{PLAIN}\(password)::::::\n".write(toFile: users, atomically: true, encoding: .utf8)
        if let group = getgrnam("dovecot") { chown(users, 0, group.pointee.gr_gid) }
        chmod(users, 0o640)
        let certificates = try LoopbackCertificates.make(in: "\(root)/tls", caName: "Mailroom Bench CA")
        let configuration = DovecotConfiguration(
            instanceName: "mailroom-bench-\(server.imapPort)", root: root, usersFile: users,
            certificateFile: certificates.certificateFile, keyFile: certificates.keyFile, mailUID: Int(mailUID),
            imapPort: server.imapPort, imapsPort: try LoopbackPort.free(), submissionPort: try LoopbackPort.free(),
            submissionsPort: try LoopbackPort.free(), submissionRelayPort: try LoopbackPort.free())
        try configuration.text.write(toFile: server.configFile, atomically: true, encoding: .utf8)
        let started = try CleanSpawn.run(["dovecot", "-c", server.configFile])
        guard started.status == 0 else { throw BenchFailure("Dovecot did not start: \(started.output)") }
        try await LoopbackPort.waitUntilListening(server.imapPort, name: "Dovecot IMAP", timeout: .seconds(20))
        return server
    }

    /// Writes the corpus into INBOX as a delivery agent does, in file order so that UIDs follow it.
    private func deliver(_ files: [URL]) throws {
        let fm = FileManager.default
        let cur = "\(maildir)/cur"
        let present = (try? fm.contentsOfDirectory(atPath: cur).count) ?? 0
        if present == files.count { return }
        try? fm.removeItem(atPath: "\(root)/mail/\(Self.user)")
        for sub in ["cur", "new", "tmp"] { try fm.createDirectory(atPath: "\(maildir)/\(sub)", withIntermediateDirectories: true) }
        for (number, file) in files.enumerated() {
            let data = try Data(contentsOf: file)
            let path = String(format: "%@/1700000000.M%07dP1.bench,S=%d:2,", cur, number + 1, data.count)
            try data.write(to: URL(fileURLWithPath: path))
            chown(path, Self.mailUID, Self.mailUID)
        }
        for path in ["\(root)/mail/\(Self.user)", maildir, "\(maildir)/cur", "\(maildir)/new", "\(maildir)/tmp"] {
            chown(path, Self.mailUID, Self.mailUID)
        }
    }

    func stop() {
        _ = try? CleanSpawn.run(["doveadm", "-c", configFile, "stop"])
    }

    private static func stopLeftover(root: String) {
        let config = "\(root)/etc/dovecot.conf"
        if FileManager.default.fileExists(atPath: "\(root)/run/master.pid") {
            _ = try? CleanSpawn.run(["doveadm", "-c", config, "stop"])
        }
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
