import FuzzDriver
import MIME

#if canImport(Glibc)
import Glibc
#endif

/// The HTML sanitizer (and the HTML-to-text converter sharing its tokenizer) on arbitrary input.
/// Besides not trapping, the output must contain no markup that could run script.
@main
enum FuzzHTML {
    static func main() {
        exit(mailroom_fuzz_run(CommandLine.argc, CommandLine.unsafeArgv) { data, size in
            let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
            let html = String(decoding: bytes, as: UTF8.self)
            let safe = HTMLSanitizer.sanitize(html).lowercased()
            for forbidden in ["<script", "<iframe", "<img", "<style", "javascript:", "<svg", "<object"] {
                precondition(!safe.contains(forbidden), "sanitized output contains \(forbidden)")
            }
            _ = HTMLText.plainText(fromHTML: html)
            return 0
        })
    }
}
