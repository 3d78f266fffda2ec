//! The one table of AADSTS codes (Microsoft identity platform errors) okta365 explains: what went
//! wrong in plain language, and the fix. Placeholders `{tenant}`, `{client_id}` and `{expiry}` are
//! filled in when the message is shown.
//!
//! What must stay true: one entry per code, one unit test per code (below), and no entry ever shows
//! a secret: the only values filled in are the tenant, the client id and a date.

/// One AADSTS code explained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AadstsEntry {
    /// The number after `AADSTS`.
    pub code: u32,
    /// What went wrong, in plain language.
    pub summary: &'static str,
    /// What the admin should do about it.
    pub fix: &'static str,
}

const fn entry(code: u32, summary: &'static str, fix: &'static str) -> AadstsEntry {
    AadstsEntry { code, summary, fix }
}

/// Every AADSTS code okta365 explains.
pub const TABLE: &[AadstsEntry] = &[
    entry(
        90002,
        "Microsoft does not know the tenant '{tenant}'.",
        "Check the tenant: use the Directory (tenant) ID from the app's Overview page, or a verified domain such as contoso.onmicrosoft.com, and make sure it is a tenant in Microsoft's global cloud.",
    ),
    entry(
        900023,
        "'{tenant}' is not a valid tenant identifier.",
        "Enter the Directory (tenant) ID (a GUID) or a verified domain such as contoso.onmicrosoft.com, with no https:// and no path.",
    ),
    entry(
        90014,
        "The token request is missing a required field.",
        "This is a problem in okta365's request, not your settings; update okta365, and report it if it persists.",
    ),
    entry(
        700016,
        "The client id {client_id} is not an app in tenant '{tenant}'.",
        "Copy the Application (client) ID from the app registration's Overview page in this tenant (not the Object ID), or switch the tenant to the one where the app is registered.",
    ),
    entry(
        7000215,
        "The client secret is wrong for app {client_id}.",
        "Paste the secret's Value, not its Secret ID: under App registrations > Certificates & secrets, the Value is shown only once, right after you create the secret. If you no longer have it, create a new secret and paste its Value.",
    ),
    entry(
        7000222,
        "The client secret of app {client_id} has expired{expiry}.",
        "Create a new client secret under App registrations > Certificates & secrets and paste its Value here, or switch to a certificate.",
    ),
    entry(
        7000216,
        "The token request carried no credential for app {client_id}.",
        "Enter the client secret or choose a certificate for this app, then test again.",
    ),
    entry(
        7000218,
        "The token request carried no client secret or certificate assertion for app {client_id}.",
        "Enter the client secret or choose a certificate for this app, then test again. If the app is meant to run unattended, make sure 'Allow public client flows' is off.",
    ),
    entry(
        700027,
        "The certificate used to sign in is not registered on app {client_id}, has expired, or its signature did not verify.",
        "Upload this certificate (the public .cer/.pem part) under App registrations > Certificates & secrets > Certificates, and check that its thumbprint matches the one shown there.",
    ),
    entry(
        700024,
        "The certificate assertion was outside its valid time range; this computer's clock is probably wrong.",
        "Set this computer's clock to the correct time (enable automatic time sync), then test again.",
    ),
    entry(
        700025,
        "App {client_id} is registered as a public client, so it cannot use a client secret or certificate.",
        "Under App registrations > Authentication, turn off 'Allow public client flows' for this app.",
    ),
    entry(
        700021,
        "The certificate assertion names a different app than client id {client_id}.",
        "This is a problem in okta365's request, not your settings; update okta365, and report it if it persists.",
    ),
    entry(
        50012,
        "The certificate assertion was addressed to a different tenant or cloud than '{tenant}'.",
        "Check the tenant and the login URL of this profile (https://login.microsoftonline.com for Microsoft's global cloud).",
    ),
    entry(
        50173,
        "The credential's grant was revoked (for example, a password reset or revoked sessions).",
        "Sign in again, or create a new client secret if the app's credentials were reset.",
    ),
    entry(
        70011,
        "The requested scope is not valid for an app-only token.",
        "okta365 asks for https://graph.microsoft.com/.default; if you changed the Graph URL of this profile, set it back to https://graph.microsoft.com.",
    ),
    entry(
        700022,
        "The token request asked for more than one resource at once.",
        "Request one resource per token (https://graph.microsoft.com/.default); this is a problem in okta365's request, so update it.",
    ),
    entry(
        500011,
        "Microsoft Graph is not available in tenant '{tenant}' (its service principal is missing).",
        "Check the tenant and the Graph URL of this profile; a tenant in another national cloud needs that cloud's login and Graph URLs.",
    ),
    entry(
        65001,
        "Admin consent has not been granted for app {client_id}.",
        "Under App registrations > API permissions, click 'Grant admin consent for <tenant>' (a Global or Privileged Role Administrator must do this).",
    ),
    entry(
        650057,
        "App {client_id} asks for a permission on a resource that is not listed in its API permissions.",
        "Under App registrations > API permissions, add the Microsoft Graph application permissions okta365 needs, then grant admin consent.",
    ),
    entry(
        7000112,
        "App {client_id} is disabled in tenant '{tenant}'.",
        "In Enterprise applications, open the app > Properties and set 'Enabled for users to sign-in?' to Yes.",
    ),
    entry(
        50034,
        "The user account does not exist in tenant '{tenant}'.",
        "Sign in with an account of this tenant, or check the tenant.",
    ),
    entry(
        53003,
        "Sign-in was blocked by a Conditional Access policy of tenant '{tenant}' for the public client {client_id}.",
        "Ask the admin who manages Conditional Access to allow this sign-in (or exclude it from the policy), or create the app registration by hand and enter its values on the Microsoft step.",
    ),
    entry(
        90094,
        "Only an administrator can consent to the permissions asked for, and the signed-in user is not one.",
        "Sign in as a Global Administrator or Privileged Role Administrator, or ask one to run this step.",
    ),
    entry(
        65002,
        "The public client {client_id} is not preauthorized by Microsoft for the Graph permissions the setup needs.",
        "Leave the public client id empty to use Microsoft Graph Command Line Tools (14d82eec-204b-4c2f-b7e8-296a70dab67e), or use your own app registration that allows public client flows.",
    ),
    entry(
        65004,
        "The sign-in was declined: the user cancelled or did not consent.",
        "Start the sign-in again and accept the permissions asked for.",
    ),
    entry(
        50126,
        "The user name or password was wrong.",
        "Sign in again with the right account and password.",
    ),
    entry(
        70016,
        "The sign-in is still waiting for the user to enter the code.",
        "Open the verification page, enter the code and finish signing in.",
    ),
    entry(
        70018,
        "Microsoft did not recognise the sign-in code.",
        "Start the sign-in again and enter the new code exactly as shown.",
    ),
    entry(
        70019,
        "The sign-in code expired before anyone used it.",
        "Start the sign-in again and enter the new code within its time limit.",
    ),
    entry(
        70000,
        "The sign-in code was already used or is not valid.",
        "Start the sign-in again.",
    ),
    entry(
        501481,
        "The browser sign-in could not be completed: the PKCE check failed.",
        "Start the browser sign-in again from okta365; do not reuse an old sign-in link.",
    ),
    entry(
        7000229,
        "App {client_id} has no service principal (enterprise application) in tenant '{tenant}'.",
        "Run the app setup again so okta365 creates it, or open the app registration in the Entra admin center and follow 'Create service principal' under Enterprise applications.",
    ),
];

/// The entry for `code`, if okta365 explains it.
pub fn lookup(code: u32) -> Option<&'static AadstsEntry> {
    TABLE.iter().find(|e| e.code == code)
}

/// The code of `AADSTS12345: …` at the start of an `error_description`.
pub fn code_in_description(description: &str) -> Option<u32> {
    let rest = description.trim_start().strip_prefix("AADSTS")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Fills in the placeholders of an entry's text.
pub(crate) fn fill(text: &str, tenant: &str, client_id: &str, expiry: Option<&str>) -> String {
    text.replace("{tenant}", tenant)
        .replace("{client_id}", client_id)
        .replace(
            "{expiry}",
            &expiry.map(|d| format!(" on {d}")).unwrap_or_default(),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(code: u32) -> String {
        let e = lookup(code).unwrap_or_else(|| panic!("AADSTS{code} must be in the table"));
        format!(
            "{} {}",
            fill(
                e.summary,
                "contoso.onmicrosoft.com",
                "4f1c0000-0000-0000-0000-000000000001",
                None
            ),
            fill(
                e.fix,
                "contoso.onmicrosoft.com",
                "4f1c0000-0000-0000-0000-000000000001",
                None
            )
        )
    }

    #[test]
    fn one_entry_per_code() {
        let mut codes: Vec<u32> = TABLE.iter().map(|e| e.code).collect();
        codes.sort_unstable();
        let n = codes.len();
        codes.dedup();
        assert_eq!(codes.len(), n, "a code appears twice in the AADSTS table");
        for e in TABLE {
            assert!(
                e.summary.ends_with('.') && e.fix.ends_with('.'),
                "AADSTS{} must read as sentences",
                e.code
            );
        }
    }

    #[test]
    fn aadsts90002_tenant_not_found() {
        let t = text(90002);
        assert!(
            t.contains("contoso.onmicrosoft.com") && t.contains("Directory (tenant) ID"),
            "{t}"
        );
    }

    #[test]
    fn aadsts900023_malformed_tenant() {
        assert!(text(900023).contains("no https://"));
    }

    #[test]
    fn aadsts90014_missing_field() {
        assert!(text(90014).contains("update okta365"));
    }

    #[test]
    fn aadsts700016_client_id_not_in_tenant() {
        let t = text(700016);
        assert!(
            t.contains("4f1c0000-0000-0000-0000-000000000001") && t.contains("not the Object ID"),
            "{t}"
        );
    }

    #[test]
    fn aadsts7000215_wrong_secret_mentions_the_secret_id() {
        let t = text(7000215);
        assert!(t.contains("Value, not its Secret ID"), "{t}");
    }

    #[test]
    fn aadsts7000222_expired_secret_with_and_without_date() {
        let e = lookup(7000222).unwrap();
        assert_eq!(
            fill(e.summary, "t", "c", Some("2024-06-30")),
            "The client secret of app c has expired on 2024-06-30."
        );
        assert_eq!(
            fill(e.summary, "t", "c", None),
            "The client secret of app c has expired."
        );
        assert!(
            e.fix.contains("create a new client secret")
                || e.fix.contains("Create a new client secret")
        );
    }

    #[test]
    fn aadsts7000216_no_credential() {
        assert!(text(7000216).contains("client secret or choose a certificate"));
    }

    #[test]
    fn aadsts7000218_no_secret_or_assertion() {
        assert!(text(7000218).contains("public client flows"));
    }

    #[test]
    fn aadsts700027_certificate_not_registered() {
        assert!(text(700027).contains("Certificates & secrets > Certificates"));
    }

    #[test]
    fn aadsts700024_assertion_time_range() {
        assert!(text(700024).contains("clock"));
    }

    #[test]
    fn aadsts700025_public_client() {
        assert!(text(700025).contains("Allow public client flows"));
    }

    #[test]
    fn aadsts700021_assertion_issuer() {
        assert!(text(700021).contains("different app"));
    }

    #[test]
    fn aadsts50012_assertion_audience() {
        assert!(text(50012).contains("login URL"));
    }

    #[test]
    fn aadsts50173_revoked_grant() {
        assert!(text(50173).contains("revoked"));
    }

    #[test]
    fn aadsts70011_invalid_scope() {
        assert!(text(70011).contains("https://graph.microsoft.com/.default"));
    }

    #[test]
    fn aadsts700022_multiple_resources() {
        assert!(text(700022).contains("one resource"));
    }

    #[test]
    fn aadsts500011_resource_principal_missing() {
        assert!(text(500011).contains("national cloud"));
    }

    #[test]
    fn aadsts65001_no_admin_consent() {
        assert!(text(65001).contains("Grant admin consent"));
    }

    #[test]
    fn aadsts650057_permission_not_listed() {
        assert!(text(650057).contains("API permissions"));
    }

    #[test]
    fn aadsts7000112_app_disabled() {
        assert!(text(7000112).contains("Enabled for users to sign-in"));
    }

    #[test]
    fn aadsts50034_user_not_found() {
        assert!(text(50034).contains("does not exist"));
    }

    #[test]
    fn aadsts53003_conditional_access() {
        assert!(text(53003).contains("Conditional Access"));
    }

    #[test]
    fn aadsts90094_admin_consent_required() {
        assert!(text(90094).contains("Global Administrator"));
    }

    #[test]
    fn aadsts65002_not_preauthorized() {
        assert!(text(65002).contains("14d82eec-204b-4c2f-b7e8-296a70dab67e"));
    }

    #[test]
    fn aadsts65004_declined() {
        assert!(text(65004).contains("declined"));
    }

    #[test]
    fn aadsts50126_wrong_password() {
        assert!(text(50126).contains("password"));
    }

    #[test]
    fn aadsts70016_pending() {
        assert!(text(70016).contains("enter the code"));
    }

    #[test]
    fn aadsts70018_bad_code() {
        assert!(text(70018).contains("did not recognise"));
    }

    #[test]
    fn aadsts70019_code_expired() {
        assert!(text(70019).contains("expired"));
    }

    #[test]
    fn aadsts70000_code_used() {
        assert!(text(70000).contains("already used"));
    }

    #[test]
    fn aadsts501481_pkce() {
        assert!(text(501481).contains("PKCE"));
    }

    #[test]
    fn aadsts7000229_no_service_principal() {
        assert!(text(7000229).contains("service principal"));
    }

    #[test]
    fn codes_are_read_from_descriptions() {
        assert_eq!(
            code_in_description("AADSTS7000215: Invalid client secret provided."),
            Some(7000215)
        );
        assert_eq!(code_in_description("something else"), None);
    }
}
