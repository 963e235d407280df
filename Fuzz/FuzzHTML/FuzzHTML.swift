import FuzzDriver
@testable import MIME

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
            let sanitized = HTMLSanitizer.sanitize(html)
            let safe = sanitized.lowercased()
            for forbidden in ["<script", "<iframe", "<img", "<style", "<svg", "<object"] {
                precondition(!safe.contains(forbidden), "sanitized output contains \(forbidden)")
            }
            // A link may say «javascript:» anywhere in an http(s) URL or as text; what must never pass is a link
            // or any attribute a browser would run. Read back as a browser would: every href is http, https or
            // mailto, and no attribute but the allowed ones survives.
            var tokens = HTMLTokenizer(Array(sanitized.utf8))
            while let token = tokens.next() {
                guard case .startTag(_, let attributes, _) = token else { continue }
                for attribute in attributes {
                    precondition(["title", "alt", "href", "rel", "colspan", "rowspan"].contains(attribute.name), "attribute \(attribute.name) survived")
                    guard attribute.name == "href" else { continue }
                    let url = String(String.UnicodeScalarView(attribute.value.unicodeScalars.filter { $0.value > 0x20 && $0.value != 0x7F })).lowercased()
                    precondition(url.hasPrefix("http://") || url.hasPrefix("https://") || url.hasPrefix("mailto:"), "href \(url) survived")
                }
            }
            _ = HTMLText.plainText(fromHTML: html)
            return 0
        })
    }
}
