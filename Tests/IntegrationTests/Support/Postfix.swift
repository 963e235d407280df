import Foundation

/// A private Postfix on loopback for one test process, authenticating SMTP clients through a
/// ``Dovecot``'s auth service (`smtpd_sasl_type = dovecot` over TCP).
///
/// Everything lives under a temporary directory: its own `config_directory`, `queue_directory` and
/// `data_directory`; logging goes to a file through `maillog_file` (so no syslog daemon is needed).
/// Two listeners: submission with STARTTLS (AUTH only after TLS) and submissions with implicit TLS,
/// both using the Dovecot test CA's server certificate.
///
/// How it starts, and what it took (Postfix 3.7, Debian 12):
/// - `postfix -c <dir> start` as root. Root may name any config directory: `alternate_config_directories`
///   (or `multi_instance_directories`) in the default `/etc/postfix/main.cf` is only checked for the
///   set-gid commands (`postdrop`, `postqueue`, `sendmail -C`) run by other users, so none is needed —
///   and with Debian's "No configuration" choice `/etc/postfix/main.cf` does not even exist.
/// - `postfix start` runs `postfix check`, which runs `post-install create-missing`: it creates the queue
///   subdirectories with the right owners. `postfix set-permissions` is NOT run: it would also touch the
///   system-wide set-gid binaries. The `data_directory` must be owned by `mail_owner` (master.lock and
///   the TLS session cache live there), so we chown it ourselves.
/// - `maillog_file` must start with one of `maillog_file_prefixes` (default `/var, /dev/stdout`), or every
///   command dies at once with no output anywhere (the fatal goes to the log it could not open). We set
///   the prefix to our directory, and master.cf needs the `postlog` service.
/// - No service is chrooted (`chroot = n` in every master.cf line): a chroot would need copies of
///   /etc files inside the queue directory.
/// - Postfix reads the TLS key as root at start-up, so the Dovecot key (mode 0600, root) works as is.
final class Postfix: @unchecked Sendable {
    let root: URL
    /// Submission with STARTTLS; AUTH is offered only after TLS (`smtpd_tls_auth_only = yes`).
    let submissionPort: Int
    /// Submissions: implicit TLS from the first byte (`smtpd_tls_wrappermode = yes`; note: not "wrappedmode" — Postfix ignores unknown `-o` names with only a warning).
    let submissionsPort: Int
    /// The CA that signed the server certificate (the Dovecot test CA).
    let caFile: String
    let dovecot: Dovecot

    /// Mail for this domain is delivered into Dovecot (user = the full address).
    static let customerDomain = "customer.example"
    /// Refused with `550 5.1.1` at RCPT time.
    static let refusedRecipient = "nobody@customer.example"

    init(dovecot: Dovecot) async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/postfix") else {
            throw ProcessRunner.Failure(command: "find postfix", status: -1,
                                        output: "Postfix is not installed: DEBIAN_FRONTEND=noninteractive apt-get install -y postfix")
        }
        self.dovecot = dovecot
        root = try TestPaths.temporaryDirectory("postfix")
        submissionPort = try ProcessRunner.freePort()
        submissionsPort = try ProcessRunner.freePort()
        caFile = dovecot.caFile
        let fm = FileManager.default
        for sub in ["etc", "queue", "data", "log"] {
            try fm.createDirectory(at: root.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root.path)
        try ProcessRunner.run(["chown", "postfix", root.appendingPathComponent("data").path])

        let main = """
            compatibility_level = 3.6
            config_directory = \(configDirectory)
            queue_directory = \(root.path)/queue
            data_directory = \(root.path)/data
            mail_owner = postfix
            setgid_group = postdrop
            syslog_name = postfix-mailroom-\(submissionPort)
            maillog_file = \(logFile)
            maillog_file_prefixes = \(root.path)
            inet_interfaces = 127.0.0.1
            inet_protocols = ipv4
            myhostname = localhost
            mydomain = localhost
            myorigin = localhost
            mydestination =
            mynetworks = 127.0.0.1/32
            relay_domains =
            local_recipient_maps =
            alias_maps =
            alias_database =
            biff = no
            smtputf8_enable = yes

            # SMTP AUTH through Dovecot's auth service (its inet_listener on loopback).
            smtpd_sasl_type = dovecot
            smtpd_sasl_path = inet:127.0.0.1:\(dovecot.authPort)
            smtpd_sasl_auth_enable = yes
            smtpd_sasl_security_options = noanonymous
            smtpd_sasl_tls_security_options = noanonymous
            smtpd_relay_restrictions = permit_sasl_authenticated, reject
            smtpd_recipient_restrictions = check_recipient_access texthash:\(configDirectory)/recipient_access, permit_sasl_authenticated, reject

            # TLS with the Dovecot test CA's server certificate (CN=localhost, SAN localhost and 127.0.0.1).
            smtpd_tls_cert_file = \(dovecot.certificateFile)
            smtpd_tls_key_file = \(dovecot.keyFile)
            smtpd_tls_security_level = may
            smtpd_tls_auth_only = yes
            smtpd_tls_loglevel = 1

            # Delivery: mail for the customers' test domain goes into the test Dovecot over LMTP; anything else
            # ends in the error transport (nothing leaves this machine).
            virtual_mailbox_domains = \(Self.customerDomain)
            virtual_transport = lmtp:inet:127.0.0.1:\(dovecot.lmtpPort)
            default_transport = error:mailroom test Postfix delivers only to \(Self.customerDomain)
            """
        let master = """
            127.0.0.1:\(submissionPort) inet n - n - - smtpd
              -o syslog_name=postfix-mailroom-\(submissionPort)/submission
            127.0.0.1:\(submissionsPort) inet n - n - - smtpd
              -o syslog_name=postfix-mailroom-\(submissionPort)/submissions
              -o smtpd_tls_wrappermode=yes
            pickup    unix  n       -       n       60      1       pickup
            cleanup   unix  n       -       n       -       0       cleanup
            qmgr      unix  n       -       n       300     1       qmgr
            tlsmgr    unix  -       -       n       1000?   1       tlsmgr
            rewrite   unix  -       -       n       -       -       trivial-rewrite
            bounce    unix  -       -       n       -       0       bounce
            defer     unix  -       -       n       -       0       bounce
            trace     unix  -       -       n       -       0       bounce
            verify    unix  -       -       n       -       1       verify
            flush     unix  n       -       n       1000?   0       flush
            proxymap  unix  -       -       n       -       -       proxymap
            proxywrite unix -       -       n       -       1       proxymap
            smtp      unix  -       -       n       -       -       smtp
            relay     unix  -       -       n       -       -       smtp
            showq     unix  n       -       n       -       -       showq
            error     unix  -       -       n       -       -       error
            retry     unix  -       -       n       -       -       error
            discard   unix  -       -       n       -       -       discard
            lmtp      unix  -       -       n       -       -       lmtp
            anvil     unix  -       -       n       -       1       anvil
            scache    unix  -       -       n       -       1       scache
            postlog   unix-dgram n  -       n       -       1       postlogd

            """
        try main.write(toFile: "\(configDirectory)/main.cf", atomically: true, encoding: .utf8)
        // A recipient the server refuses for good at RCPT time, as a mailbox that does not exist would be.
        try "\(Self.refusedRecipient) 550 5.1.1 <\(Self.refusedRecipient)>: Recipient address rejected: User unknown in virtual mailbox table\n"
            .write(toFile: "\(configDirectory)/recipient_access", atomically: true, encoding: .utf8)
        try master.write(toFile: "\(configDirectory)/master.cf", atomically: true, encoding: .utf8)

        let configDirectory = configDirectory
        do {
            try ProcessRunner.run(["/usr/sbin/postfix", "-c", configDirectory, "check"])
            try ProcessRunner.run(["/usr/sbin/postfix", "-c", configDirectory, "start"])
        } catch {
            throw ProcessRunner.Failure(command: "postfix -c \(configDirectory) start", status: -1, output: "\(error)\n\(log())")
        }
        TestCleanup.register { _ = try? ProcessRunner.run(["/usr/sbin/postfix", "-c", configDirectory, "stop"], allowFailure: true) }
        try await ProcessRunner.waitForPort(submissionPort)
        try await ProcessRunner.waitForPort(submissionsPort)
    }

    var configDirectory: String { root.appendingPathComponent("etc").path }

    /// Stops the instance (an outage, as far as Mailroom can tell); ``start()`` brings it back with its queue.
    func stop() throws {
        try ProcessRunner.run(["/usr/sbin/postfix", "-c", configDirectory, "stop"])
    }

    func start() async throws {
        try ProcessRunner.run(["/usr/sbin/postfix", "-c", configDirectory, "start"])
        try await ProcessRunner.waitForPort(submissionPort)
    }
    var logFile: String { root.appendingPathComponent("log/postfix.log").path }

    /// What Postfix logged so far (smtpd's view of each session, SASL failures, TLS errors).
    func log() -> String {
        (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
    }
}
