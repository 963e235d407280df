import Foundation

/// Where browsers and identity providers reach Mailroom (`MAILROOM_PUBLIC_URL`): OAuth redirect URIs, links in admin
/// emails and the `Secure` cookie decision all start from it. It must be the root of a site — pages, links and
/// cookies are on `/` (the sign-in's cookie on `/oauth` would never come back under a path) — so only `http://` or
/// `https://`, a host, perhaps a port.
public enum PublicURL {
    public struct Refusal: Error, CustomStringConvertible {
        public let description: String
    }

    /// The address with its scheme in lower case and no trailing slash, as every user appends a path to it.
    /// The refusal quotes the value, except when it carries a user or password, which it never repeats.
    public static func normalized(_ text: String) throws(Refusal) -> String {
        let example = "the root of an http:// or https:// site, such as https://help.example.com"
        guard let url = URLComponents(string: text), url.user == nil, url.password == nil else {
            throw Refusal(description: "MAILROOM_PUBLIC_URL must be \(example), without a user or password.")
        }
        guard let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty,
              url.path.isEmpty || url.path == "/", url.query == nil, url.fragment == nil,
              let rest = text.range(of: "://").map({ text[$0.upperBound...] })
        else {
            throw Refusal(description: "MAILROOM_PUBLIC_URL must be \(example); got «\(text)».")
        }
        return "\(scheme)://\(rest.hasSuffix("/") ? rest.dropLast() : rest)"
    }
}
