import MailroomTestSupport

/// Signing in as a person does, in headless Chromium.
extension WebDriver {
    /// Signs in through Mailroom's sign-in form, as a person does.
    func signIn(base: String, email: String = TestPeople.adminEmail, password: String = TestPeople.adminPassword) async throws {
        try await go("\(base)/signin")
        try await type("#signin-email", email)
        try await type("#signin-password", password)
        try await click("#signin-submit")
        try await waitFor("#current-user")
    }

    /// Loads `url` until its page contains every one of `texts` (the workers run in the background), and returns it.
    @discardableResult
    func reload(_ url: String, until texts: [String], timeout: Duration = .seconds(30)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        var page = ""
        while ContinuousClock.now < deadline {
            try await go(url)
            page = try await source()
            if texts.allSatisfy(page.contains) { return page }
            try await Task.sleep(for: .milliseconds(300))
        }
        throw BrowserError("\(url) never showed \(texts.filter { !page.contains($0) }); it shows: \(page.prefix(2000))")
    }
}
