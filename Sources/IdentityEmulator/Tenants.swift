import Foundation

/// Microsoft `{tenant}` path-segment semantics (ENTRA-v2-protocols "Endpoints"): `common` = work and
/// personal accounts, `organizations` = work only, `consumers` (or the consumer tenant's GUID) = personal
/// only, a tenant GUID or domain = that tenant's work accounts only.
extension IdentityEmulator {
    func isKnownTenant(_ segment: String) -> Bool {
        let key = segment.lowercased()
        if ["common", "organizations", "consumers", MicrosoftTenants.consumersTenantID].contains(key) { return true }
        return accountsByAddress.values.contains { account in
            if case .microsoft(let tenantID, let domain, .work) = account.provider {
                return tenantID.lowercased() == key || domain.lowercased() == key
            }
            return false
        }
    }

    /// Whether the account may sign in through this `{tenant}` segment.
    func isEligible(_ account: EmulatorAccount, tenant segment: String) -> Bool {
        guard case .microsoft(let tenantID, let domain, let kind) = account.provider else { return false }
        switch segment.lowercased() {
        case "common": return true
        case "organizations": return kind == .work
        case "consumers", MicrosoftTenants.consumersTenantID: return kind == .personal
        case let key: return kind == .work && (tenantID.lowercased() == key || domain.lowercased() == key)
        }
    }

    /// The tenant GUID a specific segment names (for issuers), or nil for the multi-tenant segments.
    func tenantID(forSegment segment: String) -> String? {
        let key = segment.lowercased()
        switch key {
        case "common", "organizations": return nil
        case "consumers", MicrosoftTenants.consumersTenantID: return MicrosoftTenants.consumersTenantID
        default:
            for account in accountsByAddress.values {
                if case .microsoft(let tenantID, let domain, .work) = account.provider,
                    tenantID.lowercased() == key || domain.lowercased() == key
                {
                    return tenantID
                }
            }
            return nil
        }
    }

    /// Accounts offered at the picker for this provider/segment, login_hint match first.
    func eligibleAccounts(provider: EmulatorProviderKind, tenant: String?, loginHint: String?) -> [EmulatorAccount] {
        let all = accounts().filter { account in
            switch provider {
            case .google: return account.providerKind == .google
            case .microsoft: return isEligible(account, tenant: tenant ?? "common")
            }
        }
        guard let hint = loginHint?.lowercased(), !hint.isEmpty else { return all }
        return all.filter { $0.normalizedAddress == hint } + all.filter { $0.normalizedAddress != hint }
    }
}
