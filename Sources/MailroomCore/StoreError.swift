/// Storage failures in words an operator can act on. Declared beside the ports, not in Storage, because callers
/// of the ports (the pages, the workers) tell a conflict or an outage apart without knowing which store they hold.
public enum StoreError: Error, Sendable, CustomStringConvertible {
    case unavailable(String)
    case corrupt(String)
    case conflict(String)
    case notFound(String)
    /// The database refused a statement for its own reasons (a deadlock, a full disk, a shutdown).
    case refused(String)
    /// The database refused the values written (a constraint, an encoding, a size): the same values will be refused again.
    case valueRefused(String)

    public var description: String {
        switch self {
        case .unavailable(let message), .corrupt(let message), .conflict(let message), .notFound(let message), .refused(let message), .valueRefused(let message): message
        }
    }
}
