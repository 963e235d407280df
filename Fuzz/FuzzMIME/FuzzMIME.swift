import FuzzDriver
@testable import MIME

#if canImport(Glibc)
import Glibc
#endif

/// The whole message parser on arbitrary bytes: it must never trap, and its caps must hold. The one-pass readers of
/// addresses and dates must agree with the general ones on every header value, and on the whole input.
@main
enum FuzzMIME {
    static func main() {
        exit(mailroom_fuzz_run(CommandLine.argc, CommandLine.unsafeArgv) { data, size in
            let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
            let limits = ParseLimits.default
            let message = MessageParser.parse(bytes, limits: limits)
            precondition(message.references.count <= limits.maxReferences, "References not capped")
            precondition(message.inReplyTo.count <= limits.maxReferences, "In-Reply-To not capped")
            precondition(Set(message.references).count == message.references.count, "References not deduplicated")
            let attached = message.attachments.reduce(0) { $0 + $1.size }
            precondition(attached <= bytes.count, "attachments larger than the message")
            // Sizes are counted without decoding; decoding on demand must give exactly that many bytes.
            for attachment in message.attachments { precondition(attachment.data.count == attachment.size, "attachment size miscounted") }
            for value in message.headers.map(\.rawValue) + [bytes] {
                if let simple = AddressParser.simpleList(value[...], fallbackCharset: "iso-8859-1") {
                    precondition(simple == AddressParser.general(value[...], fallbackCharset: "iso-8859-1"), "the one-pass address reader disagrees")
                }
                if let strict = value.withUnsafeBufferPointer({ DateParser.strict($0) }) {
                    precondition(strict == DateParser.lenient(value), "the one-pass date reader disagrees")
                }
            }
            return 0
        })
    }
}
