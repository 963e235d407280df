#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Minimal, forgiving HTML tokenizer shared by `HTMLText` and `HTMLSanitizer`.
///
/// Follows the HTML5 tokenizer rules that matter for safety (tag names run until
/// whitespace, `/` or `>`; comments, `<!…>` and `<?…>` are bogus comments; an unfinished
/// tag at end of input is dropped) so our view of the markup matches a browser's.
struct HTMLTokenizer {
    enum Token {
        case text(Range<Int>)
        case startTag(name: String, attributes: [(name: String, value: String)], selfClosing: Bool)
        case endTag(name: String)
        case comment
    }

    let s: [UInt8]
    var i = 0
    /// The attributes whose values are read, by lowercase name; nil for all. The rest are stepped over without
    /// decoding their values: the sanitizer keeps five, and decoding every `style` and `class` it then dropped took a
    /// twentieth of preparing an email.
    let keptAttributes: [String]?
    /// ``keptAttributes`` as keys (``key(_:)``), when every one has one: an attribute is then checked without a string.
    private let keptKeys: [UInt64]?

    init(_ bytes: [UInt8], keepingAttributes kept: [String]? = nil) {
        s = bytes
        keptAttributes = kept
        let keys = kept?.compactMap { Self.key(Array($0.utf8)[...]) }
        keptKeys = keys?.count == kept?.count ? keys : nil
    }

    /// Tag and attribute names handed out as the literals below, without building (and validating) a string for
    /// every tag and attribute (with the sanitizer's unvalidated output copy, sanitizing took 7% less time). Every
    /// name the sanitizer or the text view looks for, and the commonest others; at most eight bytes, so each is one
    /// word (``key(_:)``), by length.
    private static let knownNames: [[(key: UInt64, name: String)]] = {
        var table = Array(repeating: [(key: UInt64, name: String)](), count: 9)
        for name in [
            "a", "b", "i", "p", "s", "u", "br", "dd", "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li", "ol", "td", "th", "tr",
            "ul", "col", "del", "dir", "div", "img", "ins", "nav", "o:p", "pre", "sub", "sup", "svg", "wbr", "xmp", "alt", "rel", "src",
            "area", "base", "body", "code", "font", "form", "head", "html", "link", "main", "mark", "math", "meta", "size", "span", "href",
            "lang", "name", "type", "face", "align", "aside", "small", "style", "table", "tbody", "tfoot", "thead", "title", "class", "color",
            "label", "width", "input", "valign", "height", "border", "target", "center", "applet", "button", "figure", "footer", "header",
            "iframe", "object", "script", "select", "strike", "strong", "address", "article", "caption", "colspan", "noembed", "rowspan",
            "section", "bgcolor", "colgroup", "fieldset", "frameset", "noframes", "noscript", "template", "textarea",
        ] {
            guard let key = key(Array(name.utf8)[...]) else { continue }
            table[name.utf8.count].append((key, name))
        }
        return table
    }()

    /// A name of at most eight bytes, lowercased and packed into a word (first byte lowest); nil when longer. Two
    /// names of the same length have the same key exactly when their lowercase bytes are the same; across lengths a
    /// NUL byte can collide ("alt" and "alt\0"), so a key only narrows the search, and the name decides.
    @inline(__always)
    static func key(_ bytes: ArraySlice<UInt8>) -> UInt64? {
        guard bytes.count <= 8 else { return nil }
        var key: UInt64 = 0
        var shift: UInt64 = 0
        for byte in bytes {
            key |= UInt64(asciiLower(byte)) << shift
            shift += 8
        }
        return key
    }

    /// The lowercase name, a literal when it is one of ``knownNames``.
    @inline(__always)
    private static func lowercaseName(_ bytes: ArraySlice<UInt8>) -> String {
        if let key = key(bytes) {
            for entry in knownNames[bytes.count] where entry.key == key { return entry.name }
        }
        return lowercasedASCIIString(bytes)
    }

    @inline(__always)
    private static func isAlpha(_ c: UInt8) -> Bool { (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }
    @inline(__always)
    private static func isHTMLSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0C || c == 0x0D }

    mutating func next() -> Token? {
        let n = s.count
        guard i < n else { return nil }
        if s[i] != 0x3C {
            let start = i
            i = nextLT(from: i + 1) ?? n
            return .text(start..<i)
        }
        // s[i] == '<'
        guard i + 1 < n else { i = n; return .text((n - 1)..<n) }
        let c = s[i + 1]
        if c == 0x21 {  // '<!'
            if i + 3 < n && s[i + 2] == 0x2D && s[i + 3] == 0x2D {
                i = endOfComment(from: i + 4)
            } else {
                i = (s.firstIndex(of: 0x3E, from: i + 2, to: n).map { $0 + 1 }) ?? n
            }
            return .comment
        }
        if c == 0x3F {  // '<?'
            i = (s.firstIndex(of: 0x3E, from: i + 2, to: n).map { $0 + 1 }) ?? n
            return .comment
        }
        if c == 0x2F {  // '</'
            if i + 2 < n && Self.isAlpha(s[i + 2]) {
                var j = i + 2
                let nameStart = j
                while j < n && !Self.isHTMLSpace(s[j]) && s[j] != 0x2F && s[j] != 0x3E { j += 1 }
                let name = Self.lowercaseName(s[nameStart..<j])
                // Skip anything up to '>' (attributes on end tags are ignored, quotes respected).
                guard let close = endOfTag(from: j) else { i = n; return .comment }
                i = close
                return .endTag(name: name)
            }
            if i + 2 < n && s[i + 2] == 0x3E { i += 3; return .comment }
            i = (s.firstIndex(of: 0x3E, from: i + 2, to: n).map { $0 + 1 }) ?? n
            return .comment
        }
        if Self.isAlpha(c) {
            var j = i + 1
            let nameStart = j
            while j < n && !Self.isHTMLSpace(s[j]) && s[j] != 0x2F && s[j] != 0x3E { j += 1 }
            let name = Self.lowercaseName(s[nameStart..<j])
            var attrs: [(name: String, value: String)] = []
            var selfClosing = false
            while true {
                while j < n && (Self.isHTMLSpace(s[j]) || s[j] == 0x2F) {
                    selfClosing = s[j] == 0x2F
                    j += 1
                }
                guard j < n else { i = n; return .comment }  // EOF inside a tag: drop it
                if s[j] == 0x3E {
                    i = j + 1
                    return .startTag(name: name, attributes: attrs, selfClosing: selfClosing)
                }
                selfClosing = false
                let an = j
                j += 1  // the first character may be '=' per HTML5
                while j < n && !Self.isHTMLSpace(s[j]) && s[j] != 0x2F && s[j] != 0x3E && s[j] != 0x3D { j += 1 }
                let nameRange = an..<j
                while j < n && Self.isHTMLSpace(s[j]) { j += 1 }
                var valueRange = j..<j
                if j < n && s[j] == 0x3D {
                    j += 1
                    while j < n && Self.isHTMLSpace(s[j]) { j += 1 }
                    guard j < n else { i = n; return .comment }
                    let q = s[j]
                    if q == 0x22 || q == 0x27 {
                        guard let end = s.firstIndex(of: q, from: j + 1, to: n) else { i = n; return .comment }
                        valueRange = (j + 1)..<end
                        j = end + 1
                    } else {
                        let vs = j
                        while j < n && !Self.isHTMLSpace(s[j]) && s[j] != 0x3E { j += 1 }
                        valueRange = vs..<j
                    }
                }
                if let keptKeys {
                    // Not kept: stepped over without a name at all.
                    guard let key = Self.key(s[nameRange]), keptKeys.contains(key) else { continue }
                }
                let attrName = Self.lowercaseName(s[nameRange])
                guard keptAttributes?.contains(attrName) != false else { continue }
                if attrs.count < 64 && !attrs.contains(where: { $0.name == attrName }) {
                    attrs.append((attrName, valueRange.isEmpty ? "" : HTMLEntities.decode(s[valueRange], inAttribute: true)))
                }
            }
        }
        // A lone '<' is text.
        let start = i
        i = nextLT(from: i + 1) ?? n
        return .text(start..<i)
    }

    /// Skips the raw-text content of `<script>`, `<style>` etc. up to and including `</name>`.
    mutating func skipRawText(_ name: String) -> Range<Int> {
        let n = s.count
        let nameBytes = Array(name.utf8)
        let start = i
        var j = i
        while let lt = nextLT(from: j) {
            if lt + 1 < n && s[lt + 1] == 0x2F && lt + 2 + nameBytes.count <= n {
                var match = true
                for k in 0..<nameBytes.count where asciiLower(s[lt + 2 + k]) != nameBytes[k] {
                    match = false
                    break
                }
                let after = lt + 2 + nameBytes.count
                if match && (after == n || Self.isHTMLSpace(s[after]) || s[after] == 0x3E || s[after] == 0x2F) {
                    i = endOfTag(from: after) ?? n
                    return start..<lt
                }
            }
            j = lt + 1
        }
        i = n
        return start..<n
    }

    private func nextLT(from: Int) -> Int? {
        s.firstIndex(of: 0x3C, from: from, to: s.count)
    }

    /// Index after the '>' closing a tag, honouring quoted attribute values.
    private func endOfTag(from: Int) -> Int? {
        var j = from
        let n = s.count
        var quote: UInt8 = 0
        while j < n {
            let c = s[j]
            if quote != 0 {
                if c == quote { quote = 0 }
            } else if c == 0x22 || c == 0x27 {
                if j > from && s[j - 1] == 0x3D { quote = c }
            } else if c == 0x3E {
                return j + 1
            }
            j += 1
        }
        return nil
    }

    private func endOfComment(from: Int) -> Int {
        let n = s.count
        // "<!-->" and "<!--->" are complete (empty) comments.
        if from < n && s[from] == 0x3E { return from + 1 }
        if from + 1 < n && s[from] == 0x2D && s[from + 1] == 0x3E { return from + 2 }
        var j = from
        while j + 2 < n {
            if s[j] == 0x2D && s[j + 1] == 0x2D {
                if s[j + 2] == 0x3E { return j + 3 }
                if s[j + 2] == 0x21 && j + 3 < n && s[j + 3] == 0x3E { return j + 4 }
            }
            j += 1
        }
        return n
    }
}
