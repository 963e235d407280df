// mailroom-demo: the whole product on real local servers, for trying it in five minutes.
//
//   sudo .build/debug/mailroom-demo [--port 8080] [--emulator-port 9400] [--keep] [--postgres]
//
// Starts, on loopback and with all state in one folder: a Dovecot (IMAP and submission; password users
// and OAuth tokens checked at the emulator), the identity emulator standing in for Microsoft and Google
// (its page holds the demo controls), a stand-in for the Internet that receives what is sent, customers
// writing in every few seconds, and `mailroom serve` wired to all of them. Ctrl-C stops everything it
// started, by process id, and removes the folder unless --keep is given. `scripts/demo` installs what
// is missing, builds, and runs this.
import ArgumentParser
import Foundation
import IdentityEmulator
import Logging
import ServiceLifecycle

@main
struct MailroomDemo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailroom-demo",
        abstract: "Run Mailroom with a local mail server, the identity emulator and customers writing in.")

    @Option(help: "Port of Mailroom's web pages.")
    var port = 8080

    @Option(name: .customLong("emulator-port"), help: "Port of the identity emulator (Microsoft and Google, and the demo controls).")
    var emulatorPort = 9400

    @Option(help: ArgumentHelp("Folder for all the demo's state; a new temporary one by default. It must not exist yet.", valueName: "path"))
    var folder: String?

    @Flag(help: "Keep the folder when the demo stops (to look at the logs, the database and the mailboxes).")
    var keep = false

    @Option(name: .customLong("mail-every"), help: ArgumentHelp("Seconds between customer messages.", valueName: "seconds"))
    var mailEvery: Double = 8

    @Option(name: .customLong("mail-to"), help: ArgumentHelp("Only these mailboxes get customer mail (repeatable); all demo mailboxes by default.", valueName: "address"))
    var mailTo: [String] = []

    @Option(name: .customLong("poll-interval"), help: ArgumentHelp("Seconds between Mailroom's fetches of a mailbox.", valueName: "seconds"))
    var pollInterval: Double = 5

    @Flag(help: "Store Mailroom's data in a private PostgreSQL instead of SQLite.")
    var postgres = false

    @Option(help: ArgumentHelp("The mailroom executable; by default the one next to this program.", valueName: "path"))
    var mailroom: String?

    @Flag(help: "Print only the welcome text, not each message as it comes and goes.")
    var quiet = false

    func validate() throws {
        for (name, value) in [("--port", port), ("--emulator-port", emulatorPort)] where !(1...65535).contains(value) {
            throw ValidationError("\(name) must be between 1 and 65535.")
        }
        guard port != emulatorPort else { throw ValidationError("--port and --emulator-port must differ.") }
        guard mailEvery >= 0.2, mailEvery <= 3600 else { throw ValidationError("--mail-every must be between 0.2 and 3600 seconds.") }
        guard pollInterval >= 1, pollInterval <= 3600 else { throw ValidationError("--poll-interval must be between 1 and 3600 seconds.") }
        let known = Set(DemoMailboxes.all.map(\.address))
        for address in mailTo where !known.contains(address.lowercased()) {
            throw ValidationError("«\(address)» is not a demo mailbox. Choose from: \(DemoMailboxes.all.map(\.address).joined(separator: ", ")).")
        }
        if let folder, FileManager.default.fileExists(atPath: folder) {
            throw ValidationError("\(folder) exists already. Name a new folder, or leave --folder out for a temporary one.")
        }
    }

    func run() async throws {
        guard getuid() == 0 else {
            Self.fail("The demo starts its own Dovecot, which must start as root. Run it with sudo, or use scripts/demo.")
        }
        let mailroomBinary = try mailroom ?? Self.besideThisProgram("mailroom")
        guard FileManager.default.isExecutableFile(atPath: mailroomBinary) else {
            Self.fail("\(mailroomBinary) is not there. Build first: swift build --product mailroom")
        }
        let root = try makeFolder()
        let demo = Demo(
            root: root, mailroomBinary: mailroomBinary, port: port, emulatorPort: emulatorPort,
            mailEvery: .milliseconds(Int64(mailEvery * 1000)), pollInterval: pollInterval,
            mailboxes: mailTo.isEmpty ? DemoMailboxes.all.map(\.address) : mailTo.map { $0.lowercased() },
            usePostgres: postgres, log: DemoLog(quiet: quiet), keep: keep)
        var logger = Logger(label: "mailroom-demo")
        logger.logLevel = .error
        let group = ServiceGroup(configuration: .init(services: [demo], gracefulShutdownSignals: [.sigint, .sigterm], logger: logger))
        var failure: (any Error)?
        do {
            try await group.run()
        } catch {
            failure = error
        }
        await demo.tearDown()
        if keep {
            DemoLog.write("The demo stopped. Its folder is kept: \(root)\n")
        } else {
            try? FileManager.default.removeItem(atPath: root)
            DemoLog.write("The demo stopped and removed \(root).\n")
        }
        if let failure { Self.fail("\(failure)") }
    }

    /// Says what went wrong on standard error and exits 1: a failure at run time is not a usage error, so
    /// ArgumentParser's usage text would only hide it.
    private static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("mailroom-demo: \(message)\n".utf8))
        Foundation.exit(1)
    }

    private func makeFolder() throws -> String {
        if let folder {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            return URL(fileURLWithPath: folder).standardizedFileURL.path
        }
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(base)/mailroom-demo-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { Self.fail("Could not create a folder in \(base).") }
        let path = String(cString: made)
        // Dovecot's mail processes run as another user and must reach the mailboxes inside.
        chmod(path, 0o755)
        return path
    }

    /// A program built next to this one (`swift build` puts all products in one folder).
    private static func besideThisProgram(_ name: String) throws -> String {
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent(name).path
    }
}
