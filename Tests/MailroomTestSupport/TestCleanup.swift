import Foundation

/// Stops what the tests started when the test process exits.
public enum TestCleanup {
    nonisolated(unsafe) private static var actions: [@Sendable () -> Void] = []
    private static let lock = NSLock()
    private static let installed: Void = { atexit { TestCleanup.runAll() } }()

    public static func register(_ action: @escaping @Sendable () -> Void) {
        _ = installed
        lock.lock()
        actions.append(action)
        lock.unlock()
    }

    public static func runAll() {
        lock.lock()
        let all = actions
        actions = []
        lock.unlock()
        for action in all.reversed() { action() }
    }
}
