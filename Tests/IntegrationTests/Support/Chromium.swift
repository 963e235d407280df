import Foundation
import MailroomTestSupport

/// Real headless Chromium (Debian's package): the DOM a browser builds from our pages, and screenshots.
enum Chromium {
    static var binary: String {
        get throws {
            for path in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] where FileManager.default.isExecutableFile(atPath: path) {
                return path
            }
            throw ProcessRunner.Failure(command: "find chromium", status: -1, output: "Chromium is not installed: apt-get install -y chromium")
        }
    }

    static func arguments(_ profile: URL) -> [String] {
        ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
         "--user-data-dir=\(profile.path)", "--virtual-time-budget=3000"]
    }

    /// The document as the browser parsed and rendered it, scripts and all.
    static func dom(_ url: String) throws -> String {
        let profile = try TestPaths.temporaryDirectory("chromium")
        defer { try? FileManager.default.removeItem(at: profile) }
        return try ProcessRunner.run([try binary] + arguments(profile) + ["--dump-dom", url])
    }

    /// A PNG of the page at a desktop size.
    static func screenshot(_ url: String, to path: String, height: Int = 900) throws {
        let profile = try TestPaths.temporaryDirectory("chromium")
        defer { try? FileManager.default.removeItem(at: profile) }
        try ProcessRunner.run([try binary] + arguments(profile) + ["--window-size=1280,\(height)", "--screenshot=\(path)", url])
    }
}
