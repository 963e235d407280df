import Foundation
import IdentityEmulator
import LocalMailServers
import Logging
import ServiceLifecycle

/// The running demo: starts every part in order, keeps them running until Ctrl-C, and stops exactly
/// what it started.
final class Demo: Service, @unchecked Sendable {
    let root: String
    let mailroomBinary: String
    let port: Int
    let emulatorPort: Int
    let mailEvery: Duration
    let pollInterval: Double
    let mailboxes: [String]
    let usePostgres: Bool
    let log: DemoLog
    let keep: Bool

    /// What must be stopped, guarded because teardown may come from another task than start-up.
    private let lock = NSLock()
    private var mailServer: DemoMailServer?
    private var serve: ChildProcess?
    private var database: DemoPostgres?

    init(
        root: String, mailroomBinary: String, port: Int, emulatorPort: Int, mailEvery: Duration, pollInterval: Double,
        mailboxes: [String], usePostgres: Bool, log: DemoLog, keep: Bool
    ) {
        self.root = root
        self.mailroomBinary = mailroomBinary
        self.port = port
        self.emulatorPort = emulatorPort
        self.mailEvery = mailEvery
        self.pollInterval = pollInterval
        self.mailboxes = mailboxes
        self.usePostgres = usePostgres
        self.log = log
        self.keep = keep
    }

    var mailroomURL: String { "http://127.0.0.1:\(port)" }
    var emulatorURL: String { "http://127.0.0.1:\(emulatorPort)" }

    func run() async throws {
        for (wanted, name) in [(port, "--port"), (emulatorPort, "--emulator-port")] where !LoopbackPort.isFree(wanted) {
            throw DemoFailure("Port \(wanted) on 127.0.0.1 is in use (another demo or program?). Stop it, or choose another with \(name).")
        }
        let ports = DemoMailServer.Ports(
            imap: try LoopbackPort.choose(preferring: 10143), imaps: try LoopbackPort.choose(preferring: 10993),
            submission: try LoopbackPort.choose(preferring: 10587), submissions: try LoopbackPort.choose(preferring: 10465))
        let relayPort = try LoopbackPort.choose(preferring: 10025)
        let mailServer = DemoMailServer(root: "\(root)/dovecot", ports: ports)
        lock.withLock { self.mailServer = mailServer }

        var quietLogger = Logger(label: "mailroom-demo")
        quietLogger.logLevel = .error
        let emulator = IdentityEmulator(
            accounts: EmulatorDemoData.accounts, clients: EmulatorDemoData.clients(mailroomPort: port),
            introspectionCredentials: EmulatorDemoData.introspectionCredentials, baseURL: emulatorURL, logger: quietLogger)
        await emulator.attach(mailServer: mailServer)
        let emulatorApp = emulator.buildApplication(host: "127.0.0.1", port: emulatorPort)
        let world = OutsideWorld(port: relayPort, mailServer: mailServer, log: log, logger: quietLogger)

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await emulatorApp.run() }
            group.addTask { try await cancelWhenGracefulShutdown { try await world.receiver.run() } }
            try await LoopbackPort.waitUntilListening(emulatorPort, name: "The identity emulator", timeout: .seconds(20))
            try await LoopbackPort.waitUntilListening(relayPort, name: "The stand-in for the Internet", timeout: .seconds(20))
            let credentials = EmulatorDemoData.introspectionCredentials
            try await mailServer.start(
                introspectionURL: "http://\(credentials.clientID):\(credentials.secret)@127.0.0.1:\(emulatorPort)/introspect",
                relayPort: relayPort)
            let databaseURL = try await startDatabase()
            let serve = try await startMailroom(database: databaseURL, mailServer: mailServer)
            await printWelcome(ports: ports, database: databaseURL)
            let living = LivingMail(mailServer: mailServer, mailboxes: mailboxes, log: log)
            let every = mailEvery
            group.addTask { await cancelWhenGracefulShutdown { await living.run(every: every) } }
            group.addTask { try await Self.watch(serve) }
            try await group.waitForAll()
        }
    }

    /// Stops what is still running, last started first. Safe to call more than once.
    func tearDown() async {
        let (serve, mailServer, database) = lock.withLock {
            defer {
                self.serve = nil
                self.mailServer = nil
                self.database = nil
            }
            return (self.serve, self.mailServer, self.database)
        }
        await serve?.stop(grace: .seconds(15))
        await mailServer?.stop()
        await database?.stop()
    }

    /// Ends the demo when Mailroom stops by itself (its log says why); stops it at Ctrl-C.
    private static func watch(_ serve: ChildProcess) async throws {
        while serve.isRunning {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
            } catch {
                await serve.stop(grace: .seconds(15))
                return
            }
        }
        let tail = ((try? String(contentsOfFile: serve.logFile, encoding: .utf8)) ?? "").split(separator: "\n").suffix(20).joined(separator: "\n")
        throw DemoFailure("Mailroom stopped by itself. The end of its log (\(serve.logFile)):\n\(tail)")
    }

    private func startDatabase() async throws -> String {
        guard usePostgres else { return "\(root)/mailroom.sqlite" }
        let postgres = DemoPostgres(root: "\(root)/postgres")
        lock.withLock { self.database = postgres }
        return try await postgres.start()
    }

    private func startMailroom(database: String, mailServer: DemoMailServer) async throws -> ChildProcess {
        let ports = mailServer.ports
        let environment = [
            "MAILROOM_DATABASE": database,
            "MAILROOM_KEY_FILE": "\(root)/mailroom.key",
            "MAILROOM_PUBLIC_URL": mailroomURL,
            "MAILROOM_MICROSOFT_CLIENT_ID": EmulatorDemoData.microsoftClient.id,
            "MAILROOM_MICROSOFT_CLIENT_SECRET": EmulatorDemoData.microsoftClient.secret,
            "MAILROOM_MICROSOFT_AUTHORITY": emulatorURL,
            "MAILROOM_GOOGLE_CLIENT_ID": EmulatorDemoData.googleClient.id,
            "MAILROOM_GOOGLE_CLIENT_SECRET": EmulatorDemoData.googleClient.secret,
            "MAILROOM_GOOGLE_DISCOVERY_URL": "\(emulatorURL)/google/.well-known/openid-configuration",
            // «Microsoft» and «Gmail» mailboxes live on the demo's Dovecot, so the form offers its addresses.
            "MAILROOM_MICROSOFT_IMAP_SERVER": "imaps://127.0.0.1:\(ports.imaps)",
            "MAILROOM_MICROSOFT_SMTP_SERVER": "smtp://127.0.0.1:\(ports.submission)",
            "MAILROOM_GOOGLE_IMAP_SERVER": "imaps://127.0.0.1:\(ports.imaps)",
            "MAILROOM_GOOGLE_SMTP_SERVER": "smtp://127.0.0.1:\(ports.submission)",
            // The operator's default outgoing server: notices to admins, replies of «Incoming only» mailboxes.
            "MAILROOM_SMTP_URL": "smtp://\(DemoMailboxes.relayUser):\(DemoMailboxes.relayPassword)@127.0.0.1:\(ports.submission)",
            "MAILROOM_NOTIFY_FROM": "mailroom@contoso.example",
            "MAILROOM_HEALTH_CHECK_INTERVAL": "5",
            // New mail arrives by push at once; a sign-in changed at the demo controls shows within this many seconds.
            "MAILROOM_RECONCILE_INTERVAL": String(max(pollInterval, 10)),
            "MAILROOM_CA_FILE": mailServer.caFile,
            "LOG_LEVEL": "info",
        ]
        let logFile = "\(root)/mailroom.log"
        try ChildProcess.run(
            [mailroomBinary, "admin", "create", "--email", DemoMailboxes.adminEmail, "--name", "Lee Lead", "--password-stdin"],
            input: DemoMailboxes.adminPassword + "\n", environment: environment)
        let serve = try ChildProcess.spawn(
            "mailroom serve",
            [mailroomBinary, "serve", "--host", "127.0.0.1", "--port", String(port), "--poll-interval", String(pollInterval)],
            logFile: logFile, environment: environment)
        lock.withLock { self.serve = serve }
        let deadline = ContinuousClock.now + .seconds(60)
        while !LoopbackPort.accepts(port) {
            guard serve.isRunning else {
                let tail = ((try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "").split(separator: "\n").suffix(20).joined(separator: "\n")
                throw DemoFailure("Mailroom did not start. The end of its log (\(logFile)):\n\(tail)")
            }
            guard ContinuousClock.now < deadline else { throw DemoFailure("Mailroom did not listen on port \(port) within a minute; see \(logFile).") }
            try await Task.sleep(for: .milliseconds(200))
        }
        return serve
    }

    private func printWelcome(ports: DemoMailServer.Ports, database: String) async {
        let passwords = Dictionary(await mailServer?.passwords().map { ($0.mailbox, $0.password) } ?? [], uniquingKeysWith: { a, _ in a })
        let mailboxLines = DemoMailboxes.all.map { mailbox in
            let password = passwords[mailbox.address].map { ", password \($0)" } ?? ""
            return "    \(mailbox.address.padding(toLength: 27, withPad: " ", startingAt: 0)) \(mailbox.howToConnect)\(password)"
        }.joined(separator: "\n")
        // The demo's database URL holds no password (the cluster trusts loopback), so it is printed whole for the CLI.
        let storage = usePostgres ? "PostgreSQL (\(database))" : "SQLite (\(database))"
        DemoLog.write("""

        Mailroom demo is running.

          Open Mailroom     \(mailroomURL)
          Sign in as        \(DemoMailboxes.adminEmail)  password: \(DemoMailboxes.adminPassword)
          Demo controls     \(emulatorURL)/emulator   (the identity emulator, standing in for Microsoft and Google)

          Then: Admin › Channels › Email › New support email › Microsoft Office 365 › «Sign in with Microsoft» › Contoso Support.
          Customers write to these mailboxes every few seconds; tickets appear within seconds of Mailroom's next fetch.
        \(mailboxLines)

          Mail server       Dovecot on 127.0.0.1: IMAP \(ports.imaps) (SSL/TLS) or \(ports.imap) (STARTTLS), SMTP \(ports.submission) (STARTTLS) or \(ports.submissions) (SSL/TLS)
          Storage           \(storage)
          Everything lives in \(root)
          Logs              \(root)/mailroom.log, \(root)/dovecot/log/dovecot.log

        Press Ctrl-C to stop the demo\(keep ? "; its folder is kept (--keep)." : " and remove its folder (--keep keeps it).")


        """)
    }
}
