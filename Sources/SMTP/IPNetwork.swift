#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address as its 4 or 16 bytes, for allow lists and per-client connection counts.
///
/// An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what a dual-stack `::` listener reports for IPv4
/// clients) is stored as the IPv4 address, so it matches IPv4 networks and counts as that client.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// 4 bytes for IPv4, 16 for IPv6, in network order.
    public let bytes: [UInt8]

    /// Parses dotted-quad IPv4 or RFC 4291 IPv6 text (a `%zone` suffix is ignored); `nil` for anything else.
    public init?(_ text: some StringProtocol) {
        guard let (bytes, _) = Self.parse(text) else { return nil }
        self.bytes = bytes
    }

    init(bytes: [UInt8]) { self.bytes = bytes }

    public var isIPv4: Bool { self.bytes.count == 4 }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = self.isIPv4 ? AF_INET : AF_INET6
        let written = self.bytes.withUnsafeBytes { source in
            buffer.withUnsafeMutableBufferPointer { target in
                inet_ntop(family, source.baseAddress, target.baseAddress, socklen_t(target.count)) != nil
            }
        }
        guard written else { return self.bytes.map(String.init).joined(separator: ".") }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The bytes, and whether the text was an IPv4-mapped IPv6 address (which comes back as IPv4).
    static func parse(_ text: some StringProtocol) -> ([UInt8], mapped: Bool)? {
        var text = String(text)
        guard !text.isEmpty, text.utf8.count < 64 else { return nil }
        if text.contains(":") {
            if let percent = text.firstIndex(of: "%") { text = String(text[..<percent]) }
            var address = in6_addr()
            guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
            let bytes = withUnsafeBytes(of: &address) { Array($0) }
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
                return (Array(bytes[12...]), true)
            }
            return (bytes, false)
        }
        var address = in_addr()
        guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
        return (withUnsafeBytes(of: &address) { Array($0) }, false)
    }
}

/// An IPv4 or IPv6 network in CIDR notation (`192.0.2.0/24`, `2001:db8::/32`; a bare address is one host).
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    /// The network address (host bits zero).
    public let address: IPAddress
    /// Leading bits that must match: 0–32 for IPv4, 0–128 for IPv6.
    public let prefixLength: Int

    /// Why a network could not be read; the description says how to write it.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public let text: String
        public let reason: String
        public var description: String { "«\(self.text)» \(self.reason)" }
    }

    /// Parses `address/prefix` or a bare address. Host bits must be zero: `10.1.2.3/8` is refused with the
    /// network it probably means, since a typo in an allow list silently widens or narrows who may send.
    public init(_ text: some StringProtocol) throws(ParseError) {
        let text = String(text)
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let addressText = parts[0]
        guard let (bytes, mapped) = IPAddress.parse(addressText) else {
            throw ParseError(text: text, reason: "is not an IPv4 or IPv6 network (write 192.0.2.0/24, 2001:db8::/32 or a single address)")
        }
        let maximum = bytes.count * 8
        var prefix = maximum
        if parts.count == 2 {
            let digits = parts[1]
            guard !digits.isEmpty, digits.utf8.count <= 3, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), var value = Int(digits) else {
                throw ParseError(text: text, reason: "has no valid prefix length after «/»")
            }
            if mapped {
                // ::ffff:a.b.c.d/104 is the IPv4 network a.b.c.d/8.
                guard value >= 96 else { throw ParseError(text: text, reason: "is an IPv4-mapped network; its prefix must be 96–128") }
                value -= 96
            }
            guard value <= maximum else {
                throw ParseError(text: text, reason: "has a prefix longer than \(maximum) bits")
            }
            prefix = value
        }
        let network = IPNetwork(masking: IPAddress(bytes: bytes), prefixLength: prefix)
        guard network.address.bytes == bytes else {
            throw ParseError(text: text, reason: "has host bits set; did you mean \(network)?")
        }
        self = network
    }

    /// The network of `prefixLength` bits that contains `address`.
    public init(masking address: IPAddress, prefixLength: Int) {
        let prefix = max(0, min(prefixLength, address.bytes.count * 8))
        var bytes = address.bytes
        for index in bytes.indices {
            let keep = max(0, min(8, prefix - index * 8))
            bytes[index] &= keep == 8 ? 0xFF : ~(0xFF >> UInt8(keep))
        }
        self.address = IPAddress(bytes: bytes)
        self.prefixLength = prefix
    }

    /// Whether `address` is inside; IPv4 never matches an IPv6 network and vice versa.
    public func contains(_ address: IPAddress) -> Bool {
        address.bytes.count == self.address.bytes.count
            && IPNetwork(masking: address, prefixLength: self.prefixLength).address == self.address
    }

    public var description: String { "\(self.address)/\(self.prefixLength)" }

    /// A comma- or space-separated list, as in `MAILROOM_SMTP_RECEIVER_ALLOW`; empty text is an empty list.
    public static func list(_ text: String) throws(ParseError) -> [IPNetwork] {
        var networks: [IPNetwork] = []
        for item in text.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" || $0 == "\n" }) {
            networks.append(try IPNetwork(item))
        }
        return networks
    }
}
