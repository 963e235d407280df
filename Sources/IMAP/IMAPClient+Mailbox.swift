extension IMAPClient {
    /// Opens a mailbox with `SELECT` (or `EXAMINE` when `readOnly`).
    ///
    /// Non-ASCII names are sent in modified UTF-7 (RFC 3501 §5.1.3).
    /// - Returns: UIDVALIDITY, UIDNEXT, message count and read-only state.
    public func select(_ mailbox: String, readOnly: Bool = false) async throws -> MailboxStatus {
        let name = readOnly ? "EXAMINE" : "SELECT"
        return try await self.exclusive(name) {
            let result = try await self.execute(.select(mailbox: Self.wireMailboxName(mailbox), readOnly: readOnly))
            var exists = 0
            var uidValidity: UInt32?
            var uidNext: UInt32?
            var isReadOnly = readOnly || result.status.code == .readOnly
            for response in result.untagged {
                switch response {
                case .exists(let count):
                    exists = count
                case .status(let status):
                    switch status.code {
                    case .uidValidity(let value): uidValidity = value
                    case .uidNext(let value): uidNext = value
                    case .readOnly: isReadOnly = true
                    default: break
                    }
                default:
                    break
                }
            }
            guard let uidValidity else {
                throw IMAPError(.protocolViolation, command: name, detail: "server did not report UIDVALIDITY")
            }
            return MailboxStatus(uidValidity: uidValidity, uidNext: uidNext, exists: exists, readOnly: isReadOnly)
        }
    }

    /// `UID SEARCH <criteria>`, e.g. `"UID 101:*"`, `"ALL"`, `"UNSEEN"`.
    ///
    /// `criteria` is IMAP search syntax sent verbatim; it must be printable ASCII (CR/LF refused).
    /// - Returns: Matching UIDs, sorted ascending, without duplicates.
    public func uidSearch(_ criteria: String) async throws -> [UInt32] {
        try await self.exclusive("UID SEARCH") {
            try Self.validateRaw(criteria, command: "UID SEARCH")
            let result = try await self.execute(.uidSearch(criteria: criteria))
            var uids = Set<UInt32>()
            for case .search(let found) in result.untagged { uids.formUnion(found) }
            return uids.sorted()
        }
    }

    /// `UID FETCH <set> (UID RFC822.SIZE)`: the size of each message, to decide before downloading what a
    /// client will accept (a message over the literal cap would otherwise fail the whole fetch).
    public func uidSizes(_ set: UIDSet) async throws -> [UInt32: Int] {
        guard !set.isEmpty else { return [:] }
        return try await self.exclusive("UID FETCH") {
            let result = try await self.execute(.uidFetchSizes(set))
            var sizes: [UInt32: Int] = [:]
            for case .fetch(_, let attributes) in result.untagged {
                if let uid = attributes.uid, let size = attributes.size, set.contains(uid) { sizes[uid] = size }
            }
            return sizes
        }
    }

    /// `UID STORE <set> +FLAGS[.SILENT] (<flags>)`. An empty set is a no-op.
    public func uidStore(_ set: UIDSet, addFlags: [String], silent: Bool = true) async throws {
        guard !set.isEmpty, !addFlags.isEmpty else { return }
        try await self.exclusive("UID STORE") {
            for flag in addFlags where !Self.isValidFlag(flag) {
                throw IMAPError(.unsupported, command: "UID STORE", detail: "invalid flag syntax")
            }
            let item = silent ? "+FLAGS.SILENT" : "+FLAGS"
            _ = try await self.execute(.uidStore(set, item: item, flags: addFlags))
        }
    }

    /// `UID EXPUNGE <set>` (RFC 4315): removes only our `\Deleted` messages, not other clients'.
    /// - Throws: `.unsupported` when the server lacks UIDPLUS (refused by the session before anything is sent).
    public func uidExpunge(_ set: UIDSet) async throws {
        guard !set.isEmpty else { return }
        try await self.exclusive("UID EXPUNGE") { _ = try await self.execute(.uidExpunge(set)) }
    }

    /// `EXPUNGE`: removes every `\Deleted` message in the selected mailbox.
    public func expunge() async throws {
        try await self.exclusive("EXPUNGE") { _ = try await self.execute(.expunge) }
    }

    static func wireMailboxName(_ mailbox: String) -> String {
        mailbox.uppercased() == "INBOX" ? "INBOX" : ModifiedUTF7.encode(mailbox)
    }

    static func validateRaw(_ text: String, command: String) throws {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x20 && $0 <= 0x7E }) else {
            throw IMAPError(.unsupported, command: command, detail: "argument must be non-empty printable ASCII")
        }
    }

    /// `flag = "\" atom / atom` (RFC 3501), so flags can never smuggle syntax into STORE.
    static func isValidFlag(_ flag: String) -> Bool {
        var bytes = Substring(flag).utf8[...]
        if bytes.first == UInt8(ascii: "\\") { bytes = bytes.dropFirst() }
        return !bytes.isEmpty && bytes.allSatisfy { byte in
            byte > 0x20 && byte < 0x7F && !"(){ %*\"\\]".utf8.contains(byte)
        }
    }
}
