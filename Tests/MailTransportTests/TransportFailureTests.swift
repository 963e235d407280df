import NIOCore
import NIOSSL
import Testing

@testable import MailTransport

/// One classification of NIO, NIOSSL and BoringSSL errors for both clients: a handshake cut short is the network's
/// fault (`closed`), a certificate or protocol problem is `tls` with the fault an admin must fix.
@Suite("TransportFailure classification")
struct TransportFailureTests {
    @Test("An unclean TLS shutdown is the server hanging up, not a TLS problem")
    func uncleanShutdownIsClosed() {
        let failure = TransportFailure(classifying: NIOSSLError.uncleanShutdown)
        #expect(failure.kind == .closed && failure.tlsFault == nil)
        #expect(failure.command == nil)
    }

    @Test("A connect timeout is blamed on CONNECT")
    func connectTimeout() {
        let failure = TransportFailure(classifying: ChannelError.connectTimeout(.seconds(2)))
        #expect(failure.kind == .connectTimeout)
        #expect(failure.command == "CONNECT")
    }

    @Test("A certificate for other names is a wrong name")
    func hostnameMismatch() {
        let failure = TransportFailure(classifying: NIOSSLExtraError.failedToValidateHostname)
        #expect(failure.kind == .tls && failure.tlsFault == .wrongName)
    }

    @Test("A certificate that cannot be validated is untrusted")
    func unvalidatedCertificate() {
        let failure = TransportFailure(classifying: NIOSSLError.unableToValidateCertificate)
        #expect(failure.kind == .tls && failure.tlsFault == .untrustedCertificate)
    }

    @Test("BoringSSL's reason codes decide the fault; EOF or a reset mid-handshake is no TLS fault at all", arguments: [
        ("error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED", TransportFailure.TLSFault?.some(.untrustedCertificate)),
        ("error:10000070:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER", .some(.noCommonProtocol)),
        ("error:100000b8:SSL routines:OPENSSL_internal:NO_SHARED_CIPHER", .some(.noCommonProtocol)),
        ("sslError([Error:  EOF during handshake])", nil),
        ("read: Connection reset by peer (errno: 104)", nil),
        ("something BoringSSL never said before", .some(.other)),
    ])
    func reasonCodes(text: String, fault: TransportFailure.TLSFault?) {
        #expect(TransportFailure.tlsFault(of: NIOSSLError.handshakeFailed(.sslError([])), text: text) == fault)
    }

    @Test("Anything unknown counts as a closed connection; a TransportFailure passes through unchanged")
    func unknownAndPassThrough() {
        struct Odd: Error {}
        #expect(TransportFailure(classifying: Odd()).kind == .closed)
        let original = TransportFailure(.connectFailed, detail: "refused")
        #expect(TransportFailure(classifying: original) == original)
    }

    @Test("Only a TLS failure carries a fault, and a TLS failure always does")
    func faultOnlyForTLS() {
        #expect(TransportFailure(.closed, detail: "x", tlsFault: .wrongName).tlsFault == nil)
        #expect(TransportFailure(.tls, detail: "x").tlsFault == .other)
    }
}
