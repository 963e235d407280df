import ArgumentParser
import Engine
import Foundation
import Hummingbird
import Logging
import MailroomCore
import OAuth
import ServiceLifecycle
import SMTP
import Storage
import Web

/// `mailroom serve`: web UI, JSON API and the inbound workers in one process.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the web UI, the JSON API and the mail workers.")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "Port to listen on.")
    var port: Int = 8080

    @Option(help: ArgumentHelp("Seconds between fetches of a mailbox (env MAILROOM_POLL_INTERVAL).", valueName: "seconds"))
    var pollInterval: Double?

    @Option(help: ArgumentHelp("Extra CA certificates (PEM) to trust for mail servers, beside the system's (env MAILROOM_CA_FILE).", valueName: "path"))
    var caFile: String?

    @Option(name: .customLong("smtp-receiver-port"), help: ArgumentHelp("Port of the SMTP receiver for «Outgoing only» mailboxes; off when not given (env MAILROOM_SMTP_RECEIVER_PORT).", valueName: "port"))
    var smtpReceiverPort: Int?

    /// `--smtp-receiver-port`, else `MAILROOM_SMTP_RECEIVER_PORT`; nil when neither is set. A value that is not a
    /// port stops serve with what was wrong, rather than leaving the receiver silently off.
    func receiverPort() throws -> Int? {
        if let smtpReceiverPort {
            guard (1...65535).contains(smtpReceiverPort) else { throw ValidationError("--smtp-receiver-port must be between 1 and 65535.") }
            return smtpReceiverPort
        }
        guard let text = ProcessInfo.processInfo.environment["MAILROOM_SMTP_RECEIVER_PORT"], !text.isEmpty else { return nil }
        guard let port = Int(text), (1...65535).contains(port) else {
            throw ValidationError("MAILROOM_SMTP_RECEIVER_PORT must be a port between 1 and 65535, not «\(text)».")
        }
        return port
    }

    /// `--ca-file`, else `MAILROOM_CA_FILE`.
    var trustedCAFile: String? { caFile ?? ProcessInfo.processInfo.environment["MAILROOM_CA_FILE"].flatMap { $0.isEmpty ? nil : $0 } }

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be between 1 and 65535.") }
        _ = try receiverPort()
        if let pollInterval, !(1...86_400).contains(pollInterval) {
            throw ValidationError("--poll-interval must be between 1 and 86400 seconds.")
        }
        if let caFile = trustedCAFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw ValidationError("The CA file «\(caFile)» cannot be read.")
        }
    }

    func run() async throws {
        let logger = global.makeLogger()
        // MAILROOM_SMTP_RECEIVER_*: checked before anything opens or listens; a bad value stops serve and says which.
        let receiverConfiguration: SMTPReceiverConfiguration?
        do {
            receiverConfiguration = try receiverPort().map {
                try SMTPReceiverConfiguration(environment: ProcessInfo.processInfo.environment, host: host, port: $0)
            }
        } catch {
            throw ValidationError("\(error)")
        }
        let servers = try ProviderServersConfiguration.servers(ProcessInfo.processInfo.environment)
        for (variable, url) in servers.overrides {
            logger.info("Provider server changed", metadata: ["variable": "\(variable)", "server": "\(url)"])
        }
        let url = try global.databaseURL()
        try global.warnIfDatabaseExposed(logger: logger)
        // Before the server's own connection opens: a wrong or missing key stops here, with nothing left open.
        // All configuration is read before the database opens: a mistake stops here, with nothing left open.
        let environment = ProcessInfo.processInfo.environment
        let entries = try OAuthConfiguration.entries(environment)
        var relay: SMTPRelay?
        if let url = environment["MAILROOM_SMTP_URL"], !url.isEmpty {
            do {
                relay = try SMTPRelay.parse(url)
            } catch {
                throw ValidationError(error.description)
            }
        }
        let node = NodeName.current(environment, database: url)
        let leaseSettings: LeaseKeeper.Settings
        do {
            leaseSettings = try LeaseKeeper.Settings(node: node, environment: environment)
        } catch {
            throw ValidationError("\(error)")
        }
        var outboundSettings = try Self.outboundSettings(environment, caFile: trustedCAFile)
        outboundSettings.node = node
        let settings = try Self.syncSettings(environment, pollInterval: pollInterval, caFile: trustedCAFile)
        let healthCheckInterval = try Self.number(environment, "MAILROOM_HEALTH_CHECK_INTERVAL", default: 30, within: 1...3600)
        let alertAfter = try Self.number(environment, "MAILROOM_ALERT_AFTER", default: 3600, within: 1...604_800)
        let publicURL = try Self.publicURL(environment, host: host, port: port)
        let vault = try await global.loadVault(logger: logger)
        let serveLock: ServeLock?
        do {
            if case .sqlite(let path) = url { serveLock = try ServeLock(database: path) } else { serveLock = nil }
        } catch {
            throw ValidationError("\(error)")
        }
        let database = try await Database.open(url, logger: logger)
        let store = SQLStore(database: database)
        // Pending sign-ins live in the database, so the provider's callback may reach any node.
        let providers = OAuthProviders(entries: entries, states: SignInStates(store: StoredSignIns(records: store, vault: vault)))
        if !providers.configured.isEmpty {
            logger.info("OAuth sign-in enabled", metadata: ["providers": "\(entries.map(\.key.rawValue))"])
        }
        let tokens = TokenKeeper(store: store, vault: vault, providers: providers, logger: logger)
        // Which mailboxes this node fetches: one lease per mailbox in the database (all of them on a lone node).
        let leases = LeaseKeeper(store: store, settings: leaseSettings, logger: logger)
        let inbound = InboundSync(store: store, vault: vault, tokens: tokens, settings: settings, leases: leases, logger: logger)
        let outbound = OutboundQueue(store: store, relay: relay, vault: vault, tokens: tokens, settings: outboundSettings, leases: leases, logger: logger)
        let notifier = AdminNotifier(
            store: store, relay: relay,
            settings: AdminNotifier.Settings(
                interval: .seconds(healthCheckInterval), transientAlertAfter: alertAfter,
                publicURL: publicURL, from: environment["MAILROOM_NOTIFY_FROM"].flatMap { $0.isEmpty ? nil : $0 }),
            trustedCertificatesPEMFile: trustedCAFile, logger: logger)
        let router: Router<AppRequestContext>
        do {
            var dependencies = WebDependencies(
                store: store, mailboxes: MailboxService(store: store, vault: vault, servers: servers), inbound: inbound,
                oauth: providers.configured.isEmpty ? nil : providers, publicURL: publicURL,
                connectionTest: ConnectionTest(settings: settings, logger: logger),
                replies: ReplyService(store: store, outbound: outbound), notifier: notifier, servers: servers)
            dependencies.metrics = PrometheusMetrics.bootstrap(token: environment["MAILROOM_METRICS_TOKEN"].flatMap { $0.isEmpty ? nil : $0 })
            dependencies.nodeID = node.rawValue
            router = try buildRouter(dependencies)
        } catch {
            await database.close()
            throw error
        }
        var app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "Mailroom"),
            onServerRunning: { channel in
                logger.notice("Mailroom is running", metadata: ["url": "http://\(host):\(channel.localAddress?.port ?? port)", "database": "\(url)"])
            },
            logger: logger
        )
        app.beforeServerStarts {
            let applied = try await store.migrate()
            if !applied.isEmpty { logger.info("Database migrated", metadata: ["versions": "\(applied)"]) }
            if try await store.userCount() == 0 {
                logger.notice("No one can sign in yet. Create the first admin: mailroom admin create --email you@example.com")
            }
        }
        // The lease keeper comes before the inbound worker: services stop in reverse, so fetching stops before the
        // leases are handed back.
        var workers: [any Service] = [
            AfterMigration(store: store, worker: leases, first: {
                // No other server runs on this file, so a live heartbeat under this name is a crashed predecessor's:
                // ended before the first heartbeat, which then takes the name and its leases at once.
                if serveLock != nil { try await store.expireNode(node) }
            }),
            AfterMigration(store: store, worker: inbound), AfterMigration(store: store, worker: outbound), AfterMigration(store: store, worker: notifier),
        ]
        if let receiverConfiguration {
            let intake = MailIntake(store: store, logger: logger)
            let receiver = SMTPReceiver(
                configuration: receiverConfiguration,
                acceptsRecipient: { try await intake.accepts($0) }, store: { try await intake.store($0) }, logger: logger)
            workers.append(AfterMigration(store: store, worker: ReceiverService(receiver: receiver)))
        } else if let unused = SMTPReceiverConfiguration.environmentVariables.first(where: { !(environment[$0] ?? "").isEmpty }) {
            logger.warning("\(unused) is set but the SMTP receiver is off; set --smtp-receiver-port or MAILROOM_SMTP_RECEIVER_PORT to start it.")
        }
        // Order matters: services stop in reverse, so the database outlives the workers that use it.
        let group = ServiceGroup(configuration: .init(
            services: [database] + workers + [app],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        defer { withExtendedLifetime(serveLock) {} }
        do {
            try await group.run()
        } catch where "\(error)".contains("Address already in use") {
            throw ValidationError("Port \(port) on \(host) is already in use. Stop the other program or choose another with --port.")
        }
    }
}

extension Serve {
    /// A number from the environment within `range`, else `fallback`. A malformed or out-of-range one stops serve
    /// and names the variable, rather than falling back to the default, spinning (a delay of nothing) or
    /// overflowing a duration.
    static func number(
        _ environment: [String: String], _ name: String, default fallback: Double, within range: ClosedRange<Double>, unit: String = "seconds"
    ) throws -> Double {
        guard let text = environment[name], !text.isEmpty else { return fallback }
        guard let value = Double(text), range.contains(value) else {
            func plain(_ bound: Double) -> String { bound == bound.rounded() ? String(Int(bound)) : String(bound) }
            throw ValidationError("\(name) must be a number of \(unit) from \(plain(range.lowerBound)) to \(plain(range.upperBound)); got «\(text)».")
        }
        return value
    }

    /// `MAILROOM_PUBLIC_URL` (``PublicURL``), else this server's own address.
    static func publicURL(_ environment: [String: String], host: String, port: Int) throws -> String {
        guard let text = environment["MAILROOM_PUBLIC_URL"], !text.isEmpty else {
            return "http://\(host == "0.0.0.0" ? "localhost" : host):\(port)"
        }
        do {
            return try PublicURL.normalized(text)
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// How mail is fetched: `--poll-interval`, else `MAILROOM_POLL_INTERVAL` (60 s), `MAILROOM_PUSH` (`on`: a session
    /// per mailbox in IDLE; `off`: polling), `MAILROOM_RECONCILE_INTERVAL` (900 s: a full pass however quiet the
    /// server), `MAILROOM_IDLE_RENEWAL` (1500 s).
    static func syncSettings(_ environment: [String: String], pollInterval: Double?, caFile: String?) throws -> SyncSettings {
        let push: Bool
        switch environment["MAILROOM_PUSH"]?.lowercased() ?? "" {
        case "", "on", "true", "1", "yes": push = true
        case "off", "false", "0", "no": push = false
        case let other: throw ValidationError("MAILROOM_PUSH must be on or off; got «\(other)».")
        }
        func seconds(_ name: String, default fallback: Double, within range: ClosedRange<Double>) throws -> Duration {
            .seconds(try number(environment, name, default: fallback, within: range))
        }
        return SyncSettings(
            pollInterval: try pollInterval.map { .seconds($0) } ?? seconds("MAILROOM_POLL_INTERVAL", default: 60, within: 1...86_400),
            trustedCertificatesPEMFile: caFile, push: push,
            idleRenewal: try seconds("MAILROOM_IDLE_RENEWAL", default: 1500, within: 1...1500),
            reconcileInterval: try seconds("MAILROOM_RECONCILE_INTERVAL", default: 900, within: 1...86_400))
    }

    /// `MAILROOM_OUTBOX_RETRY_HOURS` (24), `MAILROOM_OUTBOX_FIRST_RETRY_DELAY` (60 s), `MAILROOM_OUTBOX_MAX_RETRY_DELAY` (900 s).
    static func outboundSettings(_ environment: [String: String], caFile: String?) throws -> OutboundSettings {
        func delay(_ name: String, default fallback: Double) throws -> Duration {
            .seconds(try number(environment, name, default: fallback, within: 0.1...86_400))
        }
        return OutboundSettings(
            firstRetryDelay: try delay("MAILROOM_OUTBOX_FIRST_RETRY_DELAY", default: 60),
            maxRetryDelay: try delay("MAILROOM_OUTBOX_MAX_RETRY_DELAY", default: 900),
            retryWindow: try number(environment, "MAILROOM_OUTBOX_RETRY_HOURS", default: 24, within: 0.01...720, unit: "hours") * 3600,
            trustedCertificatesPEMFile: caFile)
    }
}

/// The SMTP receiver as a service: it stops listening on graceful shutdown.
struct ReceiverService: Service {
    let receiver: SMTPReceiver
    func run() async throws {
        try await cancelWhenGracefulShutdown { try await receiver.run() }
    }
}

/// Starts a worker only once the schema exists (the web server migrates before it listens; this only reads the
/// migrations table then).
struct AfterMigration: Service {
    let store: SQLStore
    let worker: any Service
    /// Runs once the schema is current, before the worker starts.
    var first: @Sendable () async throws -> Void = {}

    func run() async throws {
        try await store.migrate()
        try await first()
        try await worker.run()
    }
}
