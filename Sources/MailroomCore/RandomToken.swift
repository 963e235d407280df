/// Unguessable tokens for cookies (sessions, the sign-in form's double-submit token): 32 bytes from the system's
/// cryptographically secure generator, as 64 lowercase hex digits. Here, not in a store, because the pages mint
/// some tokens that are never stored.
public enum RandomToken {
    public static func hex() -> String {
        var generator = SystemRandomNumberGenerator()
        return Hex.lowercase((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }
}
