import AsyncHTTPClient
import Foundation
import MailroomTestSupport
import NIOCore
import Synchronization

/// A real headless Chromium driven over W3C WebDriver (Debian's chromium + chromium-driver): clicks, typing,
/// forms and cookies, where ``Chromium`` can only dump the DOM. Prefer ``withWebDriver(artifactsOnFailure:_:)``, which
/// always quits.
///
/// chromedriver runs in its own process group (via `setsid`), so ``quit()`` can end it and every Chromium
/// process it started, even if the session is stuck.
actor WebDriver {
    struct Failure: Error, CustomStringConvertible {
        var description: String
        /// The W3C error code (`no such element`, `element not interactable`, …) when chromedriver sent one.
        var code: String?
    }

    struct Cookie: Sendable, Equatable {
        var name: String
        var value: String
        var domain: String?
        var path: String?
        var httpOnly: Bool
        var secure: Bool
    }

    /// chromedriver's pid, also the id of the process group holding it and Chromium.
    nonisolated let processID: pid_t
    nonisolated let port: Int
    nonisolated let logFile: URL
    private let workdir: URL
    private var sessionID: String?
    private let cleaned: Cleanup
    private enum Verb: String { case GET, POST, DELETE }
    private static let elementKey = "element-6066-11e4-a52e-4f735466cecf"

    private final class Cleanup: Sendable { let done = Atomic<Bool>(false) }

    private init(processID: pid_t, port: Int, logFile: URL, workdir: URL) {
        self.processID = processID
        self.port = port
        self.logFile = logFile
        self.workdir = workdir
        cleaned = Cleanup()
    }

    /// Starts chromedriver on a free loopback port and opens a session in a fresh headless Chromium profile.
    static func start(timeout: Duration = .seconds(30)) async throws -> WebDriver {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver") else {
            throw Failure(description: "chromedriver is not installed: apt-get install -y chromium-driver")
        }
        let chromium = try Chromium.binary
        let workdir = try TestPaths.temporaryDirectory("webdriver")
        let profile = workdir.appendingPathComponent("profile")
        let logFile = workdir.appendingPathComponent("chromedriver.log")
        let port = try ProcessRunner.freePort()
        let pid = try ProcessRunner.spawn(["setsid", "--wait", "/usr/bin/chromedriver", "--port=\(port)", "--log-level=INFO"],
                                          workdir: workdir.path, logPath: logFile.path)
        let driver = WebDriver(processID: pid, port: port, logFile: logFile, workdir: workdir)
        TestCleanup.register { [cleaned = driver.cleaned] in
            if !cleaned.done.load(ordering: .acquiring) { kill(-pid, SIGKILL); kill(pid, SIGKILL) }
        }
        do {
            try await driver.waitUntilReady(timeout: timeout)
            try await driver.createSession(chromium: chromium, profile: profile)
            return driver
        } catch {
            let log = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
            await driver.quit()
            throw Failure(description: "WebDriver did not start: \(error)\nchromedriver log: \(log.suffix(2000))")
        }
    }

    private func createSession(chromium: String, profile: URL) async throws {
        let args = ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900",
                    "--no-first-run", "--user-data-dir=\(profile.path)"]
        // Page loads and scripts time out (as a WebDriver error) well before an HTTP request to chromedriver does.
        let capabilities: [String: Any] = ["capabilities": ["alwaysMatch": [
            "browserName": "chrome", "goog:chromeOptions": ["binary": chromium, "args": args],
            "timeouts": ["pageLoad": 30_000, "script": 30_000, "implicit": 0]]]]
        let value = try await send(.POST, "/session", capabilities, session: false, context: "create a session")
        guard let id = (value as? [String: Any])?["sessionId"] as? String else {
            throw Failure(description: "chromedriver created no session: \(value)")
        }
        sessionID = id
    }

    private func waitUntilReady(timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var status: Int32 = 0
            if waitpid(processID, &status, WNOHANG) == processID {
                cleaned.done.store(true, ordering: .releasing)
                throw Failure(description: "chromedriver exited (status \(status))")
            }
            if let value = try? await send(.GET, "/status", session: false) as? [String: Any], value["ready"] as? Bool == true { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw Failure(description: "chromedriver on port \(port) was not ready within \(timeout)")
    }

    // MARK: Navigation and page

    func go(_ url: String) async throws { try await send(.POST, "/url", ["url": url], context: "go to \(url)") }
    func currentURL() async throws -> String { try await string(.GET, "/url") }
    func title() async throws -> String { try await string(.GET, "/title") }
    func source() async throws -> String { try await string(.GET, "/source") }

    // MARK: Elements (CSS selectors; the first match unless said otherwise)

    /// The rendered, visible text of the first match.
    func text(_ css: String) async throws -> String {
        let id = try await element(css)
        return try await onElement(css, "read text of") { try await self.string(.GET, "/element/\(id)/text") }
    }

    func texts(_ css: String) async throws -> [String] {
        var result: [String] = []
        for id in try await elements(css) { result.append(try await string(.GET, "/element/\(id)/text")) }
        return result
    }

    func exists(_ css: String) async throws -> Bool { !(try await elements(css)).isEmpty }

    func click(_ css: String) async throws {
        let id = try await element(css)
        try await onElement(css, "click") { try await self.send(.POST, "/element/\(id)/click") }
    }

    /// Clears the field, then types `text` into it.
    func type(_ css: String, _ text: String) async throws {
        let id = try await element(css)
        try await onElement(css, "type into") {
            try await self.send(.POST, "/element/\(id)/clear")
            try await self.send(.POST, "/element/\(id)/value", ["text": text])
        }
    }

    /// Picks the `<option value="…">` of a `<select>`.
    func select(_ css: String, value: String) async throws {
        let select = try await element(css)
        let option = "option[value=\"\(value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\"]"
        let found = try await send(.POST, "/element/\(select)/elements", ["using": "css selector", "value": option])
        guard let id = Self.elementIDs(found).first else {
            throw Failure(description: "WebDriver: `\(css)` has no \(option) on \(await urlForErrors())", code: "no such element")
        }
        try await onElement("\(css) \(option)", "select") { try await self.send(.POST, "/element/\(id)/click") }
    }

    /// Ticks or unticks a checkbox (clicks it only when its state differs).
    func setChecked(_ css: String, _ on: Bool) async throws {
        let id = try await element(css)
        let selected = try await send(.GET, "/element/\(id)/selected") as? Bool ?? false
        if selected != on { try await onElement(css, "toggle") { try await self.send(.POST, "/element/\(id)/click") } }
    }

    /// Submits a form the way a user does: clicks its first submit button, or requestSubmit() when it has none.
    func submit(_ formCSS: String) async throws {
        let form = try await element(formCSS)
        let buttons = try await send(.POST, "/element/\(form)/elements",
                                     ["using": "css selector", "value": "button[type=submit], button:not([type]), input[type=submit]"])
        if let button = Self.elementIDs(buttons).first {
            try await onElement(formCSS, "submit") { try await self.send(.POST, "/element/\(button)/click") }
        } else {
            try await onElement(formCSS, "submit") {
                try await self.send(.POST, "/execute/sync", ["script": "arguments[0].requestSubmit()", "args": [[Self.elementKey: form]]])
            }
        }
    }

    // MARK: Waiting (polls every 200 ms; reloading is the caller's job)

    func waitFor(_ css: String, timeout: Duration = .seconds(10)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await exists(css) { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw Failure(description: "WebDriver: nothing matched `\(css)` within \(timeout) on \(await urlForErrors())")
    }

    /// Waits until the page's visible text (`document.body.innerText`) contains `text`.
    func waitForText(_ text: String, timeout: Duration = .seconds(10)) async throws {
        let deadline = ContinuousClock.now + timeout
        var seen = ""
        while ContinuousClock.now < deadline {
            seen = try await send(.POST, "/execute/sync", ["script": "return document.body ? document.body.innerText : ''", "args": []]) as? String ?? ""
            if seen.contains(text) { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw Failure(description: "WebDriver: \"\(text)\" did not appear within \(timeout) on \(await urlForErrors()); the page shows: \(seen.prefix(500))")
    }

    // MARK: Screenshots and cookies

    /// Saves a PNG of the viewport and returns its bytes.
    @discardableResult
    func screenshot(to path: String) async throws -> Data {
        let encoded = try await string(.GET, "/screenshot")
        guard let png = Data(base64Encoded: encoded) else { throw Failure(description: "WebDriver: the screenshot was not base64") }
        try png.write(to: URL(fileURLWithPath: path))
        return png
    }

    func cookies() async throws -> [Cookie] {
        let value = try await send(.GET, "/cookie") as? [[String: Any]] ?? []
        return value.compactMap { item in
            guard let name = item["name"] as? String, let value = item["value"] as? String else { return nil }
            return Cookie(name: name, value: value, domain: item["domain"] as? String, path: item["path"] as? String,
                          httpOnly: item["httpOnly"] as? Bool ?? false, secure: item["secure"] as? Bool ?? false)
        }
    }

    /// Sets a cookie for the current page's site (so ``go(_:)`` somewhere on that site first).
    func addCookie(name: String, value: String) async throws {
        try await send(.POST, "/cookie", ["cookie": ["name": name, "value": value, "path": "/"]], context: "add cookie \(name)")
    }

    // MARK: Ending

    /// Deletes the session and ends chromedriver and every Chromium process; safe to call more than once.
    func quit() async {
        if let id = sessionID {
            sessionID = nil
            _ = try? await send(.DELETE, "/session/\(id)", session: false, timeout: .seconds(20))
        }
        defer { try? FileManager.default.removeItem(at: workdir) }
        guard !cleaned.done.exchange(true, ordering: .acquiringAndReleasing) else { return }
        kill(-processID, SIGTERM)
        kill(processID, SIGTERM)
        var status: Int32 = 0
        var reaped = false
        for _ in 0..<50 where !reaped {
            reaped = waitpid(processID, &status, WNOHANG) == processID
            if !reaped { try? await Task.sleep(for: .milliseconds(100)) }
        }
        if !reaped {
            kill(-processID, SIGKILL)
            kill(processID, SIGKILL)
            _ = ProcessRunner.wait(processID)
        }
        for attempt in 0..<50 where !leftoverProcesses.isEmpty {
            if attempt == 20 { kill(-processID, SIGKILL) }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Live (not zombie) processes still in chromedriver's process group: empty once ``quit()`` is done.
    nonisolated var leftoverProcesses: [pid_t] { Self.liveProcesses(inGroup: processID) }

    /// Live (not zombie) processes in a process group, from /proc.
    static func liveProcesses(inGroup group: pid_t) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            // After "(comm)": state, ppid, pgrp, …
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, fields[0] != "Z", fields[0] != "X", pid_t(fields[2]) == group else { return nil }
            return pid
        }
    }

    // MARK: Protocol

    private func element(_ css: String) async throws -> String {
        let found: Any
        do {
            found = try await send(.POST, "/element", ["using": "css selector", "value": css])
        } catch let failure as Failure where failure.code == "no such element" {
            throw Failure(description: "WebDriver: no element matches `\(css)` on \(await urlForErrors())", code: failure.code)
        } catch let failure as Failure {
            throw Failure(description: "WebDriver: cannot find `\(css)` on \(await urlForErrors()): \(failure.description)", code: failure.code)
        }
        guard let id = (found as? [String: Any])?[Self.elementKey] as? String else {
            throw Failure(description: "WebDriver: no element id for `\(css)` in \(found)")
        }
        return id
    }

    private func elements(_ css: String) async throws -> [String] {
        Self.elementIDs(try await send(.POST, "/elements", ["using": "css selector", "value": css], context: "find `\(css)`"))
    }

    private static func elementIDs(_ value: Any) -> [String] {
        (value as? [[String: Any]] ?? []).compactMap { $0[elementKey] as? String }
    }

    /// Runs an element command, turning failures into errors that name the selector and the page.
    @discardableResult
    private func onElement<T>(_ css: String, _ action: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let failure as Failure {
            throw Failure(description: "WebDriver: cannot \(action) `\(css)` on \(await urlForErrors()): \(failure.description)", code: failure.code)
        }
    }

    private func urlForErrors() async -> String { (try? await currentURL()) ?? "(unknown URL)" }

    private func string(_ method: Verb, _ path: String) async throws -> String {
        let value = try await send(method, path)
        guard let text = value as? String else { throw Failure(description: "WebDriver: \(method) \(path) answered \(value), not text") }
        return text
    }

    /// One WebDriver command; returns the response's `value`. Paths are relative to the session unless `session` is false.
    @discardableResult
    private func send(_ method: Verb, _ path: String, _ body: [String: Any]? = nil, session: Bool = true,
                      context: String? = nil, timeout: Duration = .seconds(60)) async throws -> Any {
        var fullPath = path
        if session {
            guard let sessionID else { throw Failure(description: "WebDriver: no session (quit already?)") }
            fullPath = "/session/\(sessionID)\(path)"
        }
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(fullPath)")
        switch method {
        case .GET: request.method = .GET
        case .POST: request.method = .POST
        case .DELETE: request.method = .DELETE
        }
        if method == .POST {
            request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body ?? [:])))
        }
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .seconds(timeout.components.seconds))
            bytes = try await response.body.collect(upTo: 64 << 20)
        } catch {
            throw Failure(description: "\(context.map { "cannot \($0)" } ?? "\(method) \(path)"): chromedriver gave no answer within \(timeout): \(error)")
        }
        let json = try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView), options: [.fragmentsAllowed])
        let value = (json as? [String: Any])?["value"] ?? NSNull()
        if response.status.code >= 400 || json == nil {
            let details = value as? [String: Any]
            let code = details?["error"] as? String
            let message = (details?["message"] as? String).map { $0.components(separatedBy: "\n")[0] } ?? String(buffer: bytes).prefix(500).description
            let what = context.map { "cannot \($0)" } ?? "\(method) \(path)"
            throw Failure(description: "\(what): \(code ?? "HTTP \(response.status.code)"): \(message)", code: code)
        }
        return value
    }
}

/// Runs `body` with a fresh browser and always quits it, also when `body` throws; on failure a screenshot of the
/// page and the chromedriver log are saved and their paths printed (unless `artifactsOnFailure` is false).
func withWebDriver<T: Sendable>(artifactsOnFailure: Bool = true, _ body: (WebDriver) async throws -> T) async throws -> T {
    let driver = try await WebDriver.start()
    do {
        let result = try await body(driver)
        await driver.quit()
        return result
    } catch {
        guard artifactsOnFailure else {
            await driver.quit()
            throw error
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mailroom-webdriver-failure-\(UUID().uuidString.prefix(8)).png").path
        if (try? await driver.screenshot(to: path)) != nil {
            print("WebDriver: screenshot of \((try? await driver.currentURL()) ?? "the page") at failure: \(path)")
        }
        let log = path.replacingOccurrences(of: ".png", with: ".log")
        if (try? FileManager.default.copyItem(atPath: driver.logFile.path, toPath: log)) != nil { print("WebDriver: chromedriver log: \(log)") }
        await driver.quit()
        throw error
    }
}
