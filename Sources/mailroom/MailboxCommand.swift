import ArgumentParser
import Engine
import Foundation
import MailroomCore
import Storage
import Web

/// `mailroom mailbox …`: the operator's way to connect support mailboxes.
struct MailboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailbox", abstract: "Add, list and remove support mailboxes.",
        subcommands: [Add.self, List.self, Remove.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Connect a support mailbox (the password is read from standard input).")
        @OptionGroup var global: GlobalOptions
        @Option(help: "The address customers write to.") var email: String
        @Option(help: "The name customers see.") var name: String
        @Option(help: "microsoft, google or other.") var provider: String = "other"
        @Option(help: "incoming, outgoing or both.") var usage: String = "incoming"
        @Option(name: .customLong("imap-host")) var imapHost: String?
        @Option(name: .customLong("imap-port")) var imapPort: Int?
        @Option(name: .customLong("imap-security"), help: "tls, starttls or none.") var imapSecurity: String?
        @Option(help: "Sign-in name (defaults to the email).") var username: String?
        @Flag(name: .customLong("password-stdin"), help: "Read the password from the first line of standard input.") var passwordStdin = false
        @Option(help: "The folder to fetch.") var folder: String?
        @Flag(name: .customLong("delete-after-fetch"), help: "Delete each email from the server once its ticket is stored.") var deleteAfterFetch = false
        @Option(name: .customLong("smtp-host"), help: "The mailbox's own SMTP server (usage outgoing or both).") var smtpHost: String?
        @Option(name: .customLong("smtp-port")) var smtpPort: Int?
        @Option(name: .customLong("smtp-security"), help: "starttls, tls or none.") var smtpSecurity: String?
        @Flag(help: "Print the new mailbox as JSON.") var json = false

        func run() async throws {
            let logger = global.makeLogger()
            // The same provider servers as `serve`, so a Microsoft or Gmail mailbox added here connects where the web form's would.
            let servers = try ProviderServersConfiguration.servers(ProcessInfo.processInfo.environment)
            var password: String?
            if passwordStdin {
                guard let line = readLine(strippingNewline: true) else {
                    throw ValidationError("--password-stdin was given but standard input was empty. Pipe the password in, e.g. `printf '%s\\n' \"$PASSWORD\" | mailroom mailbox add …`.")
                }
                password = line
            }
            let request = APIResources.NewMailboxRequest(
                email: email, name: name, provider: provider, usage: usage, imapHost: imapHost, imapPort: imapPort,
                imapSecurity: imapSecurity, username: username, password: password, folder: folder, deleteAfterFetch: deleteAfterFetch,
                smtpHost: smtpHost, smtpPort: smtpPort, smtpSecurity: smtpSecurity)
            let vault = try await global.loadVault(logger: logger)
            let json = json
            let (mailbox, health) = try await global.withStore(logger: logger) { store in
                do {
                    let mailbox = try await MailboxService(store: store, vault: vault, servers: servers).add(try MailboxDraft(request), password: request.password)
                    return (mailbox, try await store.health(mailbox.id))
                } catch let error as MailroomCore.ValidationError {
                    throw ArgumentParser.ValidationError(error.problems.map(\.message).joined(separator: "\n"))
                } catch StoreError.conflict(let message) {
                    throw ArgumentParser.ValidationError(message)
                }
            }
            if json {
                print(try Output.json(APIResources.MailboxResource(mailbox, health: health)))
            } else {
                print("Added mailbox \(mailbox.id): \(mailbox.email) (\(mailbox.usage.displayName)). A running `mailroom serve` fetches it at its next poll.")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List support mailboxes with their connection state.")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Print JSON, as the API does.") var json = false

        func run() async throws {
            let resources = try await global.withStore(logger: global.makeLogger()) { store in
                var resources: [APIResources.MailboxResource] = []
                for mailbox in try await store.mailboxes() {
                    resources.append(APIResources.MailboxResource(mailbox, health: try await store.health(mailbox.id)))
                }
                return resources
            }
            if json {
                print(try Output.json(["mailboxes": resources]))
                return
            }
            if resources.isEmpty {
                print("No mailboxes yet. Add one with `mailroom mailbox add`.")
                return
            }
            var rows = [["ID", "EMAIL", "USAGE", "SERVER", "INCOMING", "LAST FETCH"]]
            for mailbox in resources {
                let health = mailbox.health["incoming"]
                rows.append([
                    String(mailbox.id), mailbox.email, mailbox.usage,
                    mailbox.imap.map { "\($0.host):\($0.port) (\($0.security))" } ?? "-",
                    health?.label ?? "-", health?.lastSuccessAt.map(Output.date) ?? "never",
                ])
            }
            print(Output.table(rows))
            for mailbox in resources {
                if let health = mailbox.health["incoming"], let cause = health.cause, health.state != "connected" {
                    print("\nMailbox \(mailbox.id) (\(mailbox.email)): \(health.label). \(cause)")
                    if let fix = health.fix { print("  What to do: \(fix)") }
                    if let detail = health.detail { print("  Server said: \(detail)") }
                }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a mailbox and its credentials. Its tickets stay.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The mailbox id, as `mailroom mailbox list` shows it.") var id: Int64

        func run() async throws {
            let id = id
            let removed = try await global.withStore(logger: global.makeLogger()) { store in try await store.removeMailbox(MailboxID(id)) }
            guard removed else { throw ValidationError("There is no mailbox \(id). See `mailroom mailbox list`.") }
            print("Removed mailbox \(id). Its tickets are kept.")
        }
    }
}
