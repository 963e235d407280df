/// `OK`/`NO`/`BAD`/`PREAUTH`/`BYE` with optional response code and human text.
struct StatusResponse: Sendable, Equatable {
    enum Kind: String, Sendable, Equatable {
        case ok = "OK"
        case no = "NO"
        case bad = "BAD"
        case preauth = "PREAUTH"
        case bye = "BYE"
    }

    var kind: Kind
    var code: ResponseCode?
    var text: String
}
