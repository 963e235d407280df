import IdentityEmulator

/// One mailbox of the demo's mail server, and how a visitor connects it in Mailroom.
struct DemoMailbox: Sendable {
    /// The support address customers write to.
    let address: String
    /// Its first password on the mail server (Basic Auth); nil for a shared mailbox, opened only by delegates.
    let initialPassword: String?
    /// How to connect it, for the terminal: provider and account.
    let howToConnect: String
}

/// The demo's support mailboxes: one per kind of account the article talks about.
enum DemoMailboxes {
    static let all: [DemoMailbox] = [
        DemoMailbox(
            address: "support@contoso.example", initialPassword: "Contoso-support-1",
            howToConnect: "Microsoft Office 365 work account: «Sign in with Microsoft» as Contoso Support"),
        DemoMailbox(
            address: "helpdesk@contoso.example", initialPassword: nil,
            howToConnect: "Microsoft shared mailbox: «Sign in with Microsoft» as its delegate Alex Agent <agent@contoso.example>"),
        DemoMailbox(
            address: "support@fabrikam.example", initialPassword: "Fabrikam-support-1",
            howToConnect: "Microsoft Office 365, another tenant"),
        DemoMailbox(
            address: "mailroom.demo@hotmail.com", initialPassword: "Hotmail-demo-1",
            howToConnect: "Microsoft personal account (hotmail.com)"),
        DemoMailbox(
            address: "mailroom.demo@outlook.com", initialPassword: "Outlook-demo-1",
            howToConnect: "Microsoft personal account (outlook.com)"),
        DemoMailbox(
            address: "mailroom.demo@gmail.com", initialPassword: "Gmail-demo-1",
            howToConnect: "Gmail: «Sign in with Google», or a password (Case 2)"),
        DemoMailbox(
            address: "help@northwind.example", initialPassword: "Northwind-help-1",
            howToConnect: "Other: IMAP/SMTP server with a password (Case 2)"),
    ]

    /// The account the demo's Mailroom sends its notices to admins through (the operator's default server).
    static let relayUser = "mailroom-relay"
    static let relayPassword = "Mailroom-relay-1"

    /// The demo admin, who signs in to Mailroom.
    static let adminEmail = "lead@contoso.example"
    static let adminPassword = "demo-admin-password"
}

extension EmulatorDemoData {
    /// The demo's clients, allowed to redirect to a Mailroom at `port` on loopback.
    static func clients(mailroomPort port: Int) -> [EmulatorClient] {
        let redirects = ["http://127.0.0.1:\(port)/oauth/callback", "http://localhost:\(port)/oauth/callback"]
        return [microsoftClient, googleClient].map { client in
            var client = client
            client.redirectURIs = redirects
            return client
        }
    }
}
