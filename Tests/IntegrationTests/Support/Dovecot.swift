import Foundation

/// A private Dovecot on loopback for one test process: passwd-file users, Maildirs in a temporary
/// directory, plain/STARTTLS and implicit-TLS listeners, a certificate from a test CA, and an auth
/// listener Postfix uses for SMTP AUTH (`smtpd_sasl_type = dovecot`).
///
/// Dovecot's own submission service (package `dovecot-submissiond`) listens too, with STARTTLS and
/// implicit TLS: SMTP AUTH straight against Dovecot's auth, without Postfix in between. It can
/// authenticate but not deliver: its relay is a loopback port where nothing listens (see the config).
///
/// With an `introspectionURL`, XOAUTH2 and OAUTHBEARER are offered too: two oauth2 passdbs ask that
/// RFC 7662 endpoint about the token. The first accepts it when the answer's `username` is the login
/// name (the owner's own mailbox); the second when its `shared_mailbox` is (a delegate's token opening
/// a shared mailbox). Dovecot sends `X-Dovecot-Auth-Service` (`imap` or `smtp`) with each request, so
/// the endpoint can refuse one protocol per mailbox. Passwords (PLAIN/LOGIN) keep using the passwd-file.
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
        var mechanisms = "plain login"
        var passwordMechanisms = ""
        var oauthPassdbs = ""
        if let introspectionURL {
            mechanisms = "plain login xoauth2 oauthbearer"
            passwordMechanisms = "\n  mechanisms = plain login"
            for attribute in ["username", "shared_mailbox"] {
                let argsFile = root.appendingPathComponent("etc/oauth2-\(attribute).conf.ext").path
                try Self.oauth2Settings(introspectionURL: introspectionURL, usernameAttribute: attribute)
                    .write(toFile: argsFile, atomically: true, encoding: .utf8)
                oauthPassdbs += """

                    passdb {
                      driver = oauth2
                      mechanisms = xoauth2 oauthbearer
                      args = \(argsFile)
                    }
                    """
            }
        }
        let config = """
            instance_name = mailroom-test-\(imapPort)
            base_dir = \(root.path)/run
            state_dir = \(root.path)/state
            protocols = imap submission lmtp
            postmaster_address = postmaster@localhost
            listen = 127.0.0.1
            log_path = \(root.path)/log/dovecot.log
            ssl = yes
            ssl_cert = <\(tls)/server.pem
            ssl_key = <\(tls)/server.key
            ssl_min_protocol = TLSv1.2
            disable_plaintext_auth = no
            auth_mechanisms = \(mechanisms)
            auth_verbose = yes
            first_valid_uid = 1000
            mail_location = maildir:\(root.path)/mail/%u/Maildir
            mail_max_userip_connections = 200
            # submission_relay_host is required. Nothing listens on this port: the tests only authenticate.
            # Dovecot 2.3.19 connects to the relay right after a successful AUTH (to learn its capabilities),
            # so a session sees `235 2.7.0 Logged in.` and then `421 4.4.0 … Failed to connect to relay server`
            # and is closed. Sending mail through this service would need a real relay here.
            submission_relay_host = 127.0.0.1
            submission_relay_port = \(submissionRelayPort)
            passdb {
              driver = passwd-file\(passwordMechanisms)
              args = scheme=PLAIN username_format=%u \(usersFile)
            }\(oauthPassdbs)
            # allow_all_users: a lookup without a login (doveadm) names no mechanism, so every passdb above,
            # each limited to its mechanisms, is skipped ("All password databases were skipped"); a static
            # userdb would otherwise ask the passdbs whether the user exists and fail.
            userdb {
              driver = static
              args = allow_all_users=yes uid=\(Self.mailUID) gid=\(Self.mailUID) home=\(root.path)/mail/%u
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
            service submission-login {
              inet_listener submission {
                address = 127.0.0.1
                port = \(submissionPort)
              }
              inet_listener submissions {
                address = 127.0.0.1
                port = \(submissionsPort)
                ssl = yes
              }
            }
            service lmtp {
              inet_listener lmtp {
                address = 127.0.0.1
                port = \(lmtpPort)
              }
            }
            service auth {
              inet_listener auth-client-postfix {
                address = 127.0.0.1
                port = \(authPort)
              }
            }
            """
        try config.write(toFile: configFile, atomically: true, encoding: .utf8)
        try ProcessRunner.run(["dovecot", "-c", configFile])
        try await ProcessRunner.waitForPort(imapPort)
        try await ProcessRunner.waitForPort(imapsPort)
        try await ProcessRunner.waitForPort(authPort)
        try await ProcessRunner.waitForPort(submissionPort)
        try await ProcessRunner.waitForPort(submissionsPort)
        try await ProcessRunner.waitForPort(lmtpPort)
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

    /// One oauth2 passdb's settings file (Dovecot 2.3.19 `dovecot-oauth2.conf.ext` keys).
    static func oauth2Settings(introspectionURL: String, usernameAttribute: String) -> String {
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
