import Foundation
import LocalMailServers
import MailroomTestSupport

/// A private Dovecot on loopback for one test process: passwd-file users, Maildirs in a temporary
/// directory, plain/STARTTLS and implicit-TLS listeners, a certificate from a test CA, and an auth
/// listener Postfix uses for SMTP AUTH (`smtpd_sasl_type = dovecot`).
///
/// Dovecot's own submission service (package `dovecot-submissiond`) listens too, with STARTTLS and
/// implicit TLS: SMTP AUTH straight against Dovecot's auth, without Postfix in between. It can
/// authenticate but not deliver: its relay is a loopback port where nothing listens (see the config).
///
/// With an `introspectionURL`, XOAUTH2 and OAUTHBEARER are offered too (see ``DovecotConfiguration``, the
/// configuration the demo's mail server uses as well). Passwords (PLAIN/LOGIN) keep using the passwd-file.
final class Dovecot: @unchecked Sendable {
    let root: URL
    let imapPort: Int
    let imapsPort: Int
    /// Dovecot's auth service on loopback, speaking the auth-client protocol Postfix uses for SMTP AUTH.
    let authPort: Int
    /// Dovecot's submission service (RFC 6409): plain, upgraded with STARTTLS; AUTH is offered after TLS too.
    let submissionPort: Int
    /// Dovecot's submission service with implicit TLS (RFC 8314 "submissions").
    let submissionsPort: Int
    /// Where the submission service relays mail: a free loopback port nothing listens on.
    let submissionRelayPort: Int
    /// LMTP on loopback: how the test Postfix delivers mail into these Maildirs.
    let lmtpPort: Int
    /// The RFC 7662 introspection endpoint for OAuth tokens, when OAuth is on.
    let introspectionURL: String?
    /// The test CA that signed the server certificate; Mailroom is told to trust it.
    let caFile: String
    static let mailUID = 5000
    private let lock = NSLock()
    private var users: [String: String] = [:]
    private var delivered = 0

    /// - Parameter introspectionURL: e.g. `http://id:secret@127.0.0.1:PORT/introspect`; `nil` = passwords only.
    init(introspectionURL: String? = nil) async throws {
        root = try TestPaths.temporaryDirectory("dovecot")
        imapPort = try ProcessRunner.freePort()
        imapsPort = try ProcessRunner.freePort()
        authPort = try ProcessRunner.freePort()
        submissionPort = try ProcessRunner.freePort()
        submissionsPort = try ProcessRunner.freePort()
        submissionRelayPort = try ProcessRunner.freePort()
        lmtpPort = try ProcessRunner.freePort()
        self.introspectionURL = introspectionURL
        let fm = FileManager.default
        for sub in ["etc", "run", "state", "log", "tls", "mail"] {
            try fm.createDirectory(at: root.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root.path)
        // The mail user may create any user's Maildir itself (OAuth logins name users no passwd-file lists).
        _ = chown(root.appendingPathComponent("mail").path, uid_t(Self.mailUID), gid_t(Self.mailUID))
        let certificates = try LoopbackCertificates.make(in: root.appendingPathComponent("tls").path, caName: "Mailroom Test CA")
        caFile = certificates.caFile
        try "".write(toFile: usersFile, atomically: true, encoding: .utf8)
        // The submission relay is a port where nothing listens: these tests only authenticate, so a session
        // sees `235 2.7.0 Logged in.` and then `421 4.4.0 … Failed to connect to relay server`.
        let configuration = DovecotConfiguration(
            instanceName: "mailroom-test-\(imapPort)", root: root.path, usersFile: usersFile,
            certificateFile: certificates.certificateFile, keyFile: certificates.keyFile, mailUID: Self.mailUID,
            imapPort: imapPort, imapsPort: imapsPort, submissionPort: submissionPort, submissionsPort: submissionsPort,
            submissionRelayPort: submissionRelayPort, lmtpPort: lmtpPort, authPort: authPort, introspectionURL: introspectionURL,
            maxConnectionsPerUser: 200, authPenalty: false)
        for file in configuration.oauth2Files {
            try file.text.write(toFile: file.path, atomically: true, encoding: .utf8)
        }
        try configuration.text.write(toFile: configFile, atomically: true, encoding: .utf8)
        try ProcessRunner.run(["dovecot", "-c", configFile])
        for listener in configuration.listeners {
            try await LoopbackPort.waitUntilListening(listener.port, name: "Dovecot \(listener.name)")
        }
        TestCleanup.register { [configFile] in _ = try? ProcessRunner.run(["doveadm", "-c", configFile, "stop"], allowFailure: true) }
    }

    var configFile: String { root.appendingPathComponent("etc/dovecot.conf").path }
    var logFile: String { root.appendingPathComponent("log/dovecot.log").path }
    /// The server certificate and key (signed by ``caFile``; names `localhost` and `127.0.0.1`), for Postfix too.
    var certificateFile: String { root.appendingPathComponent("tls/server.pem").path }
    var keyFile: String { root.appendingPathComponent("tls/server.key").path }

    /// What Dovecot logged so far (look here when a login fails unexpectedly).
    func log() -> String {
        (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
    }

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
