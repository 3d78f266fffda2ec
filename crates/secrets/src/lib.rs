//! Secrets for okta365: a redacting wrapper and the OS keychain.
//!
//! Secrets live in three places only: the OS keychain, process memory inside [`Secret`] (whose `Debug` and
//! `Display` print `<redacted>`, which cannot be serialized, and which is zeroed on drop), and the one HTTP
//! request that needs them.
//!
//! [`Keychain`] stores them through `keyring` (Secret Service on Linux, Keychain on macOS, Credential
//! Manager on Windows) under the service `okta365` for release builds and `okta365-dev` for debug builds,
//! so a dev or test build never reads a production entry; the account is `{profile_id}/{kind}`. There is
//! no fallback to a file: without a keychain, storing a secret fails with a message saying how to get one.
//!
//! Keychains cannot list their entries, so callers keep an index of which kinds a profile stored (the
//! engine keeps it in the store's `credentials` table).

#![warn(missing_docs)]

mod error;

use std::{fmt, sync::Arc};

use zeroize::Zeroizing;

pub use error::{Error, Result};

/// A secret value in memory: prints `<redacted>`, is not `Serialize`, and is zeroed when dropped.
///
/// Call [`Secret::expose`] only where the value is put on the wire or into the keychain.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(Zeroizing::new(value.into()))
    }

    /// The secret value. Never log it, store it in SQLite or return it over IPC.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret::new(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What a stored secret is; part of its keychain account name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CredentialKind {
    /// An Okta API token (`SSWS` header).
    OktaApiToken,
    /// A client secret of the Entra app registration okta365 uses.
    EntraClientSecret,
}

impl CredentialKind {
    /// Every kind, for cleanup of entries whose index was lost.
    pub const ALL: [CredentialKind; 2] = [
        CredentialKind::OktaApiToken,
        CredentialKind::EntraClientSecret,
    ];

    /// The stable identifier used in the keychain account and the store, e.g. `okta.api_token`.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::OktaApiToken => "okta.api_token",
            CredentialKind::EntraClientSecret => "entra.client_secret",
        }
    }

    /// A label for people, e.g. "Okta API token".
    pub fn label(self) -> &'static str {
        match self {
            CredentialKind::OktaApiToken => "Okta API token",
            CredentialKind::EntraClientSecret => "Entra client secret",
        }
    }

    /// Parses [`CredentialKind::as_str`] back.
    pub fn parse(value: &str) -> Option<CredentialKind> {
        CredentialKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == value)
    }
}

impl fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The OS keychain, namespaced by build kind.
///
/// Every method runs the blocking keychain call on a blocking thread, so they must be called from inside
/// a Tokio runtime.
#[derive(Debug, Clone)]
pub struct Keychain {
    service: Arc<str>,
}

impl Default for Keychain {
    fn default() -> Self {
        Keychain::for_build()
    }
}

impl Keychain {
    /// The keychain service of this build: `okta365` for release builds, `okta365-dev` for debug builds.
    pub fn for_build() -> Keychain {
        Keychain::with_service(if cfg!(debug_assertions) {
            "okta365-dev"
        } else {
            "okta365"
        })
    }

    /// A keychain under another service name (for tools that inspect another build's entries).
    pub fn with_service(service: impl Into<String>) -> Keychain {
        Keychain {
            service: Arc::from(service.into()),
        }
    }

    /// The keychain service name entries are stored under.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// Stores (or replaces) a profile's secret of this kind.
    pub async fn set(&self, profile_id: &str, kind: CredentialKind, secret: &Secret) -> Result<()> {
        let secret = secret.clone();
        self.run(profile_id, kind, move |entry| {
            entry.set_password(secret.expose())
        })
        .await?;
        tracing::debug!(service = %self.service, profile_id, kind = kind.as_str(), "stored secret in keychain");
        Ok(())
    }

    /// Reads a profile's secret of this kind; `None` when there is no such entry.
    pub async fn get(&self, profile_id: &str, kind: CredentialKind) -> Result<Option<Secret>> {
        self.run(profile_id, kind, |entry| {
            entry.get_password().map(Secret::new)
        })
        .await
    }

    /// Deletes a profile's secret of this kind; returns whether there was one.
    pub async fn delete(&self, profile_id: &str, kind: CredentialKind) -> Result<bool> {
        let deleted = self
            .run(profile_id, kind, |entry| entry.delete_credential())
            .await?
            .is_some();
        tracing::debug!(service = %self.service, profile_id, kind = kind.as_str(), deleted, "deleted secret from keychain");
        Ok(deleted)
    }

    /// Deletes every listed kind of a profile's secrets, trying all of them even if one fails; returns how
    /// many existed, or the first error.
    pub async fn delete_all_for_profile(
        &self,
        profile_id: &str,
        kinds: &[CredentialKind],
    ) -> Result<usize> {
        let mut deleted = 0;
        let mut first_error = None;
        for &kind in kinds {
            match self.delete(profile_id, kind).await {
                Ok(true) => deleted += 1,
                Ok(false) => {}
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(deleted), Err)
    }

    /// Runs one blocking keyring call on a blocking thread and maps its error; `Ok(None)` when the entry
    /// does not exist.
    async fn run<T: Send + 'static>(
        &self,
        profile_id: &str,
        kind: CredentialKind,
        call: impl FnOnce(&keyring::Entry) -> keyring::Result<T> + Send + 'static,
    ) -> Result<Option<T>> {
        let service = self.service.clone();
        let account = format!("{profile_id}/{}", kind.as_str());
        let joined = tokio::task::spawn_blocking(move || {
            let entry = keyring::Entry::new(&service, &account)?;
            call(&entry)
        })
        .await;
        let context = || (profile_id.to_owned(), kind.label().to_owned());
        match joined {
            Ok(Ok(value)) => Ok(Some(value)),
            Ok(Err(keyring::Error::NoEntry)) => Ok(None),
            Ok(Err(error)) => Err(map_error(&self.service, kind, context(), error)),
            Err(join) => {
                let (profile_id, kind) = context();
                Err(Error::Interrupted {
                    profile_id,
                    kind,
                    detail: join.to_string(),
                })
            }
        }
    }
}

fn map_error(
    service: &str,
    credential: CredentialKind,
    (profile_id, kind): (String, String),
    error: keyring::Error,
) -> Error {
    match error {
        keyring::Error::NoStorageAccess(detail) => Error::Locked {
            profile_id,
            kind,
            detail: detail.to_string(),
        },
        keyring::Error::PlatformFailure(detail) => {
            let detail = detail.to_string();
            // No session bus, or a bus without any Secret Service on it: there is no keychain at all.
            let unavailable = [
                "no secret service",
                "ServiceUnknown",
                "DBUS_SESSION_BUS_ADDRESS",
                "D-Bus",
                "dbus",
                "No such file",
                "not provided",
                "Connection refused",
            ]
            .iter()
            .any(|needle| detail.contains(needle));
            if unavailable {
                Error::Unavailable { detail }
            } else {
                Error::Platform {
                    profile_id,
                    kind,
                    detail,
                }
            }
        }
        // Never echo the bytes: they are the (undecodable) secret.
        keyring::Error::BadEncoding(_) => Error::BadEncoding {
            service: service.to_owned(),
            account: format!("{profile_id}/{}", credential.as_str()),
            profile_id,
            kind,
        },
        other => Error::Platform {
            profile_id,
            kind,
            detail: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints_its_value() {
        let secret = Secret::new("00abcSECRETvalue");
        assert_eq!(format!("{secret}"), "<redacted>");
        assert_eq!(format!("{secret:?}"), "<redacted>");
        assert_eq!(
            format!("{:?}", Some(&secret)),
            "Some(<redacted>)",
            "Debug of containers stays redacted"
        );
        assert_eq!(
            secret.expose(),
            "00abcSECRETvalue",
            "expose gives the value to the one place that needs it"
        );
    }

    #[test]
    fn kinds_round_trip() {
        for kind in CredentialKind::ALL {
            assert_eq!(CredentialKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(
            CredentialKind::parse("okta.password"),
            None,
            "unknown kinds are not guessed"
        );
    }

    #[test]
    fn build_kind_namespaces_the_service() {
        let expected = if cfg!(debug_assertions) {
            "okta365-dev"
        } else {
            "okta365"
        };
        assert_eq!(Keychain::for_build().service(), expected);
    }
}
