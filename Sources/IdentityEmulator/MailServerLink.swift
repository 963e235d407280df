/// The mail server behind the emulator in the demo, as the emulator's control page sees it.
///
/// At a real provider one password opens both the sign-in page and the mailbox: changing it kills the
/// OAuth tokens *and* Basic Auth. The demo's Dovecot keeps its own passwords, so the emulator tells it
/// when «Change password» is pressed, and shows the current ones so a visitor can type them into
/// Mailroom (Case 1 and Case 2 of the article need a password-based mailbox).
public protocol EmulatorMailServer: Sendable {
    /// Mailboxes that have a password on the mail server, with that password, in display order.
    func passwords() async -> [(mailbox: String, password: String)]
    /// Gives `mailbox` a new password on the mail server; unknown mailboxes are ignored.
    func changePassword(mailbox: String) async throws
}

extension IdentityEmulator {
    /// Connects the demo's mail server, so password changes reach it and the control page lists its passwords.
    public func attach(mailServer: any EmulatorMailServer) {
        self.mailServer = mailServer
    }
}
