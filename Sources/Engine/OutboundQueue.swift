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

    public init(
        pollInterval: Duration = .seconds(5), firstRetryDelay: Duration = .seconds(60), maxRetryDelay: Duration = .seconds(900),
        retryWindow: TimeInterval = 24 * 3600, trustedCertificatesPEMFile: String? = nil
    ) {
        self.pollInterval = pollInterval
        self.firstRetryDelay = firstRetryDelay
        self.maxRetryDelay = maxRetryDelay
        self.retryWindow = retryWindow
        self.trustedCertificatesPEMFile = trustedCertificatesPEMFile
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

    /// - Parameters:
    ///   - relay: the operator's default server, for mailboxes that fetch only.
    ///   - vault, tokens: open a mailbox's own SMTP password, or renew its OAuth token.
    public init(
        store: any MailroomStore, relay: SMTPRelay?, vault: (any SecretVault)? = nil, tokens: TokenKeeper? = nil,
        settings: OutboundSettings, logger: Logger
    ) {
        self.store = store
        self.relay = relay
        self.vault = vault
        self.tokens = tokens
        self.settings = settings
        self.logger = logger
        self.health = HealthRecorder(store: store, logger: logger)
    }

    /// Asks for a pass now, e.g. right after an agent sent a reply.
    public func wake() async { await doorbell.ring() }

    public func run() async throws {
        logger.info("Outbound queue started", metadata: ["relay": "\(relay.map { "\($0)" } ?? "none")"])
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.sendDue()
                await self.doorbell.wait(upTo: self.settings.pollInterval)
            }
        }
    }

    /// One pass over the replies that are due.
    public func sendDue(now: Date = Date()) async {
        let due: [Delivery]
        do {
            due = try await store.dueDeliveries(now: now, limit: 50)
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
                        let outcome = await self.attempt(delivery, now: now)
                        do {
                            try await self.store.record(outcome, delivery: delivery.id, at: Date())
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
        guard let raw = try? await store.rawMessage(delivery.messageRowID) else {
            return .failed(error: "The reply's stored message could not be read.")
        }
        var mailbox: Mailbox?
        if let id = delivery.mailbox { mailbox = try? await store.mailbox(id) }
        let route: Route
        if let mailbox, let server = mailbox.outgoing {
            route = .own(mailbox, server)
        } else if let relay {
            route = .relay(relay)
        } else {
            return retryOrFail(delivery, error: "No outgoing server is configured: the operator must set MAILROOM_SMTP_URL.", now: now)
        }
        let started = Date()
        let (outcome, observed) = await send(raw, delivery: delivery, route: route, now: now)
        if case .own(let mailbox, let server) = route {
            await record(observed, mailbox: mailbox, server: server, startedAt: started)
        }
        return outcome
    }

    /// What an attempt showed about the route's connection, apart from what became of the reply.
    enum Observation {
        /// Connected and signed in (whatever the server then said to this reply).
        case worked
        case failed(OutgoingFailure)
        /// Nothing learned (e.g. the pass was cancelled).
        case unknown
    }

    /// Connects, signs in and sends; returns what becomes of the reply and what was learned about the connection.
    private func send(_ raw: [UInt8], delivery: Delivery, route: Route, now: Date) async -> (DeliveryOutcome, Observation) {
        let client: SMTPClient
        do {
            client = try await SMTPClient.connect(to: route.server(trusting: settings.trustedCertificatesPEMFile), logger: logger)
        } catch {
            return (outcome(of: error, delivery: delivery, now: now), .failed(OutgoingFailure(error)))
        }
        do {
            try await signIn(client, route: route)
        } catch {
            await client.close()
            return (outcome(of: error, delivery: delivery, now: now), Self.observation(signInError: error))
        }
        // Signed in: the connection works. What the server says from here on is about this reply, unless the
        // connection itself breaks.
        let result: SMTPSendResult
        do {
            result = try await client.send(raw, from: delivery.envelopeFrom, to: delivery.recipients)
        } catch {
            await client.close()
            let failure = Self.breaksConnection(error) ? OutgoingFailure(error) : OutgoingFailure(refusal: error)
            return (outcome(of: error, delivery: delivery, now: now), Diagnosis.concernsConnection(failure) ? .failed(failure) : .worked)
        }
        await client.quit()
        if result.rejected.isEmpty {
            logger.info("Reply sent", metadata: ["ticket": "\(delivery.ticket)", "delivery": "\(delivery.id)"])
            return (.sent, .worked)
        }
        // Some recipients took it; resending would double it for them. Record the refusals on the ticket.
        let refused = result.rejected.map { "\($0.address): \($0.reply.code) \($0.reply.message)" }.joined(separator: "; ")
        logger.notice("Reply sent, some recipients refused", metadata: ["ticket": "\(delivery.ticket)", "refused": "\(refused)"])
        return (.failed(error: "Delivered to \(result.accepted.joined(separator: ", ")), refused for \(refused)"), .worked)
    }

    /// What becomes of the reply after `error`: a permanent refusal fails it; anything else (a refused sign-in
    /// included: the admin fixes that) waits and is retried.
    private func outcome(of error: any Error, delivery: Delivery, now: Date) -> DeliveryOutcome {
        switch error {
        case let failure as SignInFailure:
            return outcome(of: failure.underlying, delivery: delivery, now: now)
        case let error as SMTPError:
            let text = Self.describe(error)
            if error.isPermanent && error.kind != .authenticationFailed {
                logger.notice("Reply refused", metadata: ["ticket": "\(delivery.ticket)", "error": "\(text)"])
                return .failed(error: text)
            }
            logger.notice("Reply not sent yet", metadata: ["ticket": "\(delivery.ticket)", "error": "\(text)"])
            return retryOrFail(delivery, error: text, now: now)
        case let failure as ConnectionFailure:
            return retryOrFail(delivery, error: "Signing in to send failed: \(failure.serverText ?? "\(failure.kind)")", now: now)
        default:
            return retryOrFail(delivery, error: "\(error)", now: now)
        }
    }

    /// Writes the mailbox's outgoing health after an attempt through its own server.
    private func record(_ observed: Observation, mailbox: Mailbox, server: OutgoingServer, startedAt: Date) async {
        switch observed {
        case .worked:
            await health.succeeded(mailbox, .outgoing, works: "Sending works (\(server.host):\(server.port)).", startedAt: startedAt)
        case .failed(let failure):
            await health.failed(mailbox, .outgoing, Diagnosis.outgoing(failure, server: server, provider: mailbox.provider), startedAt: startedAt)
        case .unknown:
            break
        }
    }

    /// What a failed sign-in says about the connection: the server's refusal, the provider's refusal to renew the
    /// token, or Mailroom's own stored credential.
    static func observation(signInError error: any Error) -> Observation {
        switch error {
        case let failure as SignInFailure: .failed(failure.failure)
        case let error as SMTPError: .failed(OutgoingFailure(error))
        case let failure as ConnectionFailure: .failed(OutgoingFailure(failure))
        case is CancellationError: .unknown
        default: .failed(OutgoingFailure(kind: .protocolError, serverText: "\(error)", step: "AUTH"))
        }
    }

    /// Errors after sign-in that mean the connection broke, rather than that the server refused this reply.
    static func breaksConnection(_ error: any Error) -> Bool {
        guard let error = error as? SMTPError else { return false }
        if error.reply?.code == 421 { return true }
        switch error.kind {
        case .connectionFailed, .connectionClosed, .timeout, .tlsFailed, .protocolViolation, .lineTooLong: return true
        case .authenticationFailed, .commandFailed, .unsupported, .messageTooLarge, .encryptionRequired: return false
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
                // A refused token earns exactly one renewal (protocols.md §6). If the provider refuses that, the
                // token keeper's ConnectionFailure (tokenRefused) says why; if the server refuses the renewed token
                // too, the token is not the problem.
                let access = try await tokens.accessToken(for: mailbox.id)
                let first = await client.oauthMechanism(user: server.username, token: access.token)
                do {
                    try await client.authenticate(mechanism: first)
                } catch {
                    guard error.kind == .authenticationFailed, !error.isTransient else { throw error }
                    let renewed = try await tokens.accessToken(for: mailbox.id, replacing: access.token)
                    do {
                        try await client.authenticate(mechanism: await client.oauthMechanism(user: server.username, token: renewed.token))
                    } catch {
                        guard error.kind == .authenticationFailed, !error.isTransient else { throw error }
                        throw SignInFailure(underlying: error, failure: OutgoingFailure(error, freshToken: true))
                    }
                }
            }
        }
    }

    /// Temporary failures wait longer each time, until the retry window closes.
    func retryOrFail(_ delivery: Delivery, error: String, now: Date) -> DeliveryOutcome {
        let delay = min(settings.firstRetryDelay * (1 << min(delivery.attempts, 16)), settings.maxRetryDelay)
        let next = now.addingTimeInterval(Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18)
        if next.timeIntervalSince(delivery.createdAt) > settings.retryWindow {
            return .failed(error: "Gave up after \(Int(settings.retryWindow / 3600)) hours of temporary failures. Last: \(error)")
        }
        return .retry(error: error, at: next)
    }

    /// The server's reply with its enhanced code, or what went wrong on the way; never a credential.
    static func describe(_ error: SMTPError) -> String {
        if let reply = error.reply {
            return "\(reply.code)\(reply.enhancedStatusCode.map { " \($0)" } ?? "") \(reply.message)"
        }
        return "\(error)"
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

    /// A refusal of the reply itself (MAIL, RCPT, DATA), after a successful sign-in.
    init(refusal error: any Error) {
        guard let error = error as? SMTPError else {
            self.init(kind: .messageRefused, serverText: "\(error)", step: "MAIL")
            return
        }
        self.init(
            kind: .messageRefused, replyCode: error.code, enhancedStatus: error.enhancedStatusCode.map { "\($0)" },
            serverText: Self.text(of: error), step: error.command ?? "MAIL")
    }

    /// The server's words and what the client and the SASL mechanism learned; never a command argument or secret.
    private static func text(of error: SMTPError) -> String? {
        let parts = [error.reply.map(\.message), error.detail, error.saslDetail.map { "SASL: \($0)" }].compactMap { $0 }.filter { !$0.isEmpty }
        return parts.isEmpty ? nil : parts.joined(separator: " — ")
    }
}
