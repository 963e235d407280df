/// Unguessable tokens for cookies (sessions, the sign-in form's double-submit token): 32 bytes from the system's
/// cryptographically secure generator, as 64 lowercase hex digits. Here, not in a store, because the pages mint
/// some tokens that are never stored.
public enum RandomToken {
    public static func hex() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        var text = ""
        text.reserveCapacity(64)
        for _ in 0..<32 {
            let byte = UInt8.random(in: .min ... .max, using: &generator)
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return text
    }
}
