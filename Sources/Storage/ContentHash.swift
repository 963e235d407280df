import Crypto
import MailroomCore

/// The content hash of a raw message (``IncomingEmail/contentHash``): SHA-256, lower-case hex. Stored with a message
/// and compared when its dedupe key comes again, so its form never changes.
public enum ContentHash {
    public static func of(_ raw: [UInt8]) -> String { Hex.lowercase(SHA256.hash(data: raw)) }
}
