import Crypto
import Foundation

/// A corpus written out as files, for programs that are not Mailroom (the benchmark's peers read it
/// from the Dovecot it is delivered to, or from `eml/`): `eml/NNNNNNN.eml` and `manifest.json`.
public struct CorpusFolder: Sendable {
    public struct Manifest: Codable, Sendable, Equatable {
        public var count: Int
        public var seed: UInt64
        public var totalBytes: Int
        public var sha256: String
        public var kinds: [String: Int]
        public var replies: Int
    }

    public let url: URL

    public init(url: URL) { self.url = url }

    public var emlDirectory: URL { url.appendingPathComponent("eml") }
    public var manifestURL: URL { url.appendingPathComponent("manifest.json") }

    /// The manifest of what is there, if it was written completely.
    public func manifest() -> Manifest? {
        guard let data = try? Data(contentsOf: manifestURL) else { return nil }
        return try? JSONDecoder().decode(Manifest.self, from: data)
    }

    /// Writes `count` messages from `seed` unless the folder already holds exactly them.
    @discardableResult
    public func write(count: Int, seed: UInt64) throws -> Manifest {
        if let existing = manifest(), existing.count == count, existing.seed == seed { return existing }
        let files = FileManager.default
        try? files.removeItem(at: emlDirectory)
        try? files.removeItem(at: manifestURL)
        try files.createDirectory(at: emlDirectory, withIntermediateDirectories: true)
        var generator = CorpusGenerator(seed: seed)
        var hash = SHA256()
        var total = 0
        var replies = 0
        var kinds: [String: Int] = [:]
        for number in 1...max(1, count) where number <= count {
            let message = generator.next()
            hash.update(data: message.bytes)
            total += message.bytes.count
            replies += message.isReply ? 1 : 0
            kinds[message.kind.rawValue, default: 0] += 1
            try Data(message.bytes).write(to: emlDirectory.appendingPathComponent(String(format: "%07d.eml", number)))
        }
        let manifest = Manifest(count: count, seed: seed, totalBytes: total,
                                sha256: hash.finalize().map { String(format: "%02x", $0) }.joined(), kinds: kinds, replies: replies)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // Written last: a folder without a manifest is an interrupted one and is written again.
        try encoder.encode(manifest).write(to: manifestURL, options: .atomic)
        return manifest
    }

    /// The messages' file names in order.
    public func files() throws -> [URL] {
        try FileManager.default.contentsOfDirectory(atPath: emlDirectory.path).filter { $0.hasSuffix(".eml") }.sorted()
            .map { emlDirectory.appendingPathComponent($0) }
    }
}
