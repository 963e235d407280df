import ArgumentParser
import Foundation
import MailroomCore
import Storage
import Web

/// `mailroom admin …`: people who sign in to the pages. The first admin can only be made here, on the server.
struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin", abstract: "Create people who sign in, list them, reset a password.",
        subcommands: [Create.self, List.self, ResetPassword.self])

    /// The password from standard input (`--password-stdin`), `MAILROOM_ADMIN_PASSWORD`, or a prompt without echo.
    static func password(fromStdin: Bool) throws -> String {
        if fromStdin {
            guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                throw ValidationError("--password-stdin was given but standard input was empty. Pipe the password in, e.g. `printf '%s\\n' \"$PASSWORD\" | mailroom admin create …`.")
            }
            return line
        }
        if let password = ProcessInfo.processInfo.environment["MAILROOM_ADMIN_PASSWORD"], !password.isEmpty { return password }
        guard isatty(STDIN_FILENO) == 1 else {
            throw ValidationError("Give the password with --password-stdin or MAILROOM_ADMIN_PASSWORD (no terminal to ask on).")
        }
        guard let first = getpass("Password: ").map({ String(cString: $0) }), let second = getpass("Password again: ").map({ String(cString: $0) }) else {
            throw ValidationError("No password was entered.")
        }
        guard first == second else { throw ValidationError("The two passwords differ. Nothing was changed.") }
        return first
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an admin (or, with --role agent, an agent).")
        @OptionGroup var global: GlobalOptions
        @Option(help: "The address they sign in with.") var email: String
        @Option(help: "Their name, shown in the pages.") var name: String = ""
        @Option(help: "admin or agent.") var role: String = "admin"
        @Flag(name: .customLong("password-stdin"), help: "Read the password from the first line of standard input.") var passwordStdin = false

        func run() async throws {
            guard let role = UserRole(rawValue: role) else { throw ValidationError("--role must be admin or agent; got «\(role)».") }
            let password = try AdminCommand.password(fromStdin: passwordStdin)
            let logger = global.makeLogger()
            let user = try await global.withStore(logger: logger) { store in
                try await store.migrate()
                do {
                    return try await Accounts(store: store).create(email: email, name: name, role: role, password: password)
                } catch let error as AccountError {
                    throw ValidationError(error.description)
                }
            }
            print("Created \(user.role.displayName.lowercased()) \(user.email). They can sign in at /signin.")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the people who can sign in.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let users = try await global.withStore(logger: global.makeLogger()) { try await $0.users() }
            if users.isEmpty { print("No one yet. Create the first admin with `mailroom admin create --email you@example.com`.") }
            for user in users { print("\(user.email)\t\(user.role.rawValue)\t\(user.name)") }
        }
    }

    struct ResetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "reset-password", abstract: "Set a new password; signs them out everywhere.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "The address they sign in with.") var email: String
        @Flag(name: .customLong("password-stdin"), help: "Read the password from the first line of standard input.") var passwordStdin = false

        func run() async throws {
            let password = try AdminCommand.password(fromStdin: passwordStdin)
            try await global.withStore(logger: global.makeLogger()) { store in
                do {
                    try await Accounts(store: store).resetPassword(email: email, password: password)
                } catch let error as AccountError {
                    throw ValidationError(error.description)
                }
            }
            print("The password of \(email) was changed.")
        }
    }
}
