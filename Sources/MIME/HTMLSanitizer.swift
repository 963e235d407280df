import Foundation

/// Allowlist HTML sanitizer for showing customer-supplied HTML inside our own pages.
///
/// The input is re-tokenized and re-serialized: only known-safe formatting elements and
/// attributes are emitted, text is re-escaped, every emitted element is closed, and links
/// are restricted to http/https/mailto with `rel="noopener noreferrer nofollow"`. Images
/// are replaced by their alt text (remote images track readers; cid:/data: cannot be served).
/// Anything unknown is dropped but its text kept; script/style-like elements lose their content.
public enum HTMLSanitizer {
    /// What becomes of an element; one look-up per tag.
    enum Disposition {
        /// Kept, with its safe attributes; `void` elements have no end tag.
        case allowed(void: Bool)
        /// Text content is raw (not markup) and is skipped entirely.
        case rawTextDropped
        /// Dropped together with everything inside it.
        case droppedWithContent
        /// `html` and `body`: dropped, their content kept; they end a `head`.
        case document
        /// Replaced by its alt text.
        case image
    }

    static let dispositions: [String: Disposition] = {
        var table: [String: Disposition] = [:]
        for name in ["p", "div", "span", "b", "strong", "i", "em", "u", "ul", "ol", "li", "a", "table", "thead", "tbody", "tfoot", "tr", "td", "th",
                     "blockquote", "pre", "code", "h1", "h2", "h3", "h4", "h5", "h6"] { table[name] = .allowed(void: false) }
        for name in ["br", "hr"] { table[name] = .allowed(void: true) }
        for name in ["script", "style", "xmp", "iframe", "noembed", "noframes", "textarea", "title", "plaintext", "noscript"] { table[name] = .rawTextDropped }
        for name in ["head", "object", "applet", "template", "svg", "math", "frameset", "select"] { table[name] = .droppedWithContent }
        for name in ["html", "body"] { table[name] = .document }
        table["img"] = .image
        return table
    }()

    /// The only attributes ever written out (see the `switch` below); the tokenizer reads no other.
    static let keptAttributes = ["title", "alt", "colspan", "rowspan", "href"]

    public static func sanitize(_ html: String) -> String {
        var tok = HTMLTokenizer(Array(html.utf8), keepingAttributes: keptAttributes)
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
                let text = tok.s[r]
                // Most text holds no entity: escaped straight from the input.
                guard text.contains(0x26) else {
                    escape(text, into: &out)
                    continue
                }
                decoded.removeAll(keepingCapacity: true)
                HTMLEntities.decode(text, into: &decoded)
                escape(decoded[...], into: &out)
            case .startTag(let name, let attrs, let selfClosing):
                let disposition = dispositions[name]
                let isVoid: Bool
                switch disposition {
                case .rawTextDropped:
                    _ = tok.skipRawText(name)  // HTML ignores "/>" on these elements
                    continue
                case .document:
                    if dropStack.first == "head" { dropStack.removeAll(); dropCount.removeAll() }
                    continue
                case .droppedWithContent:
                    if !selfClosing && dropStack.count < 256 {
                        dropStack.append(name)
                        dropCount[name, default: 0] += 1
                    }
                    continue
                case .image:
                    if dropStack.isEmpty, let alt = attrs.first(where: { $0.name == "alt" })?.value, !alt.isEmpty {
                        escape(Array(alt.utf8)[...], into: &out)
                    }
                    continue
                case .allowed(let void):
                    if !dropStack.isEmpty { continue }
                    isVoid = void
                case nil:
                    continue
                }
                if !isVoid && stack.count >= 200 { continue }  // absurd nesting: drop the tag, keep text
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
                if !isVoid {
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
        // Valid by construction: the input's bytes are cut only at markup (ASCII), and everything else written is
        // ASCII, a string, or a scalar the entity decoder encoded (never a surrogate: those become U+FFFD).
        return stringFromValidUTF8(out)
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
        escape(Array(value.utf8)[...], into: &out)
        out.append(0x22)
    }

    /// Copies `bytes` with markup characters escaped, in runs between them.
    static func escape(_ bytes: ArraySlice<UInt8>, into out: inout [UInt8]) {
        var run = bytes.startIndex
        while let hit = nextSpecial(bytes, from: run) {
            out.append(contentsOf: bytes[run..<hit])
            switch bytes[hit] {
            case 0x26: out.append(contentsOf: "&amp;".utf8)
            case 0x3C: out.append(contentsOf: "&lt;".utf8)
            case 0x3E: out.append(contentsOf: "&gt;".utf8)
            case 0x22: out.append(contentsOf: "&quot;".utf8)
            case 0x27: out.append(contentsOf: "&#39;".utf8)
            default: out.append(contentsOf: "\u{FFFD}".utf8)
            }
            run = hit + 1
        }
        out.append(contentsOf: bytes[run...])
    }

    /// The first `&`, `<`, `>`, `"`, `'` or NUL at or after `from`: sixteen bytes per step, since most text has
    /// none for many bytes (every body shown is escaped through here).
    static func nextSpecial(_ bytes: ArraySlice<UInt8>, from: Int) -> Int? {
        bytes.withUnsafeBytes { buffer -> Int? in
            typealias Bytes = SIMD16<UInt8>
            let hit = firstMatch(in: buffer, from: from - bytes.startIndex, end: buffer.count) { v in
                (v .== Bytes(repeating: 0x26))._storage | (v .== Bytes(repeating: 0x3C))._storage | (v .== Bytes(repeating: 0x3E))._storage
                    | (v .== Bytes(repeating: 0x22))._storage | (v .== Bytes(repeating: 0x27))._storage | (v .== Bytes(repeating: 0x00))._storage
            } matches: { byte in
                byte == 0x26 || byte == 0x3C || byte == 0x3E || byte == 0x22 || byte == 0x27 || byte == 0x00
            }
            return hit < buffer.count ? bytes.startIndex + hit : nil
        }
    }
}
