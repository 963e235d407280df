/// The one rule for a mail server password an admin types, wherever it is typed (new mailbox, API, Case 2).
public enum MailboxPassword {
    /// What is wrong with `password`, or nil. A line break or NUL would end the IMAP or SMTP command that carries
    /// it, so such a password could never sign in — and would let the typist inject a command.
    /// - Parameter account: whose password it is, named in the message when it is missing.
    public static func problem(_ password: String, account: String?) -> ValidationError.Problem? {
        if password.isEmpty {
            let whose = account.map { "the password of «\($0)»" } ?? "the password of the account that signs in"
            return .init(field: "password", message: "Enter \(whose) so Mailroom can sign in to its mail server.")
        }
        if password.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) {
            return .init(field: "password", message: "The password must not contain line breaks.")
        }
        return nil
    }
}
