import Foundation
import Testing

@Suite("A real Chromium driven over WebDriver", .serialized)
struct WebDriverTests {
    @Test("Loads the emulator's control page, presses a control, screenshots it, and leaves no browser behind")
    func emulatorControlPage() async throws {
        // Its own emulator: the faults pressed here must not reach tests sharing TestServers' one.
        let emulator = try await EmulatorFixture.start()
        do {
            try await drive(emulator)
        } catch {
            await emulator.running.stop()
            throw error
        }
        await emulator.running.stop()
    }

    private func drive(_ emulator: EmulatorFixture) async throws {
        let driver = try await WebDriver.start()
        let pid = driver.processID
        do {
            try await driver.go("\(emulator.baseURL)/emulator")
            #expect(try await driver.title() == "Identity emulator — not Mailroom")
            #expect(try await driver.text("h1") == "Identity emulator")
            #expect(try await driver.texts("h2").contains("Active faults"))
            #expect(try await driver.exists("form[action='/emulator/control/clearFaults'] button[type=submit]"))
            #expect(try await !driver.exists("#no-such-element"))
            let missing = await #expect(throws: WebDriver.Failure.self) { try await driver.click("#no-such-element") }
            #expect(missing?.description == "WebDriver: no element matches `#no-such-element` on \(emulator.baseURL)/emulator")

            // A fault shows up on the page; the harmless "Clear all faults" button takes it away again.
            try await driver.submit("form[action='/emulator/control/introspectionOutage']:has(input[value=true])")
            try await driver.waitForText("introspection")
            #expect(try await driver.currentURL() == "\(emulator.baseURL)/emulator")
            #expect(try await !driver.source().contains("No faults active."))
            try await driver.click("form[action='/emulator/control/clearFaults'] button")
            try await driver.waitForText("No faults active.")
            #expect(try await driver.currentURL() == "\(emulator.baseURL)/emulator")

            // A cookie set for the page reads back.
            try await driver.addCookie(name: "probe", value: "42")
            #expect(try await driver.cookies().contains { $0.name == "probe" && $0.value == "42" })

            let path = FileManager.default.temporaryDirectory.appendingPathComponent("webdriver-\(UUID().uuidString).png").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            try await driver.screenshot(to: path)
            let png = try Data(contentsOf: URL(fileURLWithPath: path))
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
            #expect(png.count > 10_000)
        } catch {
            await driver.quit()
            throw error
        }
        #expect(!driver.leftoverProcesses.isEmpty, "Chromium runs in chromedriver's process group")
        await driver.quit()
        #expect(kill(pid, 0) == -1 && errno == ESRCH, "chromedriver (pid \(pid)) is gone")
        #expect(driver.leftoverProcesses.isEmpty, "no Chromium process is left: \(driver.leftoverProcesses)")
        await #expect(throws: WebDriver.Failure.self) { try await driver.title() }
    }

    @Test("withWebDriver quits the browser when the test body fails midway")
    func quitsOnFailure() async throws {
        let emulator = try await EmulatorFixture.start()
        struct Midway: Error {}
        let box = PidBox()
        await #expect(throws: Midway.self) {
            try await withWebDriver(artifactsOnFailure: false) { driver in
                box.set(driver.processID)
                #expect(!driver.leftoverProcesses.isEmpty)
                try await driver.go("\(emulator.baseURL)/emulator")
                try await driver.waitFor("h1")
                throw Midway()
            }
        }
        await emulator.running.stop()
        let pid = box.get()
        #expect(pid != 0)
        #expect(kill(pid, 0) == -1 && errno == ESRCH, "chromedriver (pid \(pid)) is gone")
        #expect(WebDriver.liveProcesses(inGroup: pid).isEmpty, "no Chromium process is left")
    }
}

private final class PidBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: pid_t = 0
    func set(_ pid: pid_t) { lock.withLock { value = pid } }
    func get() -> pid_t { lock.withLock { value } }
}
