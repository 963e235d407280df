import Foundation

/// A certificate authority of its own and a server certificate it signed for `localhost` and `127.0.0.1`:
/// TLS on loopback that Mailroom verifies as it would a real server's, once told to trust the CA.
public struct LoopbackCertificates: Sendable {
    public let caFile: String
    public let certificateFile: String
    public let keyFile: String

    /// Creates them with OpenSSL in `directory`, under a CA named `caName`.
    public static func make(in directory: String, caName: String) throws(SpawnFailure) -> LoopbackCertificates {
        let ca = "\(directory)/ca.pem"
        let steps: [[String]] = [
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", "/CN=\(caName)",
             "-keyout", "\(directory)/ca.key", "-out", ca],
            ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
             "-keyout", "\(directory)/server.key", "-out", "\(directory)/server.csr"],
            ["openssl", "x509", "-req", "-in", "\(directory)/server.csr", "-CA", ca, "-CAkey", "\(directory)/ca.key",
             "-CAcreateserial", "-days", "30", "-extfile", "\(directory)/ext.cnf", "-out", "\(directory)/server.pem"],
        ]
        guard FileManager.default.createFile(atPath: "\(directory)/ext.cnf", contents: Data("subjectAltName=DNS:localhost,IP:127.0.0.1\n".utf8)) else {
            throw SpawnFailure(program: "openssl", reason: "cannot write \(directory)/ext.cnf")
        }
        for step in steps {
            let (status, output) = try CleanSpawn.run(step)
            guard status == 0 else { throw SpawnFailure(program: step.joined(separator: " "), reason: "exit \(status): \(output)") }
        }
        return LoopbackCertificates(caFile: ca, certificateFile: "\(directory)/server.pem", keyFile: "\(directory)/server.key")
    }
}
