import Foundation
import IdentityEmulator
import LocalMailServers

/// The demo's mail server: a private Dovecot on loopback with IMAP and submission, its state in the
/// demo folder.
///
/// Mailboxes sign in with a password from a passwd-file, or with XOAUTH2/OAUTHBEARER tokens that two
/// oauth2 passdbs check at the identity emulator's RFC 7662 endpoint (the owner's own mailbox, or a
/// delegate's token for a shared mailbox). Mail is delivered by writing Maildir files, as a local
/// delivery agent does. Submission relays to ``OutsideWorld``, which stands in for the Internet.
actor DemoMailServer: EmulatorMailServer {
    struct Ports: Sendable {
        let imap: Int
        let imaps: Int
        let submission: Int
        let submissions: Int
    }

    let root: String
    let ports: Ports
    /// The demo CA that signed the server certificate; Mailroom is told to trust it.
    let caFile: String
    private var passwordsByMailbox: [String: String] = [:]
    private var generation: [String: Int] = [:]
    private var delivered = 0
    private var masterPID: pid_t = 0
    /// The owner of every Maildir file: Dovecot's static userdb runs all mail processes as this id.
    static let mailUID: uid_t = 5000

    init(root: String, ports: Ports) {
        self.root = root
        self.ports = ports
        self.caFile = "\(root)/tls/ca.pem"  // where LoopbackCertificates puts it
    }

    var configFile: String { "\(root)/etc/dovecot.conf" }
    private var usersFile: String { "\(root)/etc/users" }

    /// Writes the configuration and certificates, starts Dovecot and waits for its listeners.
    func start(introspectionURL: String, relayPort: Int) async throws {
        let fm = FileManager.default
        for sub in ["etc", "run", "state", "log", "tls", "mail"] {
            try fm.createDirectory(atPath: "\(root)/\(sub)", withIntermediateDirectories: true)
        }
        try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root)
        chown("\(root)/mail", Self.mailUID, Self.mailUID)
        let certificates = try LoopbackCertificates.make(in: "\(root)/tls", caName: "Mailroom Demo CA")
        for mailbox in DemoMailboxes.all {
            if let password = mailbox.initialPassword { passwordsByMailbox[mailbox.address] = password }
            try ensureMaildir(mailbox.address)
        }
        passwordsByMailbox[DemoMailboxes.relayUser] = DemoMailboxes.relayPassword
        try writeUsers()
        let configuration = DovecotConfiguration(
            instanceName: "mailroom-demo-\(ports.imap)", root: root, usersFile: usersFile,
            certificateFile: certificates.certificateFile, keyFile: certificates.keyFile, mailUID: Int(Self.mailUID),
            imapPort: ports.imap, imapsPort: ports.imaps, submissionPort: ports.submission, submissionsPort: ports.submissions,
            submissionRelayPort: relayPort, introspectionURL: introspectionURL)
        for file in configuration.oauth2Files {
            try file.text.write(toFile: file.path, atomically: true, encoding: .utf8)
        }
        try configuration.text.write(toFile: configFile, atomically: true, encoding: .utf8)
        try ChildProcess.run(["dovecot", "-c", configFile])
        for listener in configuration.listeners {
            try await LoopbackPort.waitUntilListening(listener.port, name: "Dovecot \(listener.name)", timeout: .seconds(20))
        }
        masterPID = Self.readPID("\(root)/run/master.pid")
    }

    /// Stops Dovecot's master by its process id; it takes its children with it.
    func stop() async {
        let pid = masterPID != 0 ? masterPID : Self.readPID("\(root)/run/master.pid")
        await ChildProcess.stop(pid: pid, grace: .seconds(10))
        masterPID = 0
    }

    private static func readPID(_ path: String) -> pid_t {
        (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
    }

    // MARK: EmulatorMailServer

    func passwords() -> [(mailbox: String, password: String)] {
        DemoMailboxes.all.compactMap { mailbox in passwordsByMailbox[mailbox.address].map { (mailbox.address, $0) } }
    }

    /// A new password, as the user would pick at their provider: the old one with the next number.
    func changePassword(mailbox: String) async throws {
        let key = mailbox.lowercased()
        guard let old = passwordsByMailbox[key], key != DemoMailboxes.relayUser else { return }
        let next = (generation[key] ?? 1) + 1
        generation[key] = next
        let stem = old.split(separator: "-").dropLast().joined(separator: "-")
        passwordsByMailbox[key] = "\(stem)-\(next)"
        try writeUsers()
        // Dovecot looks at a passwd-file at most once a second; make sure the next login sees this change.
        try await Task.sleep(for: .milliseconds(1100))
    }

    // MARK: Delivery

    /// Delivers a message into the mailbox's INBOX, as a local delivery agent does: a file in Maildir/new.
    func deliver(_ message: [UInt8], to address: String) throws {
        let user = address.lowercased()
        try ensureMaildir(user)
        delivered += 1
        // Dovecot gives UIDs in file-name order: a growing, zero-padded counter keeps delivery order.
        let name = String(format: "%d.M%09dP%d.mailroom-demo,S=%d", Int(Date().timeIntervalSince1970), delivered, getpid(), message.count)
        let path = "\(maildir(user))/new/\(name)"
        let temporary = "\(maildir(user))/tmp/\(name)"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(message)) else {
            throw DemoFailure("Could not write \(temporary).")
        }
        chown(temporary, Self.mailUID, Self.mailUID)
        guard rename(temporary, path) == 0 else { throw DemoFailure("Could not deliver into \(path).") }
    }

    private func maildir(_ user: String) -> String { "\(root)/mail/\(user)/Maildir" }

    private func ensureMaildir(_ user: String) throws {
        let base = "\(root)/mail/\(user)"
        for sub in ["cur", "new", "tmp"] {
            try FileManager.default.createDirectory(atPath: "\(base)/Maildir/\(sub)", withIntermediateDirectories: true)
        }
        for path in [base, "\(base)/Maildir", "\(base)/Maildir/cur", "\(base)/Maildir/new", "\(base)/Maildir/tmp"] {
            chown(path, Self.mailUID, Self.mailUID)
        }
    }

    // MARK: Configuration

    private func writeUsers() throws {
        let text = passwordsByMailbox.sorted { $0.key < $1.key }.map { "\($0.key):{PLAIN}\($0.value)::::::\n" }.joined()
        let temporary = usersFile + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: 0o640]) else {
            throw DemoFailure("Could not write \(temporary).")
        }
        // Dovecot's auth process reads it as the `dovecot` user; nobody else may.
        if let group = getgrnam("dovecot") { chown(temporary, 0, group.pointee.gr_gid) }
        guard rename(temporary, usersFile) == 0 else { throw DemoFailure("Could not replace \(usersFile).") }
    }
}
