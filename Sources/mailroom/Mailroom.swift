import ArgumentParser

/// `mailroom`: the helpdesk email channel. Wiring only; the work lives in the library modules.
@main
struct Mailroom: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailroom",
        abstract: "Turns support mailboxes into tickets.",
        subcommands: [Serve.self, Migrate.self, AdminCommand.self, MailboxCommand.self, TicketsCommand.self]
    )
}
