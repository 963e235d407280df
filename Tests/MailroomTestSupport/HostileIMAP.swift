/// Misbehaving IMAP servers on loopback (plain TCP), for the faults a real Dovecot will not produce on demand: a
/// backend outage, a dropped connection, a server that hangs. Every connection gets the same behaviour; the server
/// counts connections, so a test can tell the client really came.
public enum HostileIMAP {
    public enum Behaviour: Sendable {
        /// Greets, then answers every LOGIN/AUTHENTICATE with `NO [UNAVAILABLE] Backend down` (RFC 5530).
        case unavailable
        /// Greets, then hangs up as soon as the client sends its first command (a connection dropped mid-session).
        case dropAfterGreeting
        /// Accepts the connection and never sends a byte (not even the greeting).
        case silent
        /// Reads what the client sends first (a TLS ClientHello) and hangs up, as a load balancer or a restarting
        /// server does mid-handshake.
        case hangUpAfterClientHello
    }

    public static let greeting = "* OK [CAPABILITY IMAP4rev1 ID] Hostile IMAP ready.\r\n"

    /// A server behaving so; its ``ScriptedLineServer/lines`` keep tags and commands but mask LOGIN's and
    /// AUTHENTICATE's arguments (`A1 LOGIN …`).
    public static func server(_ behaviour: Behaviour) throws -> ScriptedLineServer {
        let opening: ScriptedLineServer.Opening = switch behaviour {
        case .unavailable, .dropAfterGreeting: .greeting(greeting)
        case .silent: .quiet
        case .hangUpAfterClientHello: .hangUpOnFirstBytes
        }
        return try ScriptedLineServer(opening: opening, recording: masked) { line in
            let (tag, command) = parse(line)
            switch behaviour {
            case .silent, .hangUpAfterClientHello: return []
            case .dropAfterGreeting: return [.close]
            case .unavailable:
                switch command {
                case "LOGIN", "AUTHENTICATE": return [.send("\(tag) NO [UNAVAILABLE] Backend down\r\n")]
                case "CAPABILITY": return [.send("* CAPABILITY IMAP4rev1 ID\r\n\(tag) OK CAPABILITY completed\r\n")]
                case "LOGOUT": return [.send("* BYE Hostile IMAP logging out\r\n\(tag) OK LOGOUT completed\r\n"), .close]
                default: return [.send("\(tag) BAD Not here\r\n")]
                }
            }
        }
    }

    private static func parse(_ line: String) -> (tag: String, command: String) {
        let parts = line.split(separator: " ", maxSplits: 2).map(String.init)
        return (parts.first ?? "*", parts.count > 1 ? parts[1].uppercased() : "")
    }

    private static func masked(_ line: String) -> String {
        let (tag, command) = parse(line)
        return command == "LOGIN" || command == "AUTHENTICATE" ? "\(tag) \(command) …" : line
    }
}
