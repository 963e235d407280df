import SASL

/// A command the client asks ``IMAPSessionStateMachine`` to run.
///
/// Typed, so the machine knows what each command means for the session (STARTTLS and authentication
/// change the state and void the capabilities, SELECT opens a mailbox, IDLE and AUTHENTICATE take `+`,
/// a message fetch is streamed) without guessing from a name. Arguments a caller supplies as raw
/// protocol syntax (search criteria, flags) are validated by ``IMAPClient`` before they get here.
enum IMAPCommand: Sendable {
    case capability
    case noop
    case startTLS
    case login(username: String, password: String)
    /// A SASL exchange; the mechanism answers the server's challenges inside the machine.
    case authenticate(any SASLMechanism)
    /// `SELECT`, or `EXAMINE` when `readOnly`; `mailbox` is the wire name (modified UTF-7).
    case select(mailbox: String, readOnly: Bool)
    case uidSearch(criteria: String)
    /// `UID FETCH <set> (UID RFC822.SIZE)`, collected whole.
    case uidFetchSizes(UIDSet)
    /// `UID FETCH <set> (UID RFC822.SIZE INTERNALDATE FLAGS BODY.PEEK[])`, delivered one FETCH at a time.
    case uidFetchMessages(UIDSet)
    /// `UID STORE <set> <item> (<flags>)`, e.g. item `+FLAGS.SILENT`.
    case uidStore(UIDSet, item: String, flags: [String])
    /// `UID EXPUNGE <set>` (RFC 4315; refused locally without UIDPLUS).
    case uidExpunge(UIDSet)
    case expunge
    /// `IDLE` (RFC 2177); the server may stay silent for `renewAfter`, then `DONE` is sent.
    case idle(renewAfter: Duration)
    case logout

    /// The command name for errors and logs; never arguments.
    var name: String {
        switch self {
        case .capability: "CAPABILITY"
        case .noop: "NOOP"
        case .startTLS: "STARTTLS"
        case .login: "LOGIN"
        case .authenticate: "AUTHENTICATE"
        case .select(_, let readOnly): readOnly ? "EXAMINE" : "SELECT"
        case .uidSearch: "UID SEARCH"
        case .uidFetchSizes, .uidFetchMessages: "UID FETCH"
        case .uidStore: "UID STORE"
        case .uidExpunge: "UID EXPUNGE"
        case .expunge: "EXPUNGE"
        case .idle: "IDLE"
        case .logout: "LOGOUT"
        }
    }
}
