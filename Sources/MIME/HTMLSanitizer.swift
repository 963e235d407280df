import Foundation

/// Allowlist HTML sanitizer for showing customer-supplied HTML inside our own pages.
///
/// The input is re-tokenized and re-serialized: only known-safe formatting elements and
/// attributes are emitted, text is re-escaped, every emitted element is closed, and links
/// are restricted to http/https/mailto with `rel="noopener noreferrer nofollow"`. Images
/// are replaced by their alt text (remote images track readers; cid:/data: cannot be served).
/// Anything unknown is dropped but its text kept; script/style-like elements lose their content.
public enum HTMLSanitizer {
    static let allowed: Set<String> = [
        "p", "br", "div", "span", "b", "strong", "i", "em", "u", "ul", "ol", "li", "a",
        "table", "thead", "tbody", "tfoot", "tr", "td", "th", "blockquote", "pre", "code",
        "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    ]
    static let void: Set<String> = ["br", "hr"]
    /// Elements whose text content is raw (not markup) and must be skipped entirely.
    static let rawTextDropped: Set<String> = ["script", "style", "xmp", "iframe", "noembed", "noframes", "textarea", "title", "plaintext", "noscript"]
    /// Elements dropped together with everything inside them.
    static let droppedWithContent: Set<String> = ["head", "object", "applet", "template", "svg", "math", "frameset", "select"]

    public static func sanitize(_ html: String) -> String {
        var tok = HTMLTokenizer(Array(html.utf8))
        var out = [UInt8]()
        out.reserveCapacity(html.utf8.count)
        var stack: [String] = []
        var openCount: [String: Int] = [:]  // avoids scanning the stack for stray end tags
        var dropStack: [String] = []
        var dropCount: [String: Int] = [:]
        var decoded = [UInt8]()

        func closeAll(upTo index: Int, _ out: inout [UInt8], _ stack: inout [String], _ openCount: inout [String: Int]) {
            while stack.count > index {
                let name = stack.removeLast()
                openCount[name, default: 1] -= 1
                out.append(contentsOf: "</\(name)>".utf8)
            }
        }

        while let t = tok.next() {
            switch t {
            case .comment:
                continue
            case .text(let r):
                if !dropStack.isEmpty { continue }
                decoded.removeAll(keepingCapacity: true)
                HTMLEntities.decode(tok.s[r], into: &decoded)
                escape(decoded, into: &out)
            case .startTag(let name, let attrs, let selfClosing):
                if rawTextDropped.contains(name) {
                    _ = tok.skipRawText(name)  // HTML ignores "/>" on these elements
                    continue
                }
                if name == "body" || name == "html" {
                    if dropStack.first == "head" { dropStack.removeAll(); dropCount.removeAll() }
                    continue
                }
                if droppedWithContent.contains(name) {
                    if !selfClosing && dropStack.count < 256 {
                        dropStack.append(name)
                        dropCount[name, default: 0] += 1
                    }
                    continue
                }
                if !dropStack.isEmpty { continue }
                if name == "img" {
                    if let alt = attrs.first(where: { $0.name == "alt" })?.value, !alt.isEmpty {
                        escape(Array(alt.utf8), into: &out)
                    }
                    continue
                }
                guard allowed.contains(name) else { continue }
                if !void.contains(name) && stack.count >= 200 { continue }  // absurd nesting: drop the tag, keep text
                out.append(0x3C)
                out.append(contentsOf: name.utf8)
                for a in attrs {
                    switch a.name {
                    case "title", "alt":
                        appendAttribute(a.name, a.value, &out)
                    case "colspan", "rowspan":
                        if name == "td" || name == "th", let v = Int(trimASCII(a.value)), v >= 0, v <= 1000 {
                            appendAttribute(a.name, String(v), &out)
                        }
                    case "href":
                        if name == "a", let url = safeURL(a.value) { appendAttribute("href", url, &out) }
                    default:
                        break
                    }
                }
                if name == "a" { appendAttribute("rel", "noopener noreferrer nofollow", &out) }
                out.append(0x3E)
                if !void.contains(name) {
                    stack.append(name)
                    openCount[name, default: 0] += 1
                }
            case .endTag(let name):
                if !dropStack.isEmpty {
                    if dropCount[name, default: 0] > 0, let idx = dropStack.lastIndex(of: name) {
                        for n in dropStack[idx...] { dropCount[n, default: 1] -= 1 }
                        dropStack.removeSubrange(idx...)
                    }
                    continue
                }
                if openCount[name, default: 0] > 0, let idx = stack.lastIndex(of: name) {
                    closeAll(upTo: idx, &out, &stack, &openCount)
                }
            }
        }
        closeAll(upTo: 0, &out, &stack, &openCount)
        return String(decoding: out, as: UTF8.self)
    }

    /// Returns the URL if it is an absolute http/https/mailto URL. Control characters and
    /// whitespace are removed first, as browsers ignore them inside schemes ("java\tscript:").
    static func safeURL(_ raw: String) -> String? {
        let cleaned = String(String.UnicodeScalarView(raw.unicodeScalars.filter { $0.value > 0x20 && $0.value != 0x7F }))
        let lower = cleaned.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://") || lower.hasPrefix("mailto:") else { return nil }
        return cleaned
    }

    private static func appendAttribute(_ name: String, _ value: String, _ out: inout [UInt8]) {
        out.append(0x20)
        out.append(contentsOf: name.utf8)
        out.append(contentsOf: "=\"".utf8)
        escape(Array(value.utf8), into: &out)
        out.append(0x22)
    }

    static func escape(_ bytes: [UInt8], into out: inout [UInt8]) {
        for c in bytes {
            switch c {
            case 0x26: out.append(contentsOf: "&amp;".utf8)
            case 0x3C: out.append(contentsOf: "&lt;".utf8)
            case 0x3E: out.append(contentsOf: "&gt;".utf8)
            case 0x22: out.append(contentsOf: "&quot;".utf8)
            case 0x27: out.append(contentsOf: "&#39;".utf8)
            case 0x00: out.append(contentsOf: "\u{FFFD}".utf8)
            default: out.append(c)
            }
        }
    }
}
