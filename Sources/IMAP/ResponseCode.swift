/// A bracketed response code from a status response, e.g. `[UIDVALIDITY 3857529045]` or the
/// RFC 5530 `[AUTHENTICATIONFAILED]`. These drive decisions (re-auth vs retry vs alert), so the
/// well-known ones are typed; anything else is kept verbatim in ``other(_:)``.
public enum ResponseCode: Sendable, Hashable, CustomStringConvertible {
    // RFC 3501 / 9051
    case alert
    case parse
    case readOnly
    case readWrite
    case tryCreate
    case uidNext(UInt32)
    case uidValidity(UInt32)
    case unseen(UInt32)
    case permanentFlags([String])
    case capability([String])
    // RFC 4315 / RFC 7162
    case appendUID(uidValidity: UInt32, uid: String)
    case copyUID(uidValidity: UInt32, source: String, destination: String)
    case highestModSeq(UInt64)
    case noModSeq
    // RFC 5530
    case unavailable
    case authenticationFailed
    case authorizationFailed
    case expired
    case privacyRequired
    case contactAdmin
    case noPerm
    case inUse
    case expungeIssued
    case corruption
    case serverBug
    case clientBug
    case cannot
    case limit
    case overQuota
    case alreadyExists
    case nonExistent
    /// Any other code, as `NAME` or `NAME arguments`.
    case other(String)

    static let simpleCodes: [String: ResponseCode] = [
        "ALERT": .alert, "PARSE": .parse, "READ-ONLY": .readOnly, "READ-WRITE": .readWrite,
        "TRYCREATE": .tryCreate, "NOMODSEQ": .noModSeq, "UNAVAILABLE": .unavailable,
        "AUTHENTICATIONFAILED": .authenticationFailed, "AUTHORIZATIONFAILED": .authorizationFailed,
        "EXPIRED": .expired, "PRIVACYREQUIRED": .privacyRequired, "CONTACTADMIN": .contactAdmin,
        "NOPERM": .noPerm, "INUSE": .inUse, "EXPUNGEISSUED": .expungeIssued, "CORRUPTION": .corruption,
        "SERVERBUG": .serverBug, "CLIENTBUG": .clientBug, "CANNOT": .cannot, "LIMIT": .limit,
        "OVERQUOTA": .overQuota, "ALREADYEXISTS": .alreadyExists, "NONEXISTENT": .nonExistent,
    ]

    public var description: String {
        switch self {
        case .uidNext(let n): return "UIDNEXT \(n)"
        case .uidValidity(let n): return "UIDVALIDITY \(n)"
        case .unseen(let n): return "UNSEEN \(n)"
        case .permanentFlags(let flags): return "PERMANENTFLAGS (\(flags.joined(separator: " ")))"
        case .capability(let caps): return "CAPABILITY \(caps.joined(separator: " "))"
        case .appendUID(let v, let uid): return "APPENDUID \(v) \(uid)"
        case .copyUID(let v, let s, let d): return "COPYUID \(v) \(s) \(d)"
        case .highestModSeq(let n): return "HIGHESTMODSEQ \(n)"
        case .other(let text): return text
        default:
            return Self.simpleCodes.first { $0.value == self }?.key ?? "?"
        }
    }
}
