/// A private Dovecot on loopback, as `dovecot.conf` text: the demo's mail server and the tests' are this one
/// configuration, so what the demo shows is what the tests prove.
///
/// Passwords come from a passwd-file (PLAIN and LOGIN). With an introspection URL, XOAUTH2 and OAUTHBEARER
/// are offered too, through two oauth2 passdbs asking that RFC 7662 endpoint about the token: the first
/// accepts it when the answer's `username` is the login name (the owner's own mailbox), the second when its
/// `shared_mailbox` is (a delegate's token opening a shared mailbox). Dovecot sends `X-Dovecot-Auth-Service`
/// (`imap` or `smtp`) with each request, so the endpoint can refuse one protocol per mailbox. Mail lives in
/// Maildirs under `root/mail`, all owned by one mail user.
public struct DovecotConfiguration: Sendable {
    public var instanceName: String
    /// Holds `run`, `state`, `log`, `mail` and `etc`; the TLS files are named separately.
    public var root: String
    public var usersFile: String
    public var certificateFile: String
    public var keyFile: String
    /// Owner of every Maildir: Dovecot's static userdb runs all mail processes as this id.
    public var mailUID: Int
    public var imapPort: Int
    public var imapsPort: Int
    public var submissionPort: Int
    public var submissionsPort: Int
    /// Where submission hands accepted mail (`submission_relay_host` is required by Dovecot).
    public var submissionRelayPort: Int
    /// LMTP on loopback, for an MTA delivering into these Maildirs; none when nil.
    public var lmtpPort: Int?
    /// Dovecot's auth service for Postfix's SMTP AUTH (`smtpd_sasl_type = dovecot`); none when nil.
    public var authPort: Int?
    /// The RFC 7662 endpoint for OAuth tokens, e.g. `http://id:secret@127.0.0.1:9400/introspect`; passwords only when nil.
    public var introspectionURL: String?
    public var maxConnectionsPerUser: Int
    /// Dovecot's per-IP auth penalty (up to 15 s before every sign-in from an address that recently failed one). A
    /// test suite signs in from 127.0.0.1 with many deliberately wrong passwords, and must not slow every later test.
    public var authPenalty: Bool

    public init(
        instanceName: String, root: String, usersFile: String, certificateFile: String, keyFile: String, mailUID: Int,
        imapPort: Int, imapsPort: Int, submissionPort: Int, submissionsPort: Int, submissionRelayPort: Int,
        lmtpPort: Int? = nil, authPort: Int? = nil, introspectionURL: String? = nil, maxConnectionsPerUser: Int = 100,
        authPenalty: Bool = true
    ) {
        self.authPenalty = authPenalty
        self.instanceName = instanceName
        self.root = root
        self.usersFile = usersFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.mailUID = mailUID
        self.imapPort = imapPort
        self.imapsPort = imapsPort
        self.submissionPort = submissionPort
        self.submissionsPort = submissionsPort
        self.submissionRelayPort = submissionRelayPort
        self.lmtpPort = lmtpPort
        self.authPort = authPort
        self.introspectionURL = introspectionURL
        self.maxConnectionsPerUser = maxConnectionsPerUser
    }

    /// The ports Dovecot listens on once started, with a name for messages.
    public var listeners: [(port: Int, name: String)] {
        [(imapPort, "IMAP"), (imapsPort, "IMAPS"), (submissionPort, "submission"), (submissionsPort, "submissions")]
            + (lmtpPort.map { [($0, "LMTP")] } ?? []) + (authPort.map { [($0, "auth")] } ?? [])
    }

    /// The oauth2 passdbs' settings files (path → text) the configuration refers to; write them beside it.
    public var oauth2Files: [(path: String, text: String)] {
        guard let introspectionURL else { return [] }
        return ["username", "shared_mailbox"].map { attribute in
            (oauth2File(attribute), """
                introspection_mode = post
                introspection_url = \(introspectionURL)
                username_attribute = \(attribute)
                username_format = %Lu
                active_attribute = active
                active_value = true
                send_auth_headers = yes
                timeout_msecs = 10000

                """)
        }
    }

    private func oauth2File(_ attribute: String) -> String { "\(root)/etc/oauth2-\(attribute).conf.ext" }

    /// `dovecot.conf` (Dovecot 2.3).
    public var text: String {
        let oauth = introspectionURL != nil
        let oauthPassdbs = oauth ? """

            passdb {
              driver = oauth2
              mechanisms = xoauth2 oauthbearer
              args = \(oauth2File("username"))
            }
            passdb {
              driver = oauth2
              mechanisms = xoauth2 oauthbearer
              args = \(oauth2File("shared_mailbox"))
            }
            """ : ""
        let lmtp = lmtpPort.map { port in
            """

            service lmtp {
              inet_listener lmtp {
                address = 127.0.0.1
                port = \(port)
              }
            }
            """
        } ?? ""
        let auth = authPort.map { port in
            """

            service auth {
              inet_listener auth-client-postfix {
                address = 127.0.0.1
                port = \(port)
              }
            }
            """
        } ?? ""
        let penalty = authPenalty ? "" : """

            service anvil {
              unix_listener anvil-auth-penalty {
                mode = 0
              }
            }
            """
        return """
            instance_name = \(instanceName)
            base_dir = \(root)/run
            state_dir = \(root)/state
            protocols = imap submission\(lmtpPort == nil ? "" : " lmtp")
            postmaster_address = postmaster@localhost
            listen = 127.0.0.1
            log_path = \(root)/log/dovecot.log
            ssl = yes
            ssl_cert = <\(certificateFile)
            ssl_key = <\(keyFile)
            ssl_min_protocol = TLSv1.2
            disable_plaintext_auth = no
            auth_mechanisms = plain login\(oauth ? " xoauth2 oauthbearer" : "")
            auth_verbose = yes
            first_valid_uid = 1000
            mail_location = maildir:\(root)/mail/%u/Maildir
            # IDLE notices mail dropped into a Maildir through inotify; this is the fallback where inotify is
            # unavailable (some containers), so push stays push there too.
            mailbox_idle_check_interval = 1 secs
            mail_max_userip_connections = \(maxConnectionsPerUser)
            # Submission hands accepted mail on to this port. Dovecot 2.3.19 connects to it right after a
            # successful AUTH (to learn its capabilities): a session whose relay is down gets
            # `421 4.4.0 … Failed to connect to relay server` and is closed.
            submission_relay_host = 127.0.0.1
            submission_relay_port = \(submissionRelayPort)
            passdb {
              driver = passwd-file\(oauth ? "\n  mechanisms = plain login" : "")
              args = scheme=PLAIN username_format=%u \(usersFile)
            }\(oauthPassdbs)
            # allow_all_users: a lookup without a login (doveadm) names no mechanism, so every passdb above,
            # each limited to its mechanisms, is skipped ("All password databases were skipped"); a static
            # userdb would otherwise ask the passdbs whether the user exists and fail.
            userdb {
              driver = static
              args = allow_all_users=yes uid=\(mailUID) gid=\(mailUID) home=\(root)/mail/%u
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
            }\(lmtp)\(auth)\(penalty)

            """
    }
}
