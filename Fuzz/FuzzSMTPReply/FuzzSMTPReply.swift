import FuzzDriver
import SMTP

#if canImport(Glibc)
import Glibc
#endif

/// The SMTP reply parser on arbitrary server bytes, fed whole and in chunks: it must never trap,
/// and chunking must not change the replies or the error.
private func run(_ bytes: ArraySlice<UInt8>, chunk: Int) -> (replies: [SMTPReply], error: SMTPError.Kind?) {
    var parser = SMTPReplyParser(maxLineLength: 512, maxLines: 16)
    var replies: [SMTPReply] = []
    var start = bytes.startIndex
    do {
        while start < bytes.endIndex {
            let end = min(start + chunk, bytes.endIndex)
            try parser.feed(bytes[start..<end], into: &replies)
            start = end
        }
        try parser.finish()
        return (replies, nil)
    } catch {
        return (replies, error.kind)
    }
}

@main
enum FuzzSMTPReply {
    static func main() {
        exit(mailroom_fuzz_run(CommandLine.argc, CommandLine.unsafeArgv) { data, size in
            let all = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
            guard let first = all.first else { return 0 }
            let bytes = all.dropFirst()
            let whole = run(bytes, chunk: max(bytes.count, 1))
            let chunked = run(bytes, chunk: Int(first % 17) + 1)
            precondition(whole.error == chunked.error, "chunking changed the error")
            precondition(whole.replies == chunked.replies, "chunking changed the replies")
            for reply in whole.replies {
                precondition((200...599).contains(reply.code) && !reply.lines.isEmpty && reply.lines.count <= 16, "reply outside the grammar")
            }
            return 0
        })
    }
}
