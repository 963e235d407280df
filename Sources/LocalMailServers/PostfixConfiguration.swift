/// A private Postfix on loopback, as `main.cf`, `master.cf` and a recipient table: an SMTP submission server that
/// authenticates through a Dovecot's auth service (`smtpd_sasl_type = dovecot` over TCP) and delivers one domain
/// into that Dovecot over LMTP. ``start()`` writes the files and starts it.
///
/// Everything lives under `root`: its own `config_directory` (`etc`), `queue_directory`, `data_directory` and a log
/// file through `maillog_file`, so no syslog daemon is needed. Two listeners: submission with STARTTLS (AUTH only
/// after TLS) and submissions with implicit TLS (`smtpd_tls_wrappermode`; Postfix ignores a misspelt `-o` name with
/// only a warning).
///
/// What it took (Postfix 3.7, Debian 12):
/// - `postfix -c <dir> start` as root. Root may name any config directory: `alternate_config_directories` in the
///   default `/etc/postfix/main.cf` is only checked for the set-gid commands run by other users, so none is needed,
///   and with Debian's "No configuration" choice `/etc/postfix/main.cf` does not even exist.
/// - `postfix start` runs `postfix check`, which creates the queue subdirectories with the right owners.
///   `postfix set-permissions` is NOT run: it would also touch the system-wide set-gid binaries. The
///   `data_directory` must be owned by `mail_owner` (master.lock and the TLS session cache live there).
/// - `maillog_file` must start with one of `maillog_file_prefixes`, or every command dies at once with no output
///   anywhere (the fatal goes to the log it could not open); master.cf needs the `postlog` service.
/// - No service is chrooted: a chroot would need copies of /etc files inside the queue directory.
/// - Postfix reads the TLS key as root at start-up, so a key only root can read works as is.
public struct PostfixConfiguration: Sendable {
    public var root: String
    /// Submission with STARTTLS; AUTH is offered only after TLS (`smtpd_tls_auth_only = yes`).
    public var submissionPort: Int
    /// Submissions: implicit TLS from the first byte.
    public var submissionsPort: Int
    public var certificateFile: String
    public var keyFile: String
    /// Dovecot's auth service (its `inet_listener` for Postfix).
    public var dovecotAuthPort: Int
    /// Dovecot's LMTP listener, where mail for ``deliveryDomain`` goes.
    public var dovecotLMTPPort: Int
    /// The one domain delivered (user = the full address); anything else ends in the error transport, so nothing
    /// leaves the machine.
    public var deliveryDomain: String
    /// Refused for good at RCPT time (`550 5.1.1`), as a mailbox that does not exist would be; none when nil.
    public var refusedRecipient: String?

    public init(
        root: String, submissionPort: Int, submissionsPort: Int, certificateFile: String, keyFile: String,
        dovecotAuthPort: Int, dovecotLMTPPort: Int, deliveryDomain: String, refusedRecipient: String? = nil
    ) {
        self.root = root
        self.submissionPort = submissionPort
        self.submissionsPort = submissionsPort
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.dovecotAuthPort = dovecotAuthPort
        self.dovecotLMTPPort = dovecotLMTPPort
        self.deliveryDomain = deliveryDomain
        self.refusedRecipient = refusedRecipient
    }

    public var configDirectory: String { "\(root)/etc" }
    public var logFile: String { "\(root)/log/postfix.log" }

    /// `main.cf`.
    public var mainText: String {
        """
        compatibility_level = 3.6
        config_directory = \(configDirectory)
        queue_directory = \(root)/queue
        data_directory = \(root)/data
        mail_owner = postfix
        setgid_group = postdrop
        syslog_name = postfix-mailroom-\(submissionPort)
        maillog_file = \(logFile)
        maillog_file_prefixes = \(root)
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
        smtpd_sasl_path = inet:127.0.0.1:\(dovecotAuthPort)
        smtpd_sasl_auth_enable = yes
        smtpd_sasl_security_options = noanonymous
        smtpd_sasl_tls_security_options = noanonymous
        smtpd_relay_restrictions = permit_sasl_authenticated, reject
        smtpd_recipient_restrictions = check_recipient_access texthash:\(configDirectory)/recipient_access, permit_sasl_authenticated, reject

        # TLS with the given server certificate.
        smtpd_tls_cert_file = \(certificateFile)
        smtpd_tls_key_file = \(keyFile)
        smtpd_tls_security_level = may
        smtpd_tls_auth_only = yes
        smtpd_tls_loglevel = 1

        # Delivery: mail for the one domain goes into Dovecot over LMTP; anything else ends in the error transport
        # (nothing leaves this machine).
        virtual_mailbox_domains = \(deliveryDomain)
        virtual_transport = lmtp:inet:127.0.0.1:\(dovecotLMTPPort)
        default_transport = error:mailroom test Postfix delivers only to \(deliveryDomain)
        """
    }

    /// `master.cf`.
    public var masterText: String {
        """
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
    }

    /// The `check_recipient_access` table.
    public var recipientAccessText: String {
        guard let refusedRecipient else { return "" }
        return "\(refusedRecipient) 550 5.1.1 <\(refusedRecipient)>: Recipient address rejected: User unknown in virtual mailbox table\n"
    }
}
