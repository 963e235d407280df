import FuzzDriver
import SMTP

#if canImport(Glibc)
import Glibc
#endif

/// The SMTP receiver session on arbitrary client bytes, fed in chunks, with recipient checks, spool
/// writes and stores answered from the input: it must never trap, and never hand over more message
/// than the cap.
private func session(_ all: [UInt8]) {
    guard let first = all.first else { return }
    let bytes = all.dropFirst()
    let limits = SMTPReceiverLimits(maxMessageSize: 2048, maxRecipients: 4, maxCommandLineLength: 128, maxTextLineLength: 256, maxErrors: 8)
    var session = SMTPReceiverSession(hostname: "mx.fuzz.test", limits: limits)
    let chunk = Int(first % 31) + 1
    var answers = UInt32(first)
    func answer() -> UInt32 {
        answers = answers &* 1_103_515_245 &+ 12345
        return answers >> 16
    }
    var spooled = 0
    var start = bytes.startIndex
    var steps = 0
    while start < bytes.endIndex && !session.isClosed {
        let end = min(start + chunk, bytes.endIndex)
        session.feed(bytes[start..<end])
        start = end
        while let action = session.next() {
            steps += 1
            precondition(steps < 100_000, "session does not settle")
            switch action {
            case .reply(let reply):
                precondition((200...599).contains(reply.code), "reply code out of range")
            case .checkRecipient:
                let verdicts: [SMTPReceiverSession.RecipientVerdict] = [.accepted, .unknown, .temporaryFailure]
                _ = session.recipientChecked(verdicts[Int(answer() % 3)])
            case .spool(let part):
                spooled += part.count
                precondition(spooled <= limits.maxMessageSize, "spooled more than the cap")
                session.spoolWritten(answer() % 8 != 0)
            case .discardSpool:
                spooled = 0
            case .store(let envelope):
                precondition(envelope.spooledByteCount + envelope.data.count <= limits.maxMessageSize, "message over the cap handed over")
                precondition(envelope.recipients.count <= limits.maxRecipients, "too many recipients")
                spooled = 0
                _ = session.stored(answer() % 4 != 0)
            default:
                break
            }
        }
    }
}

@main
enum FuzzSMTPSession {
    static func main() {
        exit(mailroom_fuzz_run(CommandLine.argc, CommandLine.unsafeArgv) { data, size in
            session(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
            return 0
        })
    }
}
