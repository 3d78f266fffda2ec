//! The Okta client's one error type. Messages come from the table in [`codes`](crate::codes) plus what
//! Okta said; none ever holds a token, secret, private key, assertion or proof.

use crate::codes::{OAuthErrorCode, OktaErrorCode, explain_access_denied};

/// How the client authenticates, for messages that depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    /// `Authorization: SSWS` API token.
    ApiToken,
    /// OAuth 2.0 API service app.
    ServiceApp,
}

/// Everything that can go wrong talking to Okta.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Okta answered with an error body `{errorCode, errorSummary, errorCauses, errorId}`.
    #[error("{}", api_message(code, summary, causes, error_id.as_deref(), missing_scope.as_deref(), *auth))]
    Api {
        /// HTTP status.
        status: u16,
        /// `errorCode`.
        code: OktaErrorCode,
        /// `errorSummary`.
        summary: String,
        /// `errorCauses[].errorSummary`.
        causes: Vec<String>,
        /// `errorId`, to quote to Okta support.
        error_id: Option<String>,
        /// On a 403: the scope Okta said the access token lacks (`insufficient_scope`), if it did.
        missing_scope: Option<String>,
        /// How the call was authenticated.
        auth: AuthKind,
    },
    /// The token endpoint (or an API's `WWW-Authenticate` challenge) answered an OAuth error.
    #[error("{} {} (Okta: {error}: {description})", error.explain().problem, error.explain().fix)]
    OAuth {
        /// HTTP status.
        status: u16,
        /// `error`.
        error: OAuthErrorCode,
        /// `error_description`.
        description: String,
    },
    /// The Okta org URL is not usable.
    #[error("The Okta org URL {input:?} is not usable: {reason}")]
    InvalidOrgUrl {
        /// What was given.
        input: String,
        /// Why it is refused and what to enter instead.
        reason: String,
    },
    /// The client id is not an Okta client id.
    #[error("The client id {input:?} is not an Okta client id: {reason}")]
    InvalidClientId {
        /// What was given.
        input: String,
        /// Why.
        reason: String,
    },
    /// The private key could not be used.
    #[error("The private key is not usable: {0}")]
    InvalidKey(String),
    /// Okta could not be reached (after retries).
    #[error(
        "Could not reach Okta at {url}: {message}. Check the org URL and the network connection (proxy, firewall), then try again."
    )]
    Transport {
        /// The URL called (no query string).
        url: String,
        /// What failed.
        message: String,
    },
    /// Okta answered something that is not what its API returns (not JSON, unexpected shape).
    #[error(
        "Okta at {url} answered {status} with a body okta365 cannot read ({message}). Check that the org URL points at the Okta org itself."
    )]
    Unexpected {
        /// The URL called (no query string).
        url: String,
        /// HTTP status.
        status: u16,
        /// What was wrong.
        message: String,
    },
    /// A `link: rel="next"` pointed outside the org; okta365 does not send credentials elsewhere.
    #[error(
        "Okta's next-page link points to {url}, outside the org {org}; okta365 stopped paging there."
    )]
    ForeignLink {
        /// The link.
        url: String,
        /// The org.
        org: String,
    },
    /// Paging went past the cap given to `collect_all`.
    #[error(
        "The list has more than {cap} items, more than okta365 collects at once; narrow the query (search or filter)."
    )]
    TooManyItems {
        /// The cap.
        cap: usize,
    },
    /// The client was built wrongly (a programming error or bad configuration).
    #[error("The Okta client is misconfigured: {0}")]
    Config(String),
}

impl Error {
    /// The Okta error code, for an [`Error::Api`].
    pub fn okta_code(&self) -> Option<&OktaErrorCode> {
        match self {
            Error::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The OAuth error value, for an [`Error::OAuth`].
    pub fn oauth_error(&self) -> Option<&OAuthErrorCode> {
        match self {
            Error::OAuth { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The scopes an `invalid_scope` answer names as not allowed ("The following scopes are not
    /// allowed: okta.logs.read, okta.groups.read").
    pub fn scopes_not_allowed(&self) -> Vec<String> {
        match self {
            Error::OAuth {
                error: OAuthErrorCode::InvalidScope,
                description,
                ..
            } => description
                .split(|c: char| c.is_whitespace() || matches!(c, ',' | '[' | ']' | '"' | '\''))
                .filter(|w| w.starts_with("okta.") && w.len() > 5)
                .map(|w| w.trim_end_matches('.').to_owned())
                .collect(),
            _ => Vec::new(),
        }
    }

    /// HTTP status of an Okta answer, if the error is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. }
            | Error::OAuth { status, .. }
            | Error::Unexpected { status, .. } => Some(*status),
            _ => None,
        }
    }
}

fn api_message(
    code: &OktaErrorCode,
    summary: &str,
    causes: &[String],
    error_id: Option<&str>,
    missing_scope: Option<&str>,
    auth: AuthKind,
) -> String {
    let lead = match (code, auth) {
        (OktaErrorCode::AccessDenied, AuthKind::ServiceApp) => explain_access_denied(missing_scope),
        _ => {
            let e = code.explain();
            format!("{} {}", e.problem, e.fix)
        }
    };
    let mut okta = format!("{code}: {summary}");
    if !causes.is_empty() {
        okta.push_str(&format!(" ({})", causes.join("; ")));
    }
    if let Some(id) = error_id {
        okta.push_str(&format!("; errorId {id}"));
    }
    format!("{lead} (Okta: {okta})")
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_not_allowed_are_read_from_the_description_in_either_form() {
        for d in [
            "The following scopes are not allowed: okta.logs.read, okta.groups.read",
            "The following scopes are not allowed: [okta.logs.read, okta.groups.read]",
        ] {
            let e = Error::OAuth {
                status: 400,
                error: OAuthErrorCode::InvalidScope,
                description: d.into(),
            };
            assert_eq!(
                e.scopes_not_allowed(),
                ["okta.logs.read", "okta.groups.read"]
            );
        }
    }

    #[test]
    fn api_messages_lead_with_the_fix_and_quote_okta() {
        let e = Error::Api {
            status: 401,
            code: OktaErrorCode::InvalidToken,
            summary: "Invalid token provided".into(),
            causes: vec![],
            error_id: Some("oae123".into()),
            missing_scope: None,
            auth: AuthKind::ApiToken,
        };
        let m = e.to_string();
        assert!(m.starts_with("Okta refused the credential"), "{m}");
        assert!(
            m.ends_with("(Okta: E0000011: Invalid token provided; errorId oae123)"),
            "{m}"
        );
    }
}
