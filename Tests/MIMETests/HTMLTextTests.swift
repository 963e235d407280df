import Testing
@testable import MIME

@Suite struct HTMLTextTests {
    @Test func blocksEntitiesAndWhitespace() {
        let html = """
        <html><head><title>Ignore me</title><style>body { color: red }</style>
        <script>alert('x')</script></head>
        <body>
          <p>Hello   <b>World</b>,</p>
          <div>Line&nbsp;one<br>Line two<br/>
          </div>
          <ul><li>First</li><li>Second &amp; third</li></ul>
          <p>&lt;tag&gt; &#8364; &#x1F600; &euro; &copy; &bogus; &amp</p>
          <table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>
          <pre>  keep
            spacing</pre>
        </body></html>
        """
        let text = HTMLText.plainText(fromHTML: html)
        #expect(text == """
        Hello World,

        Line one
        Line two

        First
        Second & third

        <tag> € 😀 € © &bogus; &amp

        a b
        c

          keep
            spacing
        """)
    }

    @Test func scriptContentDroppedEvenIfTricky() {
        #expect(HTMLText.plainText(fromHTML: "a<script type=x>if (a < b) { x = '</p>' }</script>b") == "ab")
        #expect(HTMLText.plainText(fromHTML: "a<SCRIPT>x</SCRIPT >b<style>c</style>d") == "abd")
        #expect(HTMLText.plainText(fromHTML: "x<!-- hidden <b>y</b> -->z") == "xz")
        #expect(HTMLText.plainText(fromHTML: "unclosed <script>oops") == "unclosed")
    }

    @Test func malformedInput() {
        #expect(HTMLText.plainText(fromHTML: "") == "")
        #expect(HTMLText.plainText(fromHTML: "a < b and c > d") == "a < b and c > d")
        #expect(HTMLText.plainText(fromHTML: "text <b unclosed") == "text")
        #expect(HTMLText.plainText(fromHTML: "<img alt=\"Logo\" src=\"cid:x\"> Hi") == "Logo Hi")
        #expect(HTMLText.plainText(fromHTML: "<p>&#0;&#xD800;&#99999999;</p>") == "\u{FFFD}\u{FFFD}\u{FFFD}")
        _ = HTMLText.plainText(fromHTML: String(repeating: "<div>", count: 10_000) + "deep")
    }
}
