/// Converts HTML to readable plain text (for previews, search and HTML-only mails).
///
/// Script/style/head content is dropped, entities are decoded, block elements become
/// line breaks and whitespace is collapsed the way a browser renders it (except in `<pre>`),
/// with at most one blank line in a row.
public enum HTMLText {
    public static func plainText(fromHTML html: String) -> String {
        var w = TextWriter()
        var tok = HTMLTokenizer(Array(html.utf8), keepingAttributes: ["alt"])
        var inHead = false
        var preDepth = 0
        var decoded = [UInt8]()
        while let t = tok.next() {
            switch t {
            case .text(let r):
                if inHead { continue }
                decoded.removeAll(keepingCapacity: true)
                HTMLEntities.decode(tok.s[r], into: &decoded)
                if preDepth > 0 { w.appendPre(decoded) } else { w.appendFlowing(decoded) }
            case .startTag(let name, let attrs, _):
                switch name {
                case "script", "style", "title", "textarea", "xmp", "iframe", "noembed", "noframes", "template":
                    _ = tok.skipRawText(name)
                case "head": inHead = true
                case "body": inHead = false
                case "br": w.lineBreak()
                case "pre": preDepth += 1; w.block(2)
                case "p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "table", "dl":
                    w.block(2)
                case "div", "li", "tr", "hr", "dd", "dt", "section", "article", "header", "footer", "address",
                     "caption", "form", "fieldset", "center", "nav", "aside", "figure", "figcaption", "main":
                    w.block(1)
                case "td", "th": w.space()
                case "img":
                    if let alt = attrs.first(where: { $0.name == "alt" })?.value, !alt.isEmpty {
                        w.appendFlowing(Array(alt.utf8))
                    }
                default: break
                }
            case .endTag(let name):
                switch name {
                case "head": inHead = false
                case "pre": preDepth = max(0, preDepth - 1); w.block(2)
                case "p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "table", "dl":
                    w.block(2)
                case "div", "li", "tr", "dd", "dt", "section", "article", "header", "footer", "address",
                     "caption", "form", "fieldset", "center", "nav", "aside", "figure", "figcaption", "main":
                    w.block(1)
                case "td", "th": w.space()
                default: break
                }
            case .comment:
                break
            }
        }
        return String(decoding: w.out, as: UTF8.self)
    }
}

/// Accumulates output with lazy spaces/newlines so nothing trails and blank lines are capped.
private struct TextWriter {
    var out: [UInt8] = []
    var pendingSpace = false
    var pendingNewlines = 0

    mutating func lineBreak() {
        pendingNewlines += 1
        pendingSpace = false
    }

    mutating func block(_ n: Int) {
        pendingNewlines = max(pendingNewlines, n)
        pendingSpace = false
    }

    mutating func space() { if pendingNewlines == 0 { pendingSpace = true } }

    private mutating func flush() {
        if !out.isEmpty {
            if pendingNewlines > 0 {
                for _ in 0..<min(pendingNewlines, 2) { out.append(0x0A) }
            } else if pendingSpace {
                out.append(0x20)
            }
        }
        pendingNewlines = 0
        pendingSpace = false
    }

    mutating func appendFlowing(_ bytes: [UInt8]) {
        var i = 0
        let n = bytes.count
        while i < n {
            let c = bytes[i]
            if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D || c == 0x0C {
                if pendingNewlines == 0 { pendingSpace = true }
                i += 1
                continue
            }
            if c == 0xC2 && i + 1 < n && bytes[i + 1] == 0xA0 {  // no-break space
                if pendingNewlines == 0 { pendingSpace = true }
                i += 2
                continue
            }
            flush()
            out.append(c)
            i += 1
        }
    }

    mutating func appendPre(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        flush()
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if c == 0x0D {
                out.append(0x0A)
                if i + 1 < bytes.count && bytes[i + 1] == 0x0A { i += 1 }
            } else {
                out.append(c)
            }
            i += 1
        }
    }
}
