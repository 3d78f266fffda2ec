//! Errors of the secrets crate.

/// Everything that can go wrong with the OS keychain.
///
/// Messages never contain secret values.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// There is no usable keychain service at all.
    #[error(
        "No OS keychain is available: on Linux install and start a Secret Service such as gnome-keyring \
         (or KeePassXC with Secret Service enabled) and unlock it; on macOS and Windows the login keychain / \
         Credential Manager must be reachable. okta365 never stores secrets in a file instead. ({detail})"
    )]
    Unavailable {
        /// What the platform said.
        detail: String,
    },
    /// The keychain did not give access: typically it is locked, the unlock prompt was dismissed, or the
    /// session bus has no Secret Service answering.
    #[error(
        "The OS keychain did not give access to the {kind} of profile {profile_id}: it is locked, or no Secret \
         Service answered. Unlock it (on Linux: the login keyring, e.g. in Seahorse) or start a Secret Service \
         such as gnome-keyring, then try again. ({detail})"
    )]
    Locked {
        /// The profile whose secret was asked for.
        profile_id: String,
        /// What the secret is, e.g. "Okta API token".
        kind: String,
        /// What the platform said.
        detail: String,
    },
    /// The stored entry is not text; it was not written by okta365.
    #[error(
        "The keychain entry for the {kind} of profile {profile_id} is not valid text. Delete it (service \
         \"{service}\", account \"{account}\") and enter the credential again."
    )]
    BadEncoding {
        /// The keychain service name.
        service: String,
        /// The keychain account name.
        account: String,
        /// The profile whose secret was asked for.
        profile_id: String,
        /// What the secret is, e.g. "Okta API token".
        kind: String,
    },
    /// Any other keychain failure.
    #[error("The OS keychain failed on the {kind} of profile {profile_id}: {detail}")]
    Platform {
        /// The profile whose secret was asked for.
        profile_id: String,
        /// What the secret is, e.g. "Okta API token".
        kind: String,
        /// What the platform said.
        detail: String,
    },
    /// The keychain call could not run to completion (its worker thread panicked or was cancelled).
    #[error(
        "The OS keychain call for the {kind} of profile {profile_id} did not complete: {detail}"
    )]
    Interrupted {
        /// The profile whose secret was asked for.
        profile_id: String,
        /// What the secret is, e.g. "Okta API token".
        kind: String,
        /// Why.
        detail: String,
    },
}

/// Result of keychain operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
