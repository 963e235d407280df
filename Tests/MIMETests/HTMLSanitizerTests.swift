import Testing
@testable import MIME

@Suite struct HTMLSanitizerTests {
    func s(_ html: String) -> String { HTMLSanitizer.sanitize(html) }

    /// Nothing executable may survive: re-tokenize the output like a browser would and check
    /// that only allowlisted elements and attributes (with safe URLs) remain.
    func assertSafe(_ out: String, sourceLocation: SourceLocation = #_sourceLocation) {
        var tok = HTMLTokenizer(Array(out.utf8))
        let attrsOK: Set<String> = ["title", "alt", "href", "rel", "colspan", "rowspan"]
        // The allowlist written out here, not read from the sanitizer, so a wrong entry in its table is caught.
        let tagsOK: Set<String> = [
            "p", "br", "div", "span", "b", "strong", "i", "em", "u", "ul", "ol", "li", "a", "table", "thead", "tbody", "tfoot", "tr", "td", "th",
            "blockquote", "pre", "code", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
        ]
        while let t = tok.next() {
            switch t {
            case .startTag(let name, let attrs, _):
                #expect(tagsOK.contains(name), "tag <\(name)> in \(out)", sourceLocation: sourceLocation)
                for a in attrs {
                    #expect(attrsOK.contains(a.name), "attribute \(a.name) in \(out)", sourceLocation: sourceLocation)
                    if a.name == "href" {
                        let v = a.value.lowercased()
                        #expect(v.hasPrefix("http://") || v.hasPrefix("https://") || v.hasPrefix("mailto:"), "href \(v)", sourceLocation: sourceLocation)
                    }
                }
            case .comment:
                Issue.record("comment/bogus markup in \(out)", sourceLocation: sourceLocation)
            default:
                break
            }
        }
        let lower = out.lowercased()
        for bad in ["<script", "<style", "<iframe", "<img", "<svg", "<!--"] {
            #expect(!lower.contains(bad), "found \(bad) in \(out)", sourceLocation: sourceLocation)
        }
    }

    @Test("Exact output for a document that exercises every disposition, entity and escape")
    func exactOutput() {
        let document = "<html><head><title>T</title><style>p{}</style></head><body><p class=\"x\" title='a\"b'>Fish &amp; chips &lt;3 'quoted' "
            + "\"dq\" \u{0}nul &eacute;&#x41;&#66;</p><br/><img alt=\"Logo & co\" src=\"x\"><script>alert(1)</script><svg><p>hidden</p></svg>"
            + "<a href=\"https://e.example/?a=1&amp;b=2\" onclick=\"x\">link</a><td colspan=\" 2 \">c</td><b>unclosed</body></html>"
        #expect(s(document) == "<p title=\"a&quot;b\">Fish &amp; chips &lt;3 &#39;quoted&#39; &quot;dq&quot; \u{FFFD}nul éAB</p><br>Logo &amp; co"
            + "<a href=\"https://e.example/?a=1&amp;b=2\" rel=\"noopener noreferrer nofollow\">link</a><td colspan=\"2\">c</td><b>unclosed</b>")
        #expect(s("<head><p>in head</p><body>after</body>") == "after")
        #expect(s("<select><option>x</option></select>y<img alt=''><hr><HR><Br>") == "y<hr><hr><br>")
        #expect(s("<svg><img alt=in-svg></svg>z</b></p><p><p><i>x</b></i>") == "z<p><p><i>x</i></p></p>")
        #expect(s("&&&<<>>\"\"''") == "&amp;&amp;&amp;&lt;&lt;&gt;&gt;&quot;&quot;&#39;&#39;")
    }

    @Test func safeMarkupSurvives() {
        let html = "<p>Hello <b>bold</b> <strong>s</strong> <i>i</i> <em>e</em> <u>u</u><br>"
            + "<a href=\"https://example.com/a?b=1&amp;c=2\" title=\"T\">link</a></p>"
            + "<ul><li>one</li></ul><ol><li>two</li></ol><blockquote>q</blockquote><pre><code>x &lt; y</code></pre>"
            + "<table><thead><tr><th colspan=\"2\">h</th></tr></thead><tbody><tr><td rowspan=3>c</td></tr></tbody></table>"
            + "<h1>t</h1><h6>t6</h6><div><span>sp</span></div>"
        #expect(s(html) == "<p>Hello <b>bold</b> <strong>s</strong> <i>i</i> <em>e</em> <u>u</u><br>"
            + "<a href=\"https://example.com/a?b=1&amp;c=2\" title=\"T\" rel=\"noopener noreferrer nofollow\">link</a></p>"
            + "<ul><li>one</li></ul><ol><li>two</li></ol><blockquote>q</blockquote><pre><code>x &lt; y</code></pre>"
            + "<table><thead><tr><th colspan=\"2\">h</th></tr></thead><tbody><tr><td rowspan=\"3\">c</td></tr></tbody></table>"
            + "<h1>t</h1><h6>t6</h6><div><span>sp</span></div>")
        #expect(s("<a href='mailto:help@example.com'>mail</a>") == "<a href=\"mailto:help@example.com\" rel=\"noopener noreferrer nofollow\">mail</a>")
    }

    @Test func scriptsAndEventHandlers() {
        let cases = [
            "<script>alert(1)</script>",
            "<SCRIPT SRC=//evil/x.js></SCRIPT>",
            "<img src=x onerror=alert(1)>",
            "<img src=\"cid:logo\" alt=\"Logo\">",
            "<p onclick=\"alert(1)\" onmouseover=alert(2)>x</p>",
            "<body onload=alert(1)>",
            "<svg/onload=alert(1)>",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<a href=\"JaVaScRiPt:alert(1)\">x</a>",
            "<a href=\" java\tscript:alert(1)\">x</a>",
            "<a href=\"&#106;avascript:alert(1)\">x</a>",
            "<a href=\"&#x6A;&#x61;vascript&colon;alert(1)\">x</a>",
            "<a href=vbscript:msgbox(1)>x</a>",
            "<a href=\"data:text/html;base64,PHNjcmlwdD4=\">x</a>",
            "<scr<script>ipt>alert(1)</script>",
            "<<script>script>alert(1)<</script>/script>",
            "<iframe src=\"https://evil\"></iframe>",
            "<iframe srcdoc=\"<script>alert(1)</script>\">",
            "<object data=x></object><embed src=x>",
            "<form action=x><input name=y><button>b</button></form>",
            "<meta http-equiv=refresh content=\"0;url=javascript:alert(1)\"><link rel=stylesheet href=x><base href=x>",
            "<style>body{background:url(javascript:alert(1))}</style>",
            "<p style=\"background:url(javascript:alert(1))\">x</p>",
            "<div style=\"expression(alert(1))\">x</div>",
            "<!--<script>alert(1)</script>-->",
            "<![CDATA[<script>alert(1)</script>]]>",
            "<a href=\"https://ok\" onclick=alert(1)>x</a>",
            "<p title=\"\\\" onmouseover=alert(1)\">x</p>",
            "<p title='x\" onmouseover=\"alert(1)'>x</p>",
            "<a href=\"https://x\"\tonclick=alert(1)>x</a>",
            "<p/onclick=alert(1)>x</p>",
            "<p\nonclick=alert(1)>x</p>",
            "<script>alert(1)",
            "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
            "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
            "<textarea><script>alert(1)</script></textarea>",
            "<a href=\"https://x\"><img src=x onerror=alert(1)></a>",
            "<table background=\"javascript:alert(1)\"><td>x</td></table>",
        ]
        for c in cases { assertSafe(s(c)) }
        #expect(s("<script>alert(1)</script>hello") == "hello")
        #expect(s("<img src=\"cid:logo\" alt=\"Logo & Co\">") == "Logo &amp; Co")
        #expect(s("<a href=\"javascript:alert(1)\">x</a>") == "<a rel=\"noopener noreferrer nofollow\">x</a>")
        #expect(s("<p style=\"color:red\">x</p>") == "<p>x</p>")
        #expect(s("<scr<script>ipt>alert(1)</script>") == "ipt&gt;alert(1)")
        #expect(s("<iframe src=x>inner</iframe>after") == "after")
        #expect(s("<p title='x\" onmouseover=\"alert(1)'>x</p>") == "<p title=\"x&quot; onmouseover=&quot;alert(1)\">x</p>")
    }

    @Test func wellFormedOutput() {
        #expect(s("<b><i>x</b>y") == "<b><i>x</i></b>y")
        #expect(s("<p>unclosed <b>bold") == "<p>unclosed <b>bold</b></p>")
        #expect(s("</div>stray</p>") == "stray")
        #expect(s("a < b > c & d \" e") == "a &lt; b &gt; c &amp; d &quot; e")
        #expect(s("<font color=red>kept text</font>") == "kept text")
        #expect(s("<head><title>t</title></head><body>b</body>") == "b")
        #expect(s("<p>x<br/>y</p>") == "<p>x<br>y</p>")
        #expect(s("<td colspan=\"2 onclick=x\">c</td>") == "<td>c</td>")
        #expect(s("") == "")
        #expect(s("<") == "&lt;")
        #expect(s("<p") == "")
        #expect(s("<a href=\"https://x\" title=\"unterminated>t</a>") == "")
        let deep = s(String(repeating: "<div>", count: 5000) + "x")
        #expect(deep.hasSuffix("</div>"))
        assertSafe(deep)
    }

    @Test func fuzzNeverProducesActiveContent() {
        let pieces = ["<", ">", "/", "script", "img", "a", " href=", "javascript:", "\"", "'", " onerror=", "alert(1)",
                      "<!--", "-->", "&#", "x6A;", "=", " ", "\n", "style", "iframe", "p", "b", "&lt;", "data:"]
        for seed in 0..<300 {
            var rng = XorShift(seed: UInt64(seed) + 77)
            var html = ""
            for _ in 0..<rng.int(60) { html += pieces[rng.int(pieces.count)] }
            let out = s(html)
            // Re-sanitizing sanitized output must be stable-ish and safe.
            assertSafe(out)
            assertSafe(s(out))
        }
    }

    @Test("Escaping finds every special character at every position of slices 0 to 48 bytes long, off the block grid, and copies the rest as it is")
    func escapeEveryPosition() {
        func reference(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
            var out: [UInt8] = []
            for c in bytes {
                switch c {
                case 0x26: out += Array("&amp;".utf8)
                case 0x3C: out += Array("&lt;".utf8)
                case 0x3E: out += Array("&gt;".utf8)
                case 0x22: out += Array("&quot;".utf8)
                case 0x27: out += Array("&#39;".utf8)
                case 0x00: out += Array("\u{FFFD}".utf8)
                default: out.append(c)
                }
            }
            return out
        }
        let specials: [UInt8] = [0x26, 0x3C, 0x3E, 0x22, 0x27, 0x00, 0x41, 0xC3, 0x3B, 0x23]
        for length in 0...48 {
            for position in 0..<max(length, 1) {
                for special in specials {
                    // Three bytes in front, so the slice starts off the array's own start and off the 16-byte grid.
                    var bytes = [UInt8](repeating: 0x78, count: length + 3)
                    if length > 0 { bytes[3 + position] = special }
                    if length > 2 { bytes[3 + length - 1] = 0x27 }
                    let slice = bytes[3...]
                    var out: [UInt8] = []
                    HTMLSanitizer.escape(slice, into: &out)
                    #expect(out == reference(slice), "length \(length), \(special) at \(position)")
                }
            }
        }
    }
}
