import Foundation
import Logging
import MailroomCore
import SASL
import SMTP
import ServiceLifecycle

/// How the outbox behaves; operator configuration.
public struct OutboundSettings: Sendable {
    /// How often the outbox is checked when nothing wakes it.
    public var pollInterval: Duration
    /// The wait after the first temporary failure; it doubles per attempt up to ``maxRetryDelay``.
    public var firstRetryDelay: Duration
    public var maxRetryDelay: Duration
    /// How long temporary failures are retried before the reply is marked failed (default 24 hours).
    public var retryWindow: TimeInterval
    public var trustedCertificatesPEMFile: String?
    /// This node, which claims the replies it sends (nodes sharing a database send each reply once).
    public var node: NodeID
    /// How long a claim lasts: a reply claimed by a node that died is sent by another after this (default 5 min).
    /// It is extended before each attempt, so it needs to outlast one attempt, not a whole lane.
    public var claimTime: Duration

    public init(
        pollInterval: Duration = .seconds(5), firstRetryDelay: Duration = .seconds(60), maxRetryDelay: Duration = .seconds(900),
        retryWindow: TimeInterval = 24 * 3600, trustedCertificatesPEMFile: String? = nil, node: NodeID = .thisProcess,
        claimTime: Duration = .seconds(300)
    ) {
        self.node = node
        self.claimTime = claimTime
        self.pollInterval = pollInterval
        self.firstRetryDelay = firstRetryDelay
        self.maxRetryDelay = maxRetryDelay
        self.retryWindow = retryWindow
        self.trustedCertificatesPEMFile = trustedCertificatesPEMFile
    }

    /// The retry and failure rules these settings configure.
    public var policy: DeliveryPolicy {
        DeliveryPolicy(firstRetryDelay: firstRetryDelay, maxRetryDelay: maxRetryDelay, retryWindow: retryWindow)
    }
}

/// Sends what agents put in the outbox: each reply is sent, or visibly failed — never silently dropped.
///
/// A reply is recorded as sent only after the server's `250` to the message data. A crash after that `250` and
/// before the record is the one window in which a reply can go out twice: the next start sends it again.
public struct OutboundQueue: Service {
    let store: any MailroomStore
    let relay: SMTPRelay?
    let vault: (any SecretVault)?
    let tokens: TokenKeeper?
    let settings: OutboundSettings
    let logger: Logger
    /// The outgoing health of mailboxes that send through their own server (the relay's is the operator's, not theirs).
    let health: HealthRecorder
    private let doorbell = Doorbell()
    /// With nodes sharing a database: this node sends only while its heartbeat is current, because another node
    /// may take over the claims of a node whose heartbeat has expired. nil: a lone node in tests, always current.
    private let leases: LeaseKeeper?

    /// - Parameters:
    ///   - relay: the operator's default server, for mailboxes that fetch only.
    ///   - vault, tokens: open a mailbox's own SMTP password, or renew its OAuth token.
    public init(
        store: any MailroomStore, relay: SMTPRelay?, vault: (any SecretVault)? = nil, tokens: TokenKeeper? = nil,
        settings: OutboundSettings, leases: LeaseKeeper? = nil, logger: Logger
    ) {
        self.leases = leases
        self.store = store
        self.relay = relay
        self.vault = vault
        self.tokens = tokens
        self.settings = settings
        self.logger = logger
        self.health = HealthRecorder(store: store, logger: logger)
        leases?.onChange { [doorbell] in await doorbell.ring() }
    }

    /// Asks for a pass now, e.g. right after an agent sent a reply.
    public func wake() async { await doorbell.ring() }

    public func run() async throws {
        logger.info("Outbound queue started", metadata: ["relay": "\(relay.map { "\($0)" } ?? "none")"])
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await WorkerHeartbeats.shared.beat("outbound", every: self.settings.pollInterval)
                await self.sendDue()
                await self.doorbell.wait(upTo: self.settings.pollInterval)
            }
        }
    }

    /// One pass over the replies that are due.
    public func sendDue(now: Date = Date()) async {
        guard leases?.isCurrent != false else { return }
        let due: [Delivery]
        do {
            due = try await store.claimDueDeliveries(now: now, limit: 50, by: settings.node, for: settings.claimTime)
            EngineMetrics.outboxDue.record(due.count)
        } catch {
            logger.error("Could not read the outbox", metadata: ["error": "\(error)"])
            return
        }
        // One lane per route: a mailbox's replies go out in order, one at a time, and a slow or dead server holds
        // only its own lane (each lane's attempts are bounded by the SMTP timeouts).
        var lanes: [[Delivery]] = []
        var laneOf: [String: Int] = [:]
        for delivery in due {
            let key = delivery.mailbox.map { "mailbox-\($0)" } ?? "relay"
            if let index = laneOf[key] {
                lanes[index].append(delivery)
            } else {
                laneOf[key] = lanes.count
                lanes.append([delivery])
            }
        }
        await withTaskGroup(of: Void.self) { group in
            for lane in lanes {
                group.addTask {
                    for delivery in lane {
                        // A claim that ran out while earlier replies of the lane were tried may be another node's now.
                        guard self.leases?.isCurrent != false,
                              (try? await self.store.renewClaim(delivery: delivery.id, by: self.settings.node, for: self.settings.claimTime)) == true
                        else {
                            self.logger.notice("Reply left to the node that claimed it", metadata: ["delivery": "\(delivery.id)"])
                            continue
                        }
                        let outcome = await self.attempt(delivery, now: now)
                        do {
                            if try await !self.store.record(outcome, delivery: delivery.id, claimedBy: self.settings.node, at: Date()) {
                                self.logger.warning("Another node claimed this reply meanwhile; its record stands", metadata: ["delivery": "\(delivery.id)"])
                            }
                        } catch {
                            // The reply stays queued and is tried again: a possible duplicate, never a loss.
                            self.logger.error("Could not record a delivery", metadata: ["delivery": "\(delivery.id)", "error": "\(error)"])
                        }
                    }
                }
            }
        }
    }

    func attempt(_ delivery: Delivery, now: Date) async -> DeliveryOutcome {
        let started = Date()
        var route: Route?
        let attempt: DeliveryAttempt
        if let raw = try? await store.rawMessage(delivery.messageRowID) {
            var mailbox: Mailbox?
            if let id = delivery.mailbox { mailbox = try? await store.mailbox(id) }
            if let mailbox, let server = mailbox.outgoing {
                route = .own(mailbox, server)
            } else if let relay {
                route = .relay(relay)
            }
            if let route {
                attempt = await send(raw, delivery: delivery, route: route)
            } else {
                attempt = .noRoute(text: "No outgoing server is configured: the operator must set MAILROOM_SMTP_URL.")
            }
        } else {
            attempt = .messageUnreadable
        }
        let decision = settings.policy.decide(attempt, attempts: delivery.attempts, createdAt: delivery.createdAt, now: now)
        EngineMetrics.delivery(decision.outcome)
        switch decision.outcome {
        case .sent: logger.info("Reply sent", metadata: ["ticket": "\(delivery.ticket)", "delivery": "\(delivery.id)"])
        case .failed(let error): logger.notice("Reply refused", metadata: ["ticket": "\(delivery.ticket)", "error": "\(error)"])
        case .retry(let error, _): logger.notice("Reply not sent yet", metadata: ["ticket": "\(delivery.ticket)", "error": "\(error)"])
        }
        if case .own(let mailbox, let server) = route {
            await record(decision.health, mailbox: mailbox, server: server, startedAt: started)
        }
        return decision.outcome
    }

    /// Connects, signs in and sends; reports how far it got, for ``DeliveryPolicy`` to judge.
    private func send(_ raw: [UInt8], delivery: Delivery, route: Route) async -> DeliveryAttempt {
        let client: SMTPClient
        do {
            client = try await SMTPClient.connect(to: route.server(trusting: settings.trustedCertificatesPEMFile), logger: logger)
        } catch {
            return Self.notSignedIn(error)
        }
        do {
            try await signIn(client, route: route)
        } catch {
            await client.close()
            return Self.notSignedIn(error)
        }
        // Signed in: the connection works. What the server says from here on is about this reply, unless the
        // connection itself breaks.
        let result: SMTPSendResult
        do {
            result = try await client.send(raw, from: delivery.envelopeFrom, to: delivery.recipients)
        } catch {
            await client.close()
            let failure = OutgoingFailure(error)
            return .failedAfterSignIn(failure, text: Self.text(of: error))
        }
        await client.quit()
        if result.rejected.isEmpty { return .accepted }
        let refused = result.rejected.map { "\($0.address): \($0.reply.code) \($0.reply.message)" }.joined(separator: "; ")
        return .partlyRefused(accepted: result.accepted, refused: refused)
    }

    /// A failure to connect or sign in, restated for the policy: what it says about the connection, and the
    /// words the ticket shows.
    static func notSignedIn(_ error: any Error) -> DeliveryAttempt {
        switch error {
        case let failure as SignInFailure:
            return .notSignedIn(failure.failure, text: text(of: failure.underlying))
        case let error as SMTPError:
            return .notSignedIn(OutgoingFailure(error), text: text(of: error))
        case let failure as ConnectionFailure:
            return .notSignedIn(OutgoingFailure(failure), text: text(of: failure))
        case is CancellationError:
            return .interrupted(text: "\(error)")
        default:
            return .notSignedIn(OutgoingFailure(kind: .protocolError, serverText: "\(error)", step: "AUTH"), text: "\(error)")
        }
    }

    /// What the ticket shows for a failed attempt: the server's reply with its enhanced code, or what went wrong
    /// on the way; never a credential.
    static func text(of error: any Error) -> String {
        switch error {
        case let error as SMTPError:
            if let reply = error.reply {
                return "\(reply.code)\(reply.enhancedStatusCode.map { " \($0)" } ?? "") \(reply.message)"
            }
            return "\(error)"
        case let failure as ConnectionFailure:
            return "Signing in to send failed: \(failure.serverText ?? "\(failure.kind)")"
        default:
            return "\(error)"
        }
    }

    /// Writes the mailbox's outgoing health after an attempt through its own server.
    private func record(_ effect: DeliveryHealthEffect, mailbox: Mailbox, server: OutgoingServer, startedAt: Date) async {
        switch effect {
        case .works:
            await health.succeeded(mailbox, .outgoing, works: "Sending works (\(server.host):\(server.port)).", startedAt: startedAt)
        case .fails(let failure):
            await health.failed(mailbox, .outgoing, Diagnosis.outgoing(failure, server: server, provider: mailbox.provider), startedAt: startedAt)
        case .unchanged:
            break
        }
    }

    /// Where a reply leaves: the mailbox's own server, or the operator's relay.
    enum Route {
        case own(Mailbox, OutgoingServer)
        case relay(SMTPRelay)

        func server(trusting caFile: String?) -> SMTPServer {
            switch self {
            case .own(_, let server):
                return SMTPServer(server, trusting: caFile)
            case .relay(let relay):
                return SMTPServer(host: relay.host, port: relay.port, security: relay.security, trustedCertificatesPEMFile: caFile)
            }
        }
    }

    /// SMTP AUTH with the route's credential: the relay's, the mailbox's password, or its OAuth token (renewed once if refused).
    private func signIn(_ client: SMTPClient, route: Route) async throws {
        switch route {
        case .relay(let relay):
            if let username = relay.username, let password = relay.password {
                try await client.login(username: username, password: password)
            }
        case .own(let mailbox, let server):
            switch server.authentication {
            case .password:
                guard let vault, let sealed = try await store.outgoingSecret(mailbox.id) else {
                    throw ConnectionFailure(kind: .credentialUnreadable, serverText: "No SMTP password is stored for this mailbox.", step: "credentials")
                }
                let password: String
                do {
                    password = try vault.open(sealed, for: .password(of: mailbox.email))
                } catch {
                    throw SignInFailure(underlying: error, failure: OutgoingFailure(kind: .credentialUnreadable, serverText: "\(error)", step: "credentials"))
                }
                try await client.login(username: server.username, password: password)
            case .oauth2:
                guard let tokens else {
                    throw ConnectionFailure(kind: .tokenRefused(.configuration), serverText: "OAuth is not configured here.", step: "credentials")
                }
                try await tokens.signIn(
                    mailbox.id,
                    isRefusal: { ($0 as? SMTPError).map { $0.kind == .authenticationFailed && !$0.isTransient } ?? false },
                    refusedAgain: { error in
                        SignInFailure(underlying: error, failure: (error as? SMTPError).map { OutgoingFailure($0, freshToken: true) }
                            ?? OutgoingFailure(kind: .freshTokenRejected, serverText: "\(error)", step: "AUTH"))
                    },
                    attempt: { token in try await client.authenticate(mechanism: await client.oauthMechanism(user: server.username, token: token)) })
            }
        }
    }
}

/// A sign-in failure with what it means for the connection attached; the reply's fate still follows `underlying`.
struct SignInFailure: Error {
    let underlying: any Error
    let failure: OutgoingFailure
}

extension OutgoingFailure {
    /// Restates an SMTP client error before or during sign-in in the terms Diagnosis judges. It only translates;
    /// what a reply code means is decided in ``Diagnosis/outgoing(_:server:provider:)``.
    init(_ error: SMTPError, freshToken: Bool = false) {
        let kind: Kind = switch error.kind {
        case .connectionFailed, .connectionClosed: .network
        case .timeout: .timeout
        case .tlsFailed: .tls(TLSProblem(error.tlsFault))
        case .encryptionRequired: .encryptionRequired
        case .authenticationFailed: freshToken ? .freshTokenRejected : .authenticationRejected
        case .unsupported where error.command == "AUTH": .authenticationNotOffered
        case .commandFailed, .unsupported, .messageTooLarge: .commandFailed
        case .protocolViolation, .lineTooLong: .protocolError
        }
        self.init(
            kind: kind, replyCode: error.code, enhancedStatus: error.enhancedStatusCode.map { "\($0)" },
            serverText: Self.text(of: error), step: error.command ?? "connect")
    }

    /// The server's words and what the client and the SASL mechanism learned; never a command argument or secret.
    private static func text(of error: SMTPError) -> String? {
        let parts = [error.reply.map(\.message), error.detail, error.saslDetail.map { "SASL: \($0)" }].compactMap { $0 }.filter { !$0.isEmpty }
        return parts.isEmpty ? nil : parts.joined(separator: " — ")
    }
}
