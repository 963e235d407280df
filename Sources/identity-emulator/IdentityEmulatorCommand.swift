// identity-emulator: serves Mailroom's stand-in for Microsoft's identity platform and Google OAuth
// with the demo clients and accounts, for the demo and for manual testing.
//
//   swift run identity-emulator --port 9400 [--host 127.0.0.1] [--access-token-lifetime 3600]
//
// Logs one line per request (method, path, status); never tokens, codes, secrets or verifiers.
import ArgumentParser
import Hummingbird
import IdentityEmulator
import Logging

@main
struct IdentityEmulatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "identity-emulator",
        abstract: "Stand-in for Microsoft's identity platform and Google OAuth (tests and demo only).")

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0 = any free port).")
    var port = 9400

    @Option(name: .customLong("access-token-lifetime"), help: "Access-token lifetime in seconds (expires_in).")
    var accessTokenLifetime = 3600

    @Option(name: .customLong("base-url"), help: "Public base URL for issuers, if not http://<host>:<port>.")
    var baseURL: String?

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535") }
        guard accessTokenLifetime > 0 else { throw ValidationError("--access-token-lifetime must be positive") }
    }

    func run() async throws {
        let logger = {
            var logger = Logger(label: "identity-emulator")
            logger.logLevel = .info
            return logger
        }()
        let emulator = IdentityEmulator.demo(accessTokenLifetime: accessTokenLifetime, baseURL: baseURL, logger: logger)
        let hostForURL = host.contains(":") ? "[\(host)]" : host
        let app = emulator.buildApplication(host: host, port: port) { bound in
            let url = baseURL ?? "http://\(hostForURL):\(bound ?? port)"
            if baseURL == nil { await emulator.setBaseURL(url) }
            logger.notice("identity emulator listening on \(url) — dashboard \(url)/emulator")
        }
        try await app.runService()
    }
}
