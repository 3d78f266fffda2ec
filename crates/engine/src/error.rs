//! The engine's error, and its mapping to the one error that crosses IPC ([`ApiError`]).

use std::path::PathBuf;

use serde_json::json;

use crate::dto::{ApiError, ErrorCode};

/// Everything the engine can fail with. Messages are sentences a tenant admin can act on and never
/// contain secret values.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value given by the user is invalid; the message says which and how to fix it.
    #[error("{message}")]
    InvalidInput {
        /// The sentence to show.
        message: String,
    },
    /// No profile has this name or id.
    #[error("No profile is named or has the id \"{query}\".")]
    ProfileNotFound {
        /// What was looked for.
        query: String,
    },
    /// A profile with this name (ignoring case) exists already.
    #[error(
        "A profile named \"{name}\" already exists. Choose another name, or remove that profile first."
    )]
    ProfileExists {
        /// The existing profile's name, as stored.
        name: String,
        /// The existing profile's id, when known.
        id: Option<String>,
    },
    /// No credential of this kind is stored for the profile.
    #[error("No {label} is stored for profile \"{profile}\".")]
    CredentialNotFound {
        /// The profile's name.
        profile: String,
        /// What was looked for, e.g. "Entra client secret".
        label: &'static str,
    },
    /// Saving a connection failed part-way; `outcome` says exactly what was and was not saved.
    #[error("{source} {outcome}")]
    SaveIncomplete {
        /// What was and was not saved, as a sentence.
        outcome: String,
        /// Why it failed.
        #[source]
        source: Box<Error>,
    },
    /// The OS keychain failed.
    #[error(transparent)]
    Keychain(Box<okta365_secrets::Error>),
    /// A secret of a profile being removed could not be deleted; the profile was kept.
    #[error(
        "Could not delete the {label} of profile \"{profile}\" from the OS keychain, so the profile was kept \
         (secrets already deleted stay deleted). Fix the keychain, then remove the profile again. {source}"
    )]
    SecretNotDeleted {
        /// The profile's name.
        profile: String,
        /// What the secret is, e.g. "Okta API token".
        label: &'static str,
        /// Why.
        #[source]
        source: Box<okta365_secrets::Error>,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] okta365_store::Error),
    /// The sandbox tenant failed (boxed: the sandbox's error is large and rare).
    #[error(transparent)]
    Sandbox(Box<okta365_sandbox::Error>),
    /// A sandbox URL did not answer as a sandbox.
    #[error(
        "No okta365 sandbox answered at {url}: {detail}. Start one with `okta365 sandbox serve`, or check the URL."
    )]
    SandboxUnreachable {
        /// The base URL tried.
        url: String,
        /// What went wrong.
        detail: String,
    },
    /// There is no home folder to derive the data dir from.
    #[error(
        "Could not find a folder for okta365's data (no home directory is known). Set OKTA365_DATA_DIR to a folder."
    )]
    NoDataDir,
    /// A folder under the data dir could not be created or used.
    #[error(
        "Could not use the folder {path}: {source}. Check that it is writable, or set OKTA365_DATA_DIR to another folder."
    )]
    Dir {
        /// The folder.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A path where okta365 needs a folder is a file (often `OKTA365_DATA_DIR` set to a file).
    #[error(
        "{path} is a file, but okta365 needs a folder there for its data. Move the file away, or set OKTA365_DATA_DIR to a folder."
    )]
    NotADir {
        /// The path.
        path: PathBuf,
    },
    /// Logging could not be set up.
    #[error("Could not start logging: {0}")]
    Logging(String),
    /// A background task of the engine stopped unexpectedly.
    #[error(
        "An internal task of okta365 stopped unexpectedly: {0}. Try again; if it persists, report it with the log file."
    )]
    Task(String),
    /// The signed-in admin or the token used lacks a role or permission; the message names it and who
    /// can grant it.
    #[error("{message}")]
    PermissionDenied {
        /// The sentence to show.
        message: String,
    },
    /// A sign-in did not complete (declined, expired, cancelled, blocked by a policy); the message
    /// says which and what to do.
    #[error("{message}")]
    SignInFailed {
        /// The sentence to show.
        message: String,
    },
    /// The user cancelled the operation.
    #[error("{message}")]
    Cancelled {
        /// The sentence to show.
        message: String,
    },
    /// The Okta org or the Microsoft tenant refused or failed a call; the message says what it answered
    /// (with its error code) and what to do.
    #[error("{message}")]
    Vendor {
        /// The sentence to show.
        message: String,
    },
}

/// Result of engine operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A shorthand for [`Error::InvalidInput`].
    pub fn invalid(message: impl Into<String>) -> Error {
        Error::InvalidInput {
            message: message.into(),
        }
    }

    /// The IPC error code of this error.
    pub fn code(&self) -> ErrorCode {
        use okta365_sandbox::Error as S;
        match self {
            Error::InvalidInput { .. } => ErrorCode::InvalidInput,
            Error::ProfileNotFound { .. } | Error::CredentialNotFound { .. } => ErrorCode::NotFound,
            Error::SaveIncomplete { source, .. } => source.code(),
            Error::ProfileExists { .. } => ErrorCode::AlreadyExists,
            Error::Store(okta365_store::Error::NameTaken { .. }) => ErrorCode::AlreadyExists,
            Error::Keychain(_) | Error::SecretNotDeleted { .. } => ErrorCode::KeychainUnavailable,
            Error::Sandbox(e)
                if matches!(
                    **e,
                    S::SeedRead { .. } | S::SeedInvalid { .. } | S::SeedIgnored { .. }
                ) =>
            {
                ErrorCode::InvalidInput
            }
            Error::Sandbox(_) | Error::SandboxUnreachable { .. } => ErrorCode::SandboxUnavailable,
            Error::PermissionDenied { .. } => ErrorCode::PermissionDenied,
            Error::SignInFailed { .. } => ErrorCode::SignInFailed,
            Error::Cancelled { .. } => ErrorCode::Cancelled,
            Error::Store(_)
            | Error::NoDataDir
            | Error::Dir { .. }
            | Error::NotADir { .. }
            | Error::Logging(_)
            | Error::Task(_)
            | Error::Vendor { .. } => ErrorCode::Internal,
        }
    }

    fn details(&self) -> Option<serde_json::Value> {
        match self {
            Error::ProfileNotFound { query } => Some(json!({ "query": query })),
            Error::SaveIncomplete { source, .. } => source.details(),
            Error::ProfileExists { name, id } => Some(json!({ "name": name, "id": id })),
            Error::Store(okta365_store::Error::NameTaken { name }) => Some(json!({ "name": name })),
            Error::SandboxUnreachable { url, .. } => Some(json!({ "url": url })),
            Error::Sandbox(e) => match &**e {
                okta365_sandbox::Error::AlreadyServed { url, .. } => Some(json!({ "url": url })),
                _ => None,
            },
            _ => None,
        }
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> ApiError {
        ApiError {
            code: error.code(),
            message: error.to_string(),
            details: error.details(),
        }
    }
}

impl From<okta365_secrets::Error> for Error {
    fn from(error: okta365_secrets::Error) -> Error {
        Error::Keychain(Box::new(error))
    }
}

impl From<okta365_sandbox::Error> for Error {
    fn from(error: okta365_sandbox::Error) -> Error {
        Error::Sandbox(Box::new(error))
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(error: tokio::task::JoinError) -> Error {
        Error::Task(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_of(error: Error) -> String {
        serde_json::to_string(&ApiError::from(error)).unwrap()
    }

    #[test]
    fn api_error_json_is_exactly_code_message_details() {
        assert_eq!(
            json_of(Error::invalid("A profile name cannot be empty.")),
            r#"{"code":"invalid_input","message":"A profile name cannot be empty."}"#,
            "details is left out entirely when there are none"
        );
        assert_eq!(
            json_of(Error::ProfileNotFound {
                query: "Prod".into()
            }),
            r#"{"code":"not_found","message":"No profile is named or has the id \"Prod\".","details":{"query":"Prod"}}"#
        );
        assert_eq!(
            json_of(Error::ProfileExists {
                name: "Sandbox".into(),
                id: Some("4f1c".into())
            }),
            r#"{"code":"already_exists","message":"A profile named \"Sandbox\" already exists. Choose another name, or remove that profile first.","details":{"id":"4f1c","name":"Sandbox"}}"#
        );
        assert_eq!(
            json_of(Error::from(okta365_secrets::Error::Unavailable {
                detail: "no bus".into()
            })),
            format!(
                r#"{{"code":"keychain_unavailable","message":{}}}"#,
                serde_json::to_string(
                    &okta365_secrets::Error::Unavailable {
                        detail: "no bus".into()
                    }
                    .to_string()
                )
                .unwrap()
            )
        );
        assert_eq!(
            json_of(Error::SandboxUnreachable {
                url: "http://127.0.0.1:9/".into(),
                detail: "connection refused".into()
            }),
            r#"{"code":"sandbox_unavailable","message":"No okta365 sandbox answered at http://127.0.0.1:9/: connection refused. Start one with `okta365 sandbox serve`, or check the URL.","details":{"url":"http://127.0.0.1:9/"}}"#
        );
        assert_eq!(
            json_of(Error::PermissionDenied {
                message: "Needs Global Administrator.".into()
            }),
            r#"{"code":"permission_denied","message":"Needs Global Administrator."}"#
        );
        assert_eq!(
            json_of(Error::SignInFailed {
                message: "The code expired.".into()
            }),
            r#"{"code":"sign_in_failed","message":"The code expired."}"#
        );
        assert_eq!(
            json_of(Error::Cancelled {
                message: "Cancelled.".into()
            }),
            r#"{"code":"cancelled","message":"Cancelled."}"#
        );
        assert_eq!(
            json_of(Error::Task("boom".into()))[..22].to_owned(),
            r#"{"code":"internal","me"#
        );
    }

    #[test]
    fn api_error_reads_back_with_and_without_details() {
        let without: ApiError =
            serde_json::from_str(r#"{"code":"not_found","message":"m"}"#).unwrap();
        assert_eq!(
            without,
            ApiError {
                code: ErrorCode::NotFound,
                message: "m".into(),
                details: None
            }
        );
        let with: ApiError =
            serde_json::from_str(r#"{"code":"internal","message":"m","details":[1]}"#).unwrap();
        assert_eq!(with.details, Some(json!([1])));
    }
}
