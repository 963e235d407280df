/// Per-step time limits. Every network wait in ``IMAPClient`` is bounded by one of these so a
/// stuck or malicious server can never hang a mailbox poller.
public struct IMAPTimeouts: Sendable, Equatable {
    /// TCP connect (and, for implicit TLS, nothing else: the handshake counts against `greeting`).
    public var connect: Duration
    /// From connected to the server greeting (includes the TLS handshake for `.tls`).
    public var greeting: Duration
    /// Whole-command limit for ordinary commands (LOGIN, SELECT, SEARCH, STORE, …).
    public var command: Duration
    /// Maximum silence while a `UID FETCH` streams; the fetch itself may take arbitrarily long.
    public var idleData: Duration

    /// Creates a timeout set.
    public init(connect: Duration = .seconds(15), greeting: Duration = .seconds(30), command: Duration = .seconds(60), idleData: Duration = .seconds(120)) {
        self.connect = connect
        self.greeting = greeting
        self.command = command
        self.idleData = idleData
    }

    /// 15 s connect, 30 s greeting, 60 s per command, 120 s of silence during a fetch.
    public static let `default` = IMAPTimeouts()
}
