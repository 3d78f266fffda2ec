//! The crate's one error type. Every message is a sentence a tenant admin can act on; none ever
//! contains a secret, a token, an assertion or a private key.

use crate::{aadsts, graph_codes};

/// Everything that can go wrong talking to Microsoft identity or Microsoft Graph.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The token endpoint refused (an AADSTS error).
    #[error("{}", self.explanation().sentence())]
    Identity {
        /// The HTTP status.
        status: u16,
        /// The AADSTS number (`error_codes[0]`, or read from the description).
        aadsts: Option<u32>,
        /// The OAuth `error` (`invalid_client`, `unauthorized_client`, …).
        error: String,
        /// Microsoft's `error_description`, first line (without trace lines).
        description: String,
        /// Microsoft's `trace_id`, for a support case.
        trace_id: Option<String>,
        /// Microsoft's `correlation_id`, for a support case.
        correlation_id: Option<String>,
        /// The tenant the request went to.
        tenant: String,
        /// The client id that asked.
        client_id: String,
        /// The credential's end date (`YYYY-MM-DD`) when known, shown for an expired secret.
        expiry: Option<String>,
    },
    /// Microsoft Graph answered with an error body.
    #[error("{}", self.explanation().sentence())]
    Graph {
        /// The HTTP status.
        status: u16,
        /// Graph's `error.code`, e.g. `Authorization_RequestDenied`.
        code: String,
        /// Graph's `error.message`.
        message: String,
        /// Graph's `request-id`, for a support case.
        request_id: Option<String>,
    },
    /// The request could not be sent or its answer not received (after retries where allowed).
    #[error(
        "Could not reach {url}: {reason}. Check the network connection, proxy and firewall, then try again."
    )]
    Transport {
        /// The URL called (never carries a secret).
        url: String,
        /// What failed.
        reason: String,
    },
    /// Microsoft answered in a way okta365 cannot read.
    #[error(
        "{url} answered HTTP {status} with a body okta365 cannot read ({reason}). Check that the profile's login and Graph URLs point at Microsoft."
    )]
    UnexpectedResponse {
        /// The URL called.
        url: String,
        /// The HTTP status.
        status: u16,
        /// Why it could not be read.
        reason: String,
    },
    /// A value given to the client is not usable (tenant, client id, URL).
    #[error("{0}")]
    InvalidInput(String),
    /// A certificate or private key given is not usable.
    #[error("{0}")]
    Certificate(String),
    /// The PFX file's password is wrong.
    #[error(
        "The PFX password is wrong: the file could not be opened with it. Enter the password that was set when the certificate was exported."
    )]
    PfxPassword,
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error split into what happened and what to do, for a check step's `detail` and `fix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// What went wrong.
    pub summary: String,
    /// What to do about it, when known.
    pub fix: Option<String>,
    /// The vendor code (`AADSTS7000215`, `Authorization_RequestDenied`), when there is one.
    pub code: Option<String>,
    /// Microsoft's trace or request id, for a support case.
    pub reference: Option<String>,
}

impl Explanation {
    /// One line: summary, fix, then the code and reference in brackets.
    pub fn sentence(&self) -> String {
        let mut s = self.summary.clone();
        if let Some(fix) = &self.fix {
            s.push(' ');
            s.push_str(fix);
        }
        match (&self.code, &self.reference) {
            (Some(c), Some(r)) => s.push_str(&format!(" ({c}; reference {r})")),
            (Some(c), None) => s.push_str(&format!(" ({c})")),
            (None, Some(r)) => s.push_str(&format!(" (reference {r})")),
            (None, None) => {}
        }
        s
    }
}

impl Error {
    /// What happened and what to do about it.
    pub fn explanation(&self) -> Explanation {
        match self {
            Error::Identity {
                aadsts: code,
                error,
                description,
                trace_id,
                tenant,
                client_id,
                expiry,
                ..
            } => {
                let known = code.and_then(aadsts::lookup);
                let (summary, fix) = match known {
                    Some(e) => (
                        aadsts::fill(e.summary, tenant, client_id, expiry.as_deref()),
                        Some(aadsts::fill(e.fix, tenant, client_id, expiry.as_deref())),
                    ),
                    None => (
                        format!(
                            "Microsoft refused the token request ({error}): {}",
                            description.trim_end_matches('.')
                        ) + ".",
                        None,
                    ),
                };
                Explanation {
                    summary,
                    fix,
                    code: code.map(|c| format!("AADSTS{c}")),
                    reference: trace_id.clone(),
                }
            }
            Error::Graph {
                status,
                code,
                message,
                request_id,
            } => {
                let (summary, fix) = match graph_codes::lookup(code) {
                    Some(e) if code == "Request_BadRequest" => (
                        format!("{} Microsoft says: {message}", e.summary),
                        Some(e.fix.to_owned()),
                    ),
                    Some(e) => (e.summary.to_owned(), Some(e.fix.to_owned())),
                    None => (
                        format!("Microsoft Graph answered HTTP {status} ({code}): {message}"),
                        None,
                    ),
                };
                Explanation {
                    summary,
                    fix,
                    code: Some(code.clone()),
                    reference: request_id.clone(),
                }
            }
            other => Explanation {
                summary: other.to_string(),
                fix: None,
                code: None,
                reference: None,
            },
        }
    }

    /// The AADSTS code of an identity error.
    pub fn aadsts(&self) -> Option<u32> {
        match self {
            Error::Identity { aadsts, .. } => *aadsts,
            _ => None,
        }
    }

    /// The Graph `error.code` of a Graph error.
    pub fn graph_code(&self) -> Option<&str> {
        match self {
            Error::Graph { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The HTTP status Microsoft answered with, when there was an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Identity { status, .. }
            | Error::Graph { status, .. }
            | Error::UnexpectedResponse { status, .. } => Some(*status),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_aadsts_code_still_reads_as_a_sentence() {
        let e = Error::Identity {
            status: 400,
            aadsts: Some(1234567),
            error: "invalid_request".into(),
            description: "AADSTS1234567: Something new.".into(),
            trace_id: Some("t-1".into()),
            correlation_id: None,
            tenant: "contoso.onmicrosoft.com".into(),
            client_id: "c".into(),
            expiry: None,
        };
        assert_eq!(
            e.to_string(),
            "Microsoft refused the token request (invalid_request): AADSTS1234567: Something new. (AADSTS1234567; reference t-1)"
        );
    }

    #[test]
    fn graph_errors_use_the_code_table() {
        let e = Error::Graph {
            status: 403,
            code: "Authorization_RequestDenied".into(),
            message: "Insufficient privileges to complete the operation.".into(),
            request_id: Some("r-1".into()),
        };
        let text = e.to_string();
        assert!(
            text.contains("Grant admin consent") && text.contains("r-1"),
            "{text}"
        );
        assert_eq!(e.graph_code(), Some("Authorization_RequestDenied"));
    }
}
