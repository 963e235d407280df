/// How the IMAP connection is protected. Chosen explicitly by the operator per mailbox.
public enum IMAPSecurity: String, Sendable, Codable, CaseIterable {
    /// Implicit TLS from the first byte (port 993).
    case tls
    /// Plain TCP upgraded with `STARTTLS` before authenticating (port 143). Fails if the upgrade fails.
    case starttls
    /// No encryption at all. Only for loopback/test servers.
    case none
}
