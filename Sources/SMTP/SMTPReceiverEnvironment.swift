import Foundation

extension SMTPReceiverConfiguration {
    /// The variables ``init(environment:host:port:)`` reads, for a warning when they are set but the
    /// receiver is off.
    public static let environmentVariables = [
        "MAILROOM_SMTP_RECEIVER_HOST", "MAILROOM_SMTP_RECEIVER_HOSTNAME", "MAILROOM_SMTP_RECEIVER_CERT", "MAILROOM_SMTP_RECEIVER_KEY",
        "MAILROOM_SMTP_RECEIVER_ALLOW", "MAILROOM_SMTP_RECEIVER_USER", "MAILROOM_SMTP_RECEIVER_PASSWORD",
        "MAILROOM_SMTP_RECEIVER_MAX_CONNECTIONS", "MAILROOM_SMTP_RECEIVER_MAX_CONNECTIONS_PER_CLIENT",
        "MAILROOM_SMTP_RECEIVER_COMMAND_TIMEOUT", "MAILROOM_SMTP_RECEIVER_DATA_TIMEOUT", "MAILROOM_SMTP_RECEIVER_MAX_MESSAGE_SIZE",
        "MAILROOM_SMTP_RECEIVER_SPOOL_DIR", "MAILROOM_SMTP_RECEIVER_SPOOL_THRESHOLD",
    ]

    /// The receiver's settings from `MAILROOM_SMTP_RECEIVER_*` (empty counts as unset), over the defaults.
    ///
    /// Every value is checked here, before anything listens, and a bad one throws an error that names the
    /// variable and says how to write it: a receiver that quietly ignored a typo in its allow list, or
    /// ran without the AUTH it was given, would be worse than none. The password is never in a message.
    ///
    /// - Parameters:
    ///   - host: where to listen when `MAILROOM_SMTP_RECEIVER_HOST` is unset (`serve --host`).
    ///   - port: the receiver's port.
    public init(environment: [String: String], host: String, port: Int) throws(SMTPReceiverConfigurationError) {
        func value(_ name: String) -> String? {
            guard let text = environment[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
            return text
        }
        func integer(_ name: String, default fallback: Int, range: ClosedRange<Int>, unit: String) throws(SMTPReceiverConfigurationError) -> Int {
            guard let text = value(name) else { return fallback }
            guard let number = Int(text), range.contains(number) else {
                throw SMTPReceiverConfigurationError("\(name) must be a whole number of \(unit) from \(range.lowerBound) to \(range.upperBound); got «\(text)».")
            }
            return number
        }
        func seconds(_ name: String, default fallback: Duration) throws(SMTPReceiverConfigurationError) -> Duration {
            guard let text = value(name) else { return fallback }
            guard let number = Double(text), number.isFinite, number > 0, number <= 86_400 else {
                throw SMTPReceiverConfigurationError("\(name) must be a number of seconds above 0 and at most 86400; got «\(text)».")
            }
            return .milliseconds(Int64((number * 1000).rounded()))
        }

        let defaults = SMTPReceiverLimits()
        var limits = defaults
        limits.maxConnections = try integer("MAILROOM_SMTP_RECEIVER_MAX_CONNECTIONS", default: defaults.maxConnections, range: 1...100_000, unit: "connections")
        limits.maxConnectionsPerClient = try integer(
            "MAILROOM_SMTP_RECEIVER_MAX_CONNECTIONS_PER_CLIENT", default: defaults.maxConnectionsPerClient, range: 1...100_000, unit: "connections")
        limits.commandTimeout = try seconds("MAILROOM_SMTP_RECEIVER_COMMAND_TIMEOUT", default: defaults.commandTimeout)
        limits.dataTimeout = try seconds("MAILROOM_SMTP_RECEIVER_DATA_TIMEOUT", default: defaults.dataTimeout)
        limits.maxMessageSize = try integer(
            "MAILROOM_SMTP_RECEIVER_MAX_MESSAGE_SIZE", default: defaults.maxMessageSize, range: 1024...(1 << 30), unit: "bytes")
        limits.spoolThreshold = try integer(
            "MAILROOM_SMTP_RECEIVER_SPOOL_THRESHOLD", default: defaults.spoolThreshold, range: 4096...(256 << 20), unit: "bytes")

        var tls: SMTPReceiverTLS?
        switch (value("MAILROOM_SMTP_RECEIVER_CERT"), value("MAILROOM_SMTP_RECEIVER_KEY")) {
        case (let certificate?, let key?):
            tls = try SMTPReceiverTLS(certificateFile: certificate, keyFile: key)
        case (nil, nil):
            break
        case (_?, nil):
            throw SMTPReceiverConfigurationError("MAILROOM_SMTP_RECEIVER_CERT is set but MAILROOM_SMTP_RECEIVER_KEY is not: STARTTLS needs both PEM files.")
        case (nil, _?):
            throw SMTPReceiverConfigurationError("MAILROOM_SMTP_RECEIVER_KEY is set but MAILROOM_SMTP_RECEIVER_CERT is not: STARTTLS needs both PEM files.")
        }

        var credentials: SMTPReceiverCredentials?
        // The password is taken as it is (not trimmed): spaces may be part of it.
        let password = environment["MAILROOM_SMTP_RECEIVER_PASSWORD"].flatMap { $0.isEmpty ? nil : $0 }
        switch (value("MAILROOM_SMTP_RECEIVER_USER"), password) {
        case (let user?, let password?):
            credentials = SMTPReceiverCredentials(username: user, password: password)
        case (nil, nil):
            break
        case (_?, nil):
            throw SMTPReceiverConfigurationError("MAILROOM_SMTP_RECEIVER_USER is set but MAILROOM_SMTP_RECEIVER_PASSWORD is not: AUTH needs both.")
        case (nil, _?):
            throw SMTPReceiverConfigurationError("MAILROOM_SMTP_RECEIVER_PASSWORD is set but MAILROOM_SMTP_RECEIVER_USER is not: AUTH needs both.")
        }
        if credentials != nil && tls == nil {
            throw SMTPReceiverConfigurationError(
                "MAILROOM_SMTP_RECEIVER_USER and _PASSWORD need STARTTLS, so the password never crosses the network in the clear: "
                    + "set MAILROOM_SMTP_RECEIVER_CERT and MAILROOM_SMTP_RECEIVER_KEY too.")
        }

        var networks: [IPNetwork] = []
        if let allow = value("MAILROOM_SMTP_RECEIVER_ALLOW") {
            do {
                networks = try IPNetwork.list(allow)
            } catch {
                throw SMTPReceiverConfigurationError(
                    "MAILROOM_SMTP_RECEIVER_ALLOW: \(error). Write networks separated by commas, e.g. 192.0.2.0/24,2001:db8::/32.")
            }
        }

        let spoolDirectory = value("MAILROOM_SMTP_RECEIVER_SPOOL_DIR") ?? FileManager.default.temporaryDirectory.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: spoolDirectory, isDirectory: &isDirectory), isDirectory.boolValue,
              FileManager.default.isWritableFile(atPath: spoolDirectory)
        else {
            throw SMTPReceiverConfigurationError("The SMTP receiver's spool folder «\(spoolDirectory)» is not a writable folder (MAILROOM_SMTP_RECEIVER_SPOOL_DIR).")
        }

        let bind = value("MAILROOM_SMTP_RECEIVER_HOST") ?? host
        let unspecified = bind == "0.0.0.0" || bind == "::"
        self.init(
            host: bind, port: port, hostname: value("MAILROOM_SMTP_RECEIVER_HOSTNAME") ?? (unspecified ? "localhost" : bind),
            limits: limits, policy: try SMTPReceiverPolicy(allowedNetworks: networks, tls: tls, credentials: credentials),
            spoolDirectory: spoolDirectory)
    }
}
