import MailroomCore

/// A ``SecretVault`` for tests without a key: it "seals" by prefixing the context, so it keeps the one rule callers
/// can observe — a secret opens only for the context it was sealed for — and hides nothing. Never for real secrets.
public struct TestVault: SecretVault {
    public struct WrongContext: Error {}

    public init() {}

    public func seal(_ secret: String, for context: SecretContext) throws -> SealedSecret {
        SealedSecret(bytes: Array("\(context)\n\(secret)".utf8))
    }

    public func open(_ sealed: SealedSecret, for context: SecretContext) throws -> String {
        let text = String(decoding: sealed.bytes, as: UTF8.self)
        let prefix = "\(context)\n"
        guard text.hasPrefix(prefix) else { throw WrongContext() }
        return String(text.dropFirst(prefix.count))
    }
}
