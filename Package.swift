// swift-tools-version:6.2
import PackageDescription

// Fuzz builds are optimized; checks meant for tests and fuzzers test `DEBUG || MAILROOM_FUZZ`.
let swiftSettings: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]
    + (Context.environment["MAILROOM_FUZZ"] == "1" ? [.define("MAILROOM_FUZZ")] : [])

let package = Package(
    name: "Mailroom",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "mailroom", targets: ["mailroom"]),
        .executable(name: "mailroom-bench", targets: ["mailroom-bench"]),
        .executable(name: "identity-emulator", targets: ["identity-emulator"]),
        .executable(name: "mailroom-demo", targets: ["mailroom-demo"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
        .package(url: "https://github.com/vapor/sqlite-kit.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/postgres-kit.git", from: "2.17.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // The MIME parser's byte-scanning kernels in AVX2, chosen at run time (no other C in the product).
        .target(name: "CByteScan"),
        .target(name: "MIME", dependencies: ["CByteScan"], swiftSettings: swiftSettings),
        .target(name: "SASL", swiftSettings: swiftSettings),
        .target(
            name: "MailTransport",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "IMAP",
            dependencies: [
                "SASL", "MailTransport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SMTP",
            dependencies: [
                "SASL", "MailTransport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "OAuth",
            dependencies: [
                "MIME",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "IdentityEmulator",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "identity-emulator",
            dependencies: [
                "IdentityEmulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "LocalMailServers", swiftSettings: swiftSettings),
        .target(name: "MailCorpus", dependencies: [.product(name: "Crypto", package: "swift-crypto")], swiftSettings: swiftSettings),
        .executableTarget(
            name: "mailroom-demo",
            dependencies: [
                "IdentityEmulator", "SMTP", "MIME", "LocalMailServers",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "MailroomCore", dependencies: ["MIME"], swiftSettings: swiftSettings),
        .target(
            name: "Storage",
            dependencies: [
                "MailroomCore",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Engine",
            dependencies: [
                "MailroomCore", "Storage", "IMAP", "SMTP", "SASL", "OAuth", "MIME", "MailTransport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Web",
            dependencies: [
                "MailroomCore", "Engine", "MIME", "OAuth",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            resources: [
                // Embedded in the code, so `mailroom` stays one self-contained binary with no bundle beside it.
                .embedInCode("Resources/openapi.yaml"),
                .embedInCode("Resources/static/mailbox-form.js"),
                .embedInCode("Resources/static/mailroom.css"),
            ] + ["layout", "tickets", "ticket", "channels", "mailbox", "not_found", "new_mailbox", "signin", "signin_failed", "help_reauthorize"]
                .map { .embedInCode("Resources/templates/\($0).mustache") },
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "mailroom",
            dependencies: [
                "MailroomCore", "Storage", "Engine", "Web", "IMAP", "SMTP", "OAuth",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "mailroom-bench",
            dependencies: [
                "MailroomCore", "Storage", "Engine", "IMAP", "MIME", "MailCorpus", "LocalMailServers",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "MIMETests", dependencies: ["MIME"], swiftSettings: swiftSettings),
        .testTarget(name: "SASLTests", dependencies: ["SASL"], swiftSettings: swiftSettings),
        .testTarget(
            name: "MailTransportTests",
            dependencies: [
                "MailTransport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        // On SQLite and on a PostgreSQL the tests start themselves (LocalMailServers); no mail server.
        .testTarget(
            name: "StorageTests",
            dependencies: [
                "Storage", "MailroomCore", "MIME", "MailroomTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EngineTests",
            dependencies: ["Engine", "MailroomCore", "Storage", "LocalMailServers", "MailroomTestSupport", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IMAPTests",
            dependencies: [
                "IMAP", "SASL", "MailroomTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SMTPTests",
            dependencies: ["SMTP", "SASL", "LocalMailServers", "MailroomTestSupport", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IdentityEmulatorTests",
            dependencies: [
                "IdentityEmulator", "MailroomTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "OAuthTests",
            dependencies: [
                "OAuth",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "MailroomCoreTests", dependencies: ["MailroomCore", "MIME"], swiftSettings: swiftSettings),
        .testTarget(name: "MailCorpusTests", dependencies: ["MailCorpus", "MIME"], swiftSettings: swiftSettings),
        // What test targets share: the in-memory store and a keyless vault, the log capture, the scripted line server,
        // store fixtures on SQLite and PostgreSQL, the people tests sign in as, and the helpers that run programs.
        .target(
            name: "MailroomTestSupport",
            dependencies: [
                "MailroomCore", "MIME", "Storage", "Web", "LocalMailServers",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Tests/MailroomTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WebTests",
            dependencies: [
                "Web", "Engine", "MailroomCore", "MIME", "MailroomTestSupport", "Storage", "OAuth",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "MailroomCore", "Storage", "Engine", "IMAP", "SMTP", "SASL", "OAuth", "IdentityEmulator", "MIME", "Web", "LocalMailServers", "MailCorpus", "MailroomTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)

// libFuzzer targets, built only by scripts/fuzz (which sets MAILROOM_FUZZ=1 and adds
// -sanitize=fuzzer,address): a normal build, and CI, never sees them.
if Context.environment["MAILROOM_FUZZ"] == "1" {
    package.targets += [
        .target(name: "FuzzDriver", path: "Fuzz/Driver"),
        .executableTarget(name: "FuzzMIME", dependencies: ["FuzzDriver", "MIME"], path: "Fuzz/FuzzMIME", swiftSettings: swiftSettings),
        .executableTarget(name: "FuzzHTML", dependencies: ["FuzzDriver", "MIME"], path: "Fuzz/FuzzHTML", swiftSettings: swiftSettings),
        .executableTarget(name: "FuzzIMAP", dependencies: ["FuzzDriver", "IMAP"], path: "Fuzz/FuzzIMAP", swiftSettings: swiftSettings),
        .executableTarget(name: "FuzzSMTPReply", dependencies: ["FuzzDriver", "SMTP"], path: "Fuzz/FuzzSMTPReply", swiftSettings: swiftSettings),
        .executableTarget(name: "FuzzSMTPSession", dependencies: ["FuzzDriver", "SMTP"], path: "Fuzz/FuzzSMTPSession", swiftSettings: swiftSettings),
        .executableTarget(name: "FuzzOAuth", dependencies: ["FuzzDriver", "OAuth", "SASL"], path: "Fuzz/FuzzOAuth", swiftSettings: swiftSettings),
    ]
}
