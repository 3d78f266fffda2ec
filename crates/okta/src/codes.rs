//! The one table of Okta error codes (`E0000…`) and OAuth error values, each with what it means for a
//! tenant admin and how to fix it. Every message is static text: none can carry a secret.

use std::fmt;

/// What went wrong and what to do about it, in words for a tenant admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Explanation {
    /// What happened.
    pub problem: &'static str,
    /// How to fix it.
    pub fix: &'static str,
}

const fn explain(problem: &'static str, fix: &'static str) -> Explanation {
    Explanation { problem, fix }
}

/// An Okta management API error code (`errorCode` of an error body). Branch on this, never on text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OktaErrorCode {
    /// `E0000001`: API validation failed (a field or parameter is invalid).
    Validation,
    /// `E0000003`: the request body was not well-formed.
    MalformedBody,
    /// `E0000004`: authentication failed.
    AuthenticationFailed,
    /// `E0000005`: invalid session.
    InvalidSession,
    /// `E0000006`: you do not have permission to perform the requested action.
    AccessDenied,
    /// `E0000007`: not found.
    NotFound,
    /// `E0000009`: internal server error.
    InternalError,
    /// `E0000010`: the org is in read-only mode.
    ReadOnlyMode,
    /// `E0000011`: invalid token provided.
    InvalidToken,
    /// `E0000015`: the feature is not enabled for the org.
    FeatureNotEnabled,
    /// `E0000022`: API access is not enabled for the org (or this API is not available to it).
    ApiAccessDenied,
    /// `E0000031`: invalid search criteria.
    InvalidSearch,
    /// `E0000047`: API call exceeded the rate limit.
    RateLimited,
    /// `E0000053`: invalid System Log query parameter.
    InvalidLogQuery,
    /// Any other code, as Okta sent it.
    Other(String),
}

/// Every named code with its wire value, for parsing and for the tests.
const OKTA_CODES: [(&str, OktaErrorCode); 14] = [
    ("E0000001", OktaErrorCode::Validation),
    ("E0000003", OktaErrorCode::MalformedBody),
    ("E0000004", OktaErrorCode::AuthenticationFailed),
    ("E0000005", OktaErrorCode::InvalidSession),
    ("E0000006", OktaErrorCode::AccessDenied),
    ("E0000007", OktaErrorCode::NotFound),
    ("E0000009", OktaErrorCode::InternalError),
    ("E0000010", OktaErrorCode::ReadOnlyMode),
    ("E0000011", OktaErrorCode::InvalidToken),
    ("E0000015", OktaErrorCode::FeatureNotEnabled),
    ("E0000022", OktaErrorCode::ApiAccessDenied),
    ("E0000031", OktaErrorCode::InvalidSearch),
    ("E0000047", OktaErrorCode::RateLimited),
    ("E0000053", OktaErrorCode::InvalidLogQuery),
];

impl OktaErrorCode {
    /// The code for an `errorCode` value.
    pub fn parse(code: &str) -> OktaErrorCode {
        OKTA_CODES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| OktaErrorCode::Other(code.to_owned()))
    }

    /// The wire value (`E0000011`, …).
    pub fn as_str(&self) -> &str {
        match self {
            OktaErrorCode::Other(s) => s,
            named => OKTA_CODES
                .iter()
                .find(|(_, v)| v == named)
                .map(|(c, _)| *c)
                .unwrap_or("E0000000"),
        }
    }

    /// What the code means and how to fix it. For `E0000006` this is the general case; see
    /// [`explain_access_denied`] for the service-app causes.
    pub fn explain(&self) -> Explanation {
        use OktaErrorCode::*;
        match self {
            Validation => explain(
                "Okta refused a value in the request (API validation failed).",
                "Check the value named in the details and try again.",
            ),
            MalformedBody => explain(
                "Okta could not read the request body (it was not well-formed JSON).",
                "This is a bug in okta365; please report it with the log file.",
            ),
            AuthenticationFailed => explain(
                "Okta could not authenticate the request.",
                "Check the Okta org URL and the credential saved for it, then test the connection again.",
            ),
            InvalidSession => explain(
                "Okta answered that the session is invalid: the request was treated as a browser session, not an API call.",
                "Use an API token or an API service app for this org, and check the org URL.",
            ),
            AccessDenied => explain(
                "Okta refused the request: you do not have permission to perform the requested action.",
                "Give the API token's owner (or the service app) an admin role that allows this action.",
            ),
            NotFound => explain(
                "Okta did not find the requested object.",
                "Check that the id is right and that the object still exists in this org.",
            ),
            InternalError => explain(
                "Okta had an internal error.",
                "Try again in a few minutes; if it persists, check status.okta.com.",
            ),
            ReadOnlyMode => explain(
                "The Okta org is in read-only mode (maintenance).",
                "Try again later; see status.okta.com.",
            ),
            InvalidToken => explain(
                "Okta refused the credential: invalid token provided (it is wrong, expired, revoked, or its owner was deactivated).",
                "Create a new API token under Security > API > Tokens (or check the service app), save it in okta365 and test again.",
            ),
            FeatureNotEnabled => explain(
                "The Okta feature this needs is not enabled for the org.",
                "Ask Okta support to enable it (for imports: Identity Source Apps / Anything-as-a-Source).",
            ),
            ApiAccessDenied => explain(
                "Okta denied API access: this API is not available to the org (a feature or license is missing).",
                "Check the org's features under Settings > Features, or ask Okta support to enable API access for it.",
            ),
            InvalidSearch => explain(
                "Okta refused the search or filter expression.",
                "This is a bug in okta365; please report it with the log file.",
            ),
            RateLimited => explain(
                "Okta's rate limit for this API was exceeded, and okta365 stopped waiting for it.",
                "Try again after a minute; if it keeps happening, raise the app's rate-limit share under Security > API or run okta365 at a quieter time.",
            ),
            InvalidLogQuery => explain(
                "Okta refused the System Log query (a parameter or filter is invalid, or reaches more than 180 days back).",
                "This is a bug in okta365 unless you typed the query; check since, until and filter.",
            ),
            Other(_) => explain(
                "Okta refused the request.",
                "See Okta's message in the details; search its error code in Okta's documentation.",
            ),
        }
    }
}

impl fmt::Display for OktaErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `E0000006` for an API service app: the two usual causes, naming the scope when Okta said which one
/// the token lacked (`WWW-Authenticate: … scope="…", error="insufficient_scope"`).
pub fn explain_access_denied(missing_scope: Option<&str>) -> String {
    match missing_scope {
        Some(scope) => format!(
            "Okta refused the request: the access token does not hold the scope {scope}. Grant {scope} on the \
             service app's Okta API Scopes tab and enable the okta365 operation that needs it, then test the connection again."
        ),
        None => "Okta refused the request: you do not have permission to perform the requested action. For an \
                 API service app the two usual causes are: (1) the scope is not granted on the app's Okta API Scopes \
                 tab; (2) the app has no admin role (Admin roles tab: assign one, e.g. Read-only Administrator for \
                 reading, or one that may make the change)."
            .to_owned(),
    }
}

/// An OAuth 2.0 error value (`error` of a token-endpoint answer, or of a `WWW-Authenticate` challenge).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OAuthErrorCode {
    /// `invalid_client`: the client assertion was refused.
    InvalidClient,
    /// `invalid_scope`: a requested scope is not granted (or none was requested).
    InvalidScope,
    /// `invalid_dpop_proof`: the DPoP proof is missing or wrong.
    InvalidDpopProof,
    /// `use_dpop_nonce`: the server wants its nonce in the DPoP proof.
    UseDpopNonce,
    /// `invalid_grant`.
    InvalidGrant,
    /// `unauthorized_client`: the app may not use this grant type.
    UnauthorizedClient,
    /// `invalid_request`.
    InvalidRequest,
    /// `unsupported_grant_type`.
    UnsupportedGrantType,
    /// `access_denied`.
    AccessDenied,
    /// `invalid_token`: the access token was refused by the API.
    InvalidToken,
    /// `insufficient_scope`: the access token lacks the scope the API needs.
    InsufficientScope,
    /// Any other value, as sent.
    Other(String),
}

const OAUTH_CODES: [(&str, OAuthErrorCode); 11] = [
    ("invalid_client", OAuthErrorCode::InvalidClient),
    ("invalid_scope", OAuthErrorCode::InvalidScope),
    ("invalid_dpop_proof", OAuthErrorCode::InvalidDpopProof),
    ("use_dpop_nonce", OAuthErrorCode::UseDpopNonce),
    ("invalid_grant", OAuthErrorCode::InvalidGrant),
    ("unauthorized_client", OAuthErrorCode::UnauthorizedClient),
    ("invalid_request", OAuthErrorCode::InvalidRequest),
    (
        "unsupported_grant_type",
        OAuthErrorCode::UnsupportedGrantType,
    ),
    ("access_denied", OAuthErrorCode::AccessDenied),
    ("invalid_token", OAuthErrorCode::InvalidToken),
    ("insufficient_scope", OAuthErrorCode::InsufficientScope),
];

impl OAuthErrorCode {
    /// The code for an `error` value.
    pub fn parse(code: &str) -> OAuthErrorCode {
        OAUTH_CODES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| OAuthErrorCode::Other(code.to_owned()))
    }

    /// The wire value (`invalid_client`, …).
    pub fn as_str(&self) -> &str {
        match self {
            OAuthErrorCode::Other(s) => s,
            named => OAUTH_CODES
                .iter()
                .find(|(_, v)| v == named)
                .map(|(c, _)| *c)
                .unwrap_or("error"),
        }
    }

    /// What the error means for an okta365 API service app and how to fix it.
    pub fn explain(&self) -> Explanation {
        use OAuthErrorCode::*;
        match self {
            InvalidClient => explain(
                "Okta refused the service app's client assertion (invalid_client): the client id is unknown, or the \
                 private key does not match a public key registered on the app.",
                "Check the client id (0oa…), and that the app's public key (General > Client Credentials > Public keys) \
                 is the one for okta365's private key; paste okta365's public JWK there if you generated the key here.",
            ),
            InvalidScope => explain(
                "Okta refused the scopes okta365 asked for (invalid_scope): they are not granted to the service app.",
                "Grant the scopes named here on the app's Okta API Scopes tab, or turn off the okta365 operations that need them.",
            ),
            InvalidDpopProof => explain(
                "Okta refused the DPoP proof (invalid_dpop_proof).",
                "Check that this computer's clock is right (the proof carries the time); if it is, report this with the log file.",
            ),
            UseDpopNonce => explain(
                "Okta asked for a DPoP nonce more often than okta365 retries (use_dpop_nonce).",
                "Try again; if it persists, report it with the log file.",
            ),
            InvalidGrant => explain(
                "Okta refused the grant (invalid_grant).",
                "Check that the service app is active and uses the client credentials grant.",
            ),
            UnauthorizedClient => explain(
                "The Okta app may not use the client credentials grant (unauthorized_client).",
                "Use an API Services app (Applications > Create App Integration > API Services) with Client Credentials.",
            ),
            InvalidRequest => explain(
                "Okta refused the token request as malformed (invalid_request).",
                "Check the client id; if it is right, report this with the log file.",
            ),
            UnsupportedGrantType => explain(
                "Okta does not support the grant okta365 used (unsupported_grant_type).",
                "Check that the org URL is the Okta org itself (https://your-org.okta.com), not another server.",
            ),
            AccessDenied => explain(
                "Okta denied the token request (access_denied), for example from outside the app's network zones.",
                "Check the app's network-zone and sign-on policies in Okta.",
            ),
            InvalidToken => explain(
                "Okta refused the access token (invalid_token): it expired or was revoked.",
                "Test the connection again; okta365 gets a fresh token.",
            ),
            InsufficientScope => explain(
                "The access token lacks the scope this API needs (insufficient_scope).",
                "Grant the scope on the app's Okta API Scopes tab and enable the okta365 operation that needs it.",
            ),
            Other(_) => explain(
                "Okta refused the token request.",
                "See Okta's description in the details.",
            ),
        }
    }
}

impl fmt::Display for OAuthErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn okta(code: &str) -> Explanation {
        let parsed = OktaErrorCode::parse(code);
        assert_eq!(parsed.as_str(), code, "{code} round-trips");
        parsed.explain()
    }

    fn oauth(code: &str) -> Explanation {
        let parsed = OAuthErrorCode::parse(code);
        assert_eq!(parsed.as_str(), code, "{code} round-trips");
        parsed.explain()
    }

    #[test]
    fn e0000001_validation() {
        assert!(okta("E0000001").problem.contains("validation failed"));
    }

    #[test]
    fn e0000003_malformed_body() {
        assert!(okta("E0000003").problem.contains("not well-formed"));
    }

    #[test]
    fn e0000004_authentication_failed() {
        assert!(okta("E0000004").problem.contains("could not authenticate"));
    }

    #[test]
    fn e0000005_invalid_session() {
        let e = okta("E0000005");
        assert!(e.problem.contains("session is invalid") && e.fix.contains("API token"));
    }

    #[test]
    fn e0000006_access_denied_names_the_two_service_app_causes() {
        assert!(okta("E0000006").problem.contains("do not have permission"));
        let general = explain_access_denied(None);
        assert!(
            general.contains("Okta API Scopes") && general.contains("admin role"),
            "both usual causes: {general}"
        );
        let scoped = explain_access_denied(Some("okta.logs.read"));
        assert!(scoped.contains("okta.logs.read") && scoped.contains("Okta API Scopes"));
    }

    #[test]
    fn e0000007_not_found() {
        assert!(okta("E0000007").problem.contains("did not find"));
    }

    #[test]
    fn e0000009_internal_error() {
        assert!(okta("E0000009").fix.contains("status.okta.com"));
    }

    #[test]
    fn e0000010_read_only() {
        assert!(okta("E0000010").problem.contains("read-only"));
    }

    #[test]
    fn e0000011_invalid_token() {
        let e = okta("E0000011");
        assert!(e.problem.contains("invalid token") && e.fix.contains("Security > API > Tokens"));
    }

    #[test]
    fn e0000015_feature_not_enabled() {
        assert!(okta("E0000015").problem.contains("not enabled"));
    }

    #[test]
    fn e0000022_api_access_denied() {
        assert!(okta("E0000022").problem.contains("denied API access"));
    }

    #[test]
    fn e0000031_invalid_search() {
        assert!(okta("E0000031").problem.contains("search"));
    }

    #[test]
    fn e0000047_rate_limited() {
        assert!(okta("E0000047").problem.contains("rate limit"));
    }

    #[test]
    fn e0000053_invalid_log_query() {
        assert!(okta("E0000053").problem.contains("System Log query"));
    }

    #[test]
    fn unknown_codes_are_kept_verbatim() {
        let c = OktaErrorCode::parse("E0000999");
        assert_eq!(c, OktaErrorCode::Other("E0000999".into()));
        assert_eq!(c.to_string(), "E0000999");
    }

    #[test]
    fn invalid_client() {
        let e = oauth("invalid_client");
        assert!(e.problem.contains("private key") && e.fix.contains("public JWK"));
    }

    #[test]
    fn invalid_scope() {
        assert!(oauth("invalid_scope").fix.contains("Okta API Scopes"));
    }

    #[test]
    fn invalid_dpop_proof() {
        assert!(oauth("invalid_dpop_proof").fix.contains("clock"));
    }

    #[test]
    fn use_dpop_nonce() {
        assert!(oauth("use_dpop_nonce").problem.contains("nonce"));
    }

    #[test]
    fn invalid_grant() {
        assert!(oauth("invalid_grant").problem.contains("invalid_grant"));
    }

    #[test]
    fn unauthorized_client() {
        assert!(oauth("unauthorized_client").fix.contains("API Services"));
    }

    #[test]
    fn invalid_request() {
        assert!(oauth("invalid_request").problem.contains("malformed"));
    }

    #[test]
    fn unsupported_grant_type() {
        assert!(oauth("unsupported_grant_type").fix.contains("org URL"));
    }

    #[test]
    fn access_denied() {
        assert!(oauth("access_denied").fix.contains("network-zone"));
    }

    #[test]
    fn invalid_token() {
        assert!(
            oauth("invalid_token")
                .problem
                .contains("expired or was revoked")
        );
    }

    #[test]
    fn insufficient_scope() {
        assert!(oauth("insufficient_scope").fix.contains("Okta API Scopes"));
    }
}
