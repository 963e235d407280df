import Foundation
import MailroomTestSupport
import Testing
@testable import Web

/// The pages, the stylesheet, the form script and the OpenAPI document are files of their own, embedded in the
/// binary; these tests hold them to what the code expects of them.
@Suite("Contracts in their own files")
struct ContractFilesTests {
    @Test("Every page's template parses and renders; the layout links the stylesheet and carries the body")
    func templates() throws {
        for page in Page.allCases {
            #expect(!page.template.isEmpty, "\(page) has no template")
            _ = try PagesController.parse(page)
        }
        let layout = Page.layout.template
        #expect(layout.contains("<link rel=\"stylesheet\" href=\"/static/mailroom.css\">"))
        #expect(layout.contains("{{{body}}}"))
        #expect(!layout.contains("<style>"), "the CSS lives in its own file")
    }

    @Test("The static files are the stylesheet and the form script, non-empty")
    func staticFiles() {
        #expect(String(decoding: StaticFile.stylesheet.bytes, as: UTF8.self).contains("body {"))
        #expect(String(decoding: StaticFile.mailboxForm.bytes, as: UTF8.self).contains("mailbox-form"))
    }

    @Test("The OpenAPI document is valid OpenAPI 3.1 (openapi-spec-validator from PyPI, installed by scripts/test)")
    func openAPIValidates() throws {
        let validator = TestPaths.repoRoot.appendingPathComponent(".build/test-tools/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: validator) else {
            Issue.record("The OpenAPI validator is not installed at \(validator): run scripts/test, which installs it.")
            return
        }
        let file = try TestPaths.temporaryDirectory("openapi").appendingPathComponent("openapi.yaml")
        try OpenAPIDocument.yaml.write(to: file, atomically: true, encoding: .utf8)
        let output = try ProcessRunner.run([validator, "-m", "openapi_spec_validator", file.path], allowFailure: true)
        #expect(output.contains(": OK"), "\(output)")
        #expect(OpenAPIDocument.yaml.hasPrefix("openapi: 3.1"))
    }
}
