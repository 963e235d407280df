import Foundation
import IdentityEmulator

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
        self.caFile = "\(root)/tls/ca.pem"
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
        try makeCertificates()
        for mailbox in DemoMailboxes.all {
            if let password = mailbox.initialPassword { passwordsByMailbox[mailbox.address] = password }
            try ensureMaildir(mailbox.address)
        }
        passwordsByMailbox[DemoMailboxes.relayUser] = DemoMailboxes.relayPassword
        try writeUsers()
        for attribute in ["username", "shared_mailbox"] {
            try Self.oauth2Settings(introspectionURL: introspectionURL, usernameAttribute: attribute)
                .write(toFile: "\(root)/etc/oauth2-\(attribute).conf.ext", atomically: true, encoding: .utf8)
        }
        try config(relayPort: relayPort).write(toFile: configFile, atomically: true, encoding: .utf8)
        try ChildProcess.run(["dovecot", "-c", configFile], in: root)
        for (port, name) in [(ports.imap, "IMAP"), (ports.imaps, "IMAPS"), (ports.submission, "submission"), (ports.submissions, "submissions")] {
            try await LoopbackPort.waitUntilListening(port, name: "Dovecot \(name)", timeout: .seconds(20))
        }
        masterPID = Self.readPID("\(root)/run/master.pid")
    }

    /// Stops Dovecot's master by its process id; it takes its children with it.
    func stop() async {
        let pid = masterPID != 0 ? masterPID : Self.readPID("\(root)/run/master.pid")
        await ChildProcess.stop(pid: pid, grace: .seconds(10))
        masterPID = 0
    }

    /// The master's process id, for checks that nothing is left behind.
    var pid: pid_t { masterPID }

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

    private func makeCertificates() throws {
        let tls = "\(root)/tls"
        try ChildProcess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", "/CN=Mailroom Demo CA",
                              "-keyout", "\(tls)/ca.key", "-out", caFile], in: root)
        try ChildProcess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                              "-keyout", "\(tls)/server.key", "-out", "\(tls)/server.csr"], in: root)
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\n".write(toFile: "\(tls)/ext.cnf", atomically: true, encoding: .utf8)
        try ChildProcess.run(["openssl", "x509", "-req", "-in", "\(tls)/server.csr", "-CA", caFile, "-CAkey", "\(tls)/ca.key",
                              "-CAcreateserial", "-days", "30", "-extfile", "\(tls)/ext.cnf", "-out", "\(tls)/server.pem"], in: root)
    }

    /// One oauth2 passdb's settings (Dovecot 2.3 `dovecot-oauth2.conf.ext` keys).
    private static func oauth2Settings(introspectionURL: String, usernameAttribute: String) -> String {
        """
        introspection_mode = post
        introspection_url = \(introspectionURL)
        username_attribute = \(usernameAttribute)
        username_format = %Lu
        active_attribute = active
        active_value = true
        send_auth_headers = yes
        timeout_msecs = 10000

        """
    }

    private func config(relayPort: Int) -> String {
        """
        # The Mailroom demo's mail server. Written by mailroom-demo; removed when the demo stops.
        instance_name = mailroom-demo-\(ports.imap)
        base_dir = \(root)/run
        state_dir = \(root)/state
        protocols = imap submission
        postmaster_address = postmaster@localhost
        listen = 127.0.0.1
        log_path = \(root)/log/dovecot.log
        ssl = yes
        ssl_cert = <\(root)/tls/server.pem
        ssl_key = <\(root)/tls/server.key
        ssl_min_protocol = TLSv1.2
        disable_plaintext_auth = no
        auth_mechanisms = plain login xoauth2 oauthbearer
        first_valid_uid = 1000
        mail_location = maildir:\(root)/mail/%u/Maildir
        mail_max_userip_connections = 100
        # Submission hands accepted mail to the demo's stand-in for the Internet.
        submission_relay_host = 127.0.0.1
        submission_relay_port = \(relayPort)
        passdb {
          driver = passwd-file
          mechanisms = plain login
          args = scheme=PLAIN username_format=%u \(usersFile)
        }
        # The owner's token opens the owner's mailbox.
        passdb {
          driver = oauth2
          mechanisms = xoauth2 oauthbearer
          args = \(root)/etc/oauth2-username.conf.ext
        }
        # A delegate's token opens the shared mailbox it is a delegate of.
        passdb {
          driver = oauth2
          mechanisms = xoauth2 oauthbearer
          args = \(root)/etc/oauth2-shared_mailbox.conf.ext
        }
        userdb {
          driver = static
          args = allow_all_users=yes uid=\(Self.mailUID) gid=\(Self.mailUID) home=\(root)/mail/%u
        }
        namespace inbox {
          inbox = yes
          separator = /
        }
        service imap-login {
          inet_listener imap {
            address = 127.0.0.1
            port = \(ports.imap)
          }
          inet_listener imaps {
            address = 127.0.0.1
            port = \(ports.imaps)
            ssl = yes
          }
        }
        service submission-login {
          inet_listener submission {
            address = 127.0.0.1
            port = \(ports.submission)
          }
          inet_listener submissions {
            address = 127.0.0.1
            port = \(ports.submissions)
            ssl = yes
          }
        }

        """
    }
}
