import Foundation

/// A private Dovecot on loopback for one test process: passwd-file users, Maildirs in a temporary
/// directory, plain/STARTTLS and implicit-TLS listeners, a certificate from a test CA.
final class Dovecot: @unchecked Sendable {
    let root: URL
    let imapPort: Int
    let imapsPort: Int
    /// The test CA that signed the server certificate; Mailroom is told to trust it.
    let caFile: String
    static let mailUID = 5000
    private let lock = NSLock()
    private var users: [String: String] = [:]
    private var delivered = 0

    init() async throws {
        root = try TestPaths.temporaryDirectory("dovecot")
        imapPort = try ProcessRunner.freePort()
        imapsPort = try ProcessRunner.freePort()
        let fm = FileManager.default
        for sub in ["etc", "run", "state", "log", "tls", "mail"] {
            try fm.createDirectory(at: root.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root.path)
        let tls = root.appendingPathComponent("tls").path
        caFile = "\(tls)/ca.pem"
        try ProcessRunner.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", "/CN=Mailroom Test CA",
                               "-keyout", "\(tls)/ca.key", "-out", caFile])
        try ProcessRunner.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                               "-keyout", "\(tls)/server.key", "-out", "\(tls)/server.csr"])
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\n".write(toFile: "\(tls)/ext.cnf", atomically: true, encoding: .utf8)
        try ProcessRunner.run(["openssl", "x509", "-req", "-in", "\(tls)/server.csr", "-CA", caFile, "-CAkey", "\(tls)/ca.key",
                               "-CAcreateserial", "-days", "30", "-extfile", "\(tls)/ext.cnf", "-out", "\(tls)/server.pem"])
        try "".write(toFile: usersFile, atomically: true, encoding: .utf8)
        let config = """
            instance_name = mailroom-test-\(imapPort)
            base_dir = \(root.path)/run
            state_dir = \(root.path)/state
            protocols = imap
            listen = 127.0.0.1
            log_path = \(root.path)/log/dovecot.log
            ssl = yes
            ssl_cert = <\(tls)/server.pem
            ssl_key = <\(tls)/server.key
            ssl_min_protocol = TLSv1.2
            disable_plaintext_auth = no
            auth_mechanisms = plain login
            first_valid_uid = 1000
            mail_location = maildir:\(root.path)/mail/%u/Maildir
            mail_max_userip_connections = 200
            passdb {
              driver = passwd-file
              args = scheme=PLAIN username_format=%u \(usersFile)
            }
            userdb {
              driver = static
              args = uid=\(Self.mailUID) gid=\(Self.mailUID) home=\(root.path)/mail/%u
            }
            namespace inbox {
              inbox = yes
              separator = /
            }
            service imap-login {
              inet_listener imap {
                address = 127.0.0.1
                port = \(imapPort)
              }
              inet_listener imaps {
                address = 127.0.0.1
                port = \(imapsPort)
                ssl = yes
              }
            }
            """
        try config.write(toFile: configFile, atomically: true, encoding: .utf8)
        try ProcessRunner.run(["dovecot", "-c", configFile])
        try await ProcessRunner.waitForPort(imapPort)
        try await ProcessRunner.waitForPort(imapsPort)
        TestCleanup.register { [configFile] in _ = try? ProcessRunner.run(["doveadm", "-c", configFile, "stop"], allowFailure: true) }
    }

    var configFile: String { root.appendingPathComponent("etc/dovecot.conf").path }
    var usersFile: String { root.appendingPathComponent("etc/users").path }

    /// Adds a user (or changes its password); Dovecot rereads the file on the next login.
    func setUser(_ name: String, password: String) throws {
        lock.lock()
        users[name] = password
        let text = users.sorted { $0.key < $1.key }.map { "\($0.key):{PLAIN}\($0.value)::::::\n" }.joined()
        lock.unlock()
        let temp = usersFile + ".tmp"
        try text.write(toFile: temp, atomically: false, encoding: .utf8)
        _ = rename(temp, usersFile)
        try ensureMaildir(name, folder: nil)
        // Dovecot looks at a passwd-file at most once a second; make sure the next login sees this change.
        Thread.sleep(forTimeInterval: 1.1)
    }

    func maildir(_ user: String, folder: String?) -> URL {
        let base = root.appendingPathComponent("mail/\(user)/Maildir")
        guard let folder, folder != "INBOX" else { return base }
        return base.appendingPathComponent(".\(folder)")
    }

    func ensureMaildir(_ user: String, folder: String?) throws {
        let dir = maildir(user, folder: folder)
        for sub in ["cur", "new", "tmp"] {
            try FileManager.default.createDirectory(at: dir.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        try chownTree(root.appendingPathComponent("mail/\(user)"))
    }

    /// Delivers messages the way a local delivery agent does: files in the Maildir's new/.
    func deliver(_ messages: [[UInt8]], to user: String, folder: String? = nil) throws {
        try ensureMaildir(user, folder: folder)
        let dir = maildir(user, folder: folder).appendingPathComponent("new")
        let stamp = Int(Date().timeIntervalSince1970)
        for message in messages {
            // Dovecot gives UIDs in file-name order: a growing, zero-padded counter keeps delivery order.
            lock.lock()
            delivered += 1
            let sequence = delivered
            lock.unlock()
            let name = String(format: "%d.M%09dP%d.mailroom-test,S=%d", stamp, sequence, getpid(), message.count)
            let path = dir.appendingPathComponent(name).path
            guard FileManager.default.createFile(atPath: path, contents: Data(message)) else {
                throw ProcessRunner.Failure(command: "deliver", status: -1, output: "cannot write \(path)")
            }
            _ = chown(path, uid_t(Self.mailUID), gid_t(Self.mailUID))
        }
    }

    /// Deletes the folder with everything in it and creates it again: the server gives it a new UIDVALIDITY.
    func recreateFolder(_ user: String, folder: String) throws {
        try? FileManager.default.removeItem(at: maildir(user, folder: folder))
        try ensureMaildir(user, folder: folder)
    }

    /// Runs doveadm against this instance (e.g. to look at what is left on the server).
    func doveadm(_ arguments: [String]) throws -> String {
        try ProcessRunner.run(["doveadm", "-c", configFile] + arguments)
    }

    /// How many messages the folder holds on the server.
    func messageCount(_ user: String, folder: String = "INBOX") throws -> Int {
        let output = try doveadm(["mailbox", "status", "-u", user, "messages", folder])
        return Int(output.split(separator: "=").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? -1
    }

    func flags(_ user: String, folder: String = "INBOX") throws -> [String] {
        try doveadm(["fetch", "-u", user, "flags", "mailbox", folder, "all"]).split(separator: "\n").map(String.init)
    }

    private func chownTree(_ url: URL) throws {
        _ = chown(url.path, uid_t(Self.mailUID), gid_t(Self.mailUID))
        guard let enumerator = FileManager.default.enumerator(atPath: url.path) else { return }
        for case let item as String in enumerator {
            _ = chown(url.appendingPathComponent(item).path, uid_t(Self.mailUID), gid_t(Self.mailUID))
        }
    }
}

/// Stops what the tests started when the test process exits.
enum TestCleanup {
    nonisolated(unsafe) private static var actions: [@Sendable () -> Void] = []
    private static let lock = NSLock()
    private static let installed: Void = { atexit { TestCleanup.runAll() } }()

    static func register(_ action: @escaping @Sendable () -> Void) {
        _ = installed
        lock.lock()
        actions.append(action)
        lock.unlock()
    }

    static func runAll() {
        lock.lock()
        let all = actions
        actions = []
        lock.unlock()
        for action in all.reversed() { action() }
    }
}
