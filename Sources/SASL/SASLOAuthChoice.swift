/// Which OAuth mechanism to sign in with, for IMAP and SMTP alike: XOAUTH2 where the server offers it (Microsoft
/// and Google do) or announces neither, else OAUTHBEARER (RFC 7628), the standard one.
public enum SASLOAuthChoice {
    /// - Parameter offered: the mechanism names the server announced (IMAP `AUTH=` capabilities without the prefix,
    ///   or SMTP's EHLO `AUTH` list), in any case.
    public static func mechanism(offered: some Sequence<String>, user: String, accessToken: String) -> any SASLMechanism {
        let names = Set(offered.map { $0.uppercased() })
        if names.contains("XOAUTH2") || !names.contains("OAUTHBEARER") {
            return SASLXOAuth2(user: user, accessToken: accessToken)
        }
        return SASLOAuthBearer(user: user, accessToken: accessToken)
    }
}
