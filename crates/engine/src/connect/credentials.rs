//! The Credentials screen: every stored credential's metadata, deleting one, and entering its expiry.

use jiff::Timestamp;
use okta365_store::{CredentialRecord, ProfileRecord};
use tracing::instrument;

use super::{EXPIRY_WARNING_DAYS, days_left, parse_expiry};
use crate::{
    dto::{CredentialInfo, CredentialKind},
    engine::Engine,
    error::{Error, Result},
};

impl Engine {
    /// Every credential of every profile (metadata only), by profile then kind.
    pub async fn list_credentials(&self) -> Result<Vec<CredentialInfo>> {
        let profiles = self.db(|store| store.list_profiles()).await?;
        let records = self.db(|store| store.all_credentials()).await?;
        let now = Timestamp::now();
        Ok(records
            .into_iter()
            .filter_map(|record| {
                let profile = profiles.iter().find(|p| p.id == record.profile_id)?;
                credential_info(profile, record, now)
            })
            .collect())
    }

    /// Deletes one credential of a profile: its keychain entry, then its metadata. A connection that
    /// used it is left without a credential (Microsoft `credentialKind` / Okta `auth` become `null`).
    #[instrument(skip(self), err)]
    pub async fn delete_credential(&self, profile_id: &str, kind: CredentialKind) -> Result<()> {
        let mut record = self.find(profile_id).await?;
        let id = record.id;
        let secrets_kind = kind.to_secrets();
        let existed = self
            .inner
            .keychain
            .delete(&id.to_string(), secrets_kind)
            .await?;
        let recorded = self
            .db(move |store| store.credential(id, kind.as_str()))
            .await?
            .is_some();
        if !existed && !recorded {
            return Err(Error::CredentialNotFound {
                profile: record.name,
                label: secrets_kind.label(),
            });
        }
        let uses = match kind {
            CredentialKind::EntraClientSecret => {
                record.ms_credential_kind.as_deref() == Some(super::MS_SECRET)
            }
            CredentialKind::EntraClientCertificate => {
                record.ms_credential_kind.as_deref() == Some(super::MS_CERTIFICATE)
            }
            CredentialKind::OktaApiToken => {
                record.okta_auth.as_deref() == Some(super::OKTA_API_TOKEN)
            }
            CredentialKind::OktaPrivateKey => {
                record.okta_auth.as_deref() == Some(super::OKTA_SERVICE_APP)
            }
        };
        if uses {
            match kind {
                CredentialKind::EntraClientSecret | CredentialKind::EntraClientCertificate => {
                    record.ms_credential_kind = None
                }
                CredentialKind::OktaApiToken | CredentialKind::OktaPrivateKey => {
                    record.okta_auth = None
                }
            }
        }
        let kind_str = kind.as_str();
        self.db(move |store| store.save_connection(&record, &[], &[kind_str]))
            .await?;
        tracing::info!(profile_id = %id, kind = kind_str, "deleted a credential");
        Ok(())
    }

    /// Records when a credential expires (`YYYY-MM-DD` or RFC 3339; `None` for unknown).
    #[instrument(skip(self), err)]
    pub async fn set_credential_expiry(
        &self,
        profile_id: &str,
        kind: CredentialKind,
        expires_at: Option<&str>,
    ) -> Result<CredentialInfo> {
        let record = self.find(profile_id).await?;
        let expires = expires_at
            .filter(|v| !v.trim().is_empty())
            .map(parse_expiry)
            .transpose()?;
        let id = record.id;
        let kind_str = kind.as_str();
        let changed = self
            .db(move |store| store.set_credential_expiry(id, kind_str, expires))
            .await?;
        if !changed {
            return Err(Error::CredentialNotFound {
                profile: record.name,
                label: kind.to_secrets().label(),
            });
        }
        self.credential_info(&record, kind).await
    }

    pub(crate) async fn credential_info(
        &self,
        profile: &ProfileRecord,
        kind: CredentialKind,
    ) -> Result<CredentialInfo> {
        let id = profile.id;
        let stored = self
            .db(move |store| store.credential(id, kind.as_str()))
            .await?
            .ok_or_else(|| Error::CredentialNotFound {
                profile: profile.name.clone(),
                label: kind.to_secrets().label(),
            })?;
        credential_info(profile, stored, Timestamp::now()).ok_or_else(|| {
            Error::Store(okta365_store::Error::Corrupt {
                column: "credentials.kind",
                value: kind.as_str().to_owned(),
            })
        })
    }
}

/// The DTO of a credential record; `None` for a kind this build does not know.
fn credential_info(
    profile: &ProfileRecord,
    record: CredentialRecord,
    now: Timestamp,
) -> Option<CredentialInfo> {
    let kind = CredentialKind::parse(&record.kind)?;
    let days = record.expires_at.map(|e| days_left(e, now));
    Some(CredentialInfo {
        profile_id: profile.id.to_string(),
        profile_name: profile.name.clone(),
        kind,
        label: record.label,
        hint: record.hint,
        created_at: record.created_at.to_string(),
        last_used_at: record.last_used_at.map(|t| t.to_string()),
        expires_at: record.expires_at.map(|t| t.to_string()),
        days_left: days,
        expiry_warning: days.is_some_and(|d| d < EXPIRY_WARNING_DAYS),
    })
}
