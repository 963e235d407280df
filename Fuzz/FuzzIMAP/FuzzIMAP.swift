import FuzzDriver
@testable import IMAP

#if canImport(Glibc)
import Glibc
#endif

/// The IMAP response parser on arbitrary server bytes, fed whole and in chunks: it must never trap,
/// must stay within its limits, and chunking must not change the outcome.
private func run(_ bytes: ArraySlice<UInt8>, chunk: Int) -> (responses: [Response], error: IMAPError.Kind?) {
    // Small limits so inputs of a few kilobytes reach the limit checks.
    var parser = ResponseParser(maxLiteralSize: 4096, maxLineLength: 1024, maxLiterals: 16)
    var responses: [Response] = []
    var start = bytes.startIndex
    do {
        while start < bytes.endIndex {
            let end = min(start + chunk, bytes.endIndex)
            responses += try parser.feed(Array(bytes[start..<end]))
            start = end
        }
        try parser.finish()
        return (responses, nil)
    } catch {
        return (responses, (error as? IMAPError)?.kind ?? .unsupported)
    }
}

@main
enum FuzzIMAP {
    static func main() {
        exit(mailroom_fuzz_run(CommandLine.argc, CommandLine.unsafeArgv) { data, size in
            let all = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
            guard let first = all.first else { return 0 }
            let bytes = all.dropFirst()
            let whole = run(bytes, chunk: max(bytes.count, 1))
            let chunked = run(bytes, chunk: Int(first % 17) + 1)
            precondition(whole.error == chunked.error, "chunking changed the error: \(String(describing: whole.error)) vs \(String(describing: chunked.error))")
            if whole.error == nil {
                precondition(whole.responses == chunked.responses, "chunking changed the responses")
            }
            return 0
        })
    }
}
