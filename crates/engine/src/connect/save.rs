//! Saving connection settings and their credentials.

use base64::Engine as _;
use jiff::Timestamp;
use okta365_secrets::{CredentialKind, Secret};
use okta365_store::{CredentialRecord, ProfileRecord};
use tracing::instrument;
use uuid::Uuid;

use super::{
    MICROSOFT_GRAPH_URL, MICROSOFT_LOGIN_URL, MS_CERTIFICATE, MS_SECRET, OKTA_API_TOKEN,
    OKTA_SERVICE_APP, checked, default_operation_ids, parse_expiry, vendor,
};
use crate::{
    dto::{
        FieldId, GeneratedKey, MicrosoftCredentialInput, OktaAuthInput, OperationId, Profile,
        SaveMicrosoftRequest, SaveOktaRequest, StepId,
    },
    engine::{Engine, validate_profile_name},
    error::{Error, Result},
};

/// A credential about to be stored: the value for the keychain and the metadata for the store.
pub(crate) struct NewCredential {
    pub kind: CredentialKind,
    pub secret: Secret,
    pub hint: Option<String>,
    pub expires_at: Option<Timestamp>,
}

impl Engine {
    /// Creates a profile for a real Okta org and Microsoft tenant ("Connect my tenants") and makes it the
    /// active one. It starts on Microsoft's real endpoints with no credentials; the Okta org is set on
    /// the Okta step.
    #[instrument(skip(self), err)]
    pub async fn create_tenant_profile(&self, name: &str) -> Result<Profile> {
        let name = validate_profile_name(name)?;
        self.ensure_name_free(&name).await?;
        let now = Timestamp::now();
        let record = ProfileRecord {
            id: Uuid::new_v4(),
            name,
            kind: okta365_store::ProfileKind::Tenant,
            okta_org_url: String::new(),
            entra_login_url: MICROSOFT_LOGIN_URL.to_owned(),
            graph_url: MICROSOFT_GRAPH_URL.to_owned(),
            ms_tenant: None,
            ms_client_id: None,
            embedded_sandbox: false,
            wizard_step: StepId::Microsoft.as_str().to_owned(),
            created_at: now,
            updated_at: now,
            ms_credential_kind: None,
            okta_auth: None,
            okta_client_id: None,
            okta_key_id: None,
            okta_identity_source_id: None,
            operations: default_operation_ids(),
        };
        {
            let record = record.clone();
            self.db(move |store| store.create_profile(&record, &[], true))
                .await
                .map_err(|e| match e {
                    Error::Store(okta365_store::Error::NameTaken { name }) => {
                        Error::ProfileExists { name, id: None }
                    }
                    other => other,
                })?;
        }
        tracing::info!(profile_id = %record.id, name = %record.name, "created tenant profile");
        self.profile_out(record).await
    }

    /// Saves a profile's Microsoft tenant, client id and (optionally) a new credential.
    ///
    /// A client secret goes to the keychain as `entra.client_secret` (its first 3 characters, which
    /// Microsoft shows as the secret's hint, and the expiry given are kept as metadata). A certificate,
    /// PEM or PFX, is parsed and stored as PEM (certificate + private key) under
    /// `entra.client_certificate`, with the certificate's end date as its expiry; a PFX password is used
    /// once and never stored. Switching between a secret and a certificate deletes the other one.
    #[instrument(skip(self), err)]
    pub async fn save_microsoft(&self, request: SaveMicrosoftRequest) -> Result<Profile> {
        let mut record = self.find(&request.profile_id).await?;
        let tenant = checked(FieldId::MsTenant, &request.tenant)?;
        let client_id = checked(FieldId::MsClientId, &request.client_id)?;
        let new = match request.credential {
            None => None,
            Some(MicrosoftCredentialInput::Secret { secret, expires_at }) => {
                checked(FieldId::MsClientSecret, secret.expose())?;
                let expires_at = expires_at
                    .as_deref()
                    .filter(|d| !d.trim().is_empty())
                    .map(parse_expiry)
                    .transpose()?;
                let value = Secret::new(secret.expose().trim());
                Some(NewCredential {
                    kind: CredentialKind::EntraClientSecret,
                    hint: Some(value.expose().chars().take(3).collect()),
                    secret: value,
                    expires_at,
                })
            }
            Some(MicrosoftCredentialInput::CertificatePem { pem }) => {
                checked(FieldId::MsCertificate, pem.expose())?;
                Some(vendor::certificate_from_pem(&pem)?)
            }
            Some(MicrosoftCredentialInput::CertificatePfx {
                pfx_base64,
                password,
            }) => {
                let compact: String = pfx_base64
                    .expose()
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect();
                let der = base64::engine::general_purpose::STANDARD
                    .decode(compact.as_bytes())
                    .map_err(|_| {
                        Error::invalid(
                            "The PFX file could not be read (it is not base64-encoded). Choose the \
                             .pfx file again.",
                        )
                    })?;
                Some(vendor::certificate_from_pfx(&der, &password)?)
            }
        };
        record.ms_tenant = Some(tenant);
        record.ms_client_id = Some(client_id);
        let retire = match new.as_ref().map(|n| n.kind) {
            Some(CredentialKind::EntraClientSecret) => {
                record.ms_credential_kind = Some(MS_SECRET.to_owned());
                Some(CredentialKind::EntraClientCertificate)
            }
            Some(_) => {
                record.ms_credential_kind = Some(MS_CERTIFICATE.to_owned());
                Some(CredentialKind::EntraClientSecret)
            }
            None => None,
        };
        let saved = self.commit_connection(record, new, retire).await?;
        tracing::info!(profile_id = %saved.id, "saved the Microsoft connection");
        self.profile_out(saved).await
    }

    /// Saves a profile's Okta org URL and auth method (optionally with a new API token or private key).
    ///
    /// An API token goes to the keychain as `okta.api_token`; a service app keeps its client id and key
    /// id in the profile and its private key under `okta.private_key` (a key generated by
    /// [`Engine::generate_okta_key`] is kept when none is given). Switching the method deletes the other
    /// method's credential.
    #[instrument(skip(self), err)]
    pub async fn save_okta(&self, request: SaveOktaRequest) -> Result<Profile> {
        let mut record = self.find(&request.profile_id).await?;
        let org_url = checked(FieldId::OktaOrgUrl, &request.org_url)?;
        let profile_id = record.id;
        let stored = |kind: CredentialKind| async move {
            self.db(move |store| store.credential(profile_id, kind.as_str()))
                .await
                .map(|c| c.is_some())
        };
        let (new, retire) = match request.auth {
            OktaAuthInput::ApiToken { token } => {
                let new = match token {
                    Some(token) => {
                        checked(FieldId::OktaApiToken, token.expose())?;
                        Some(NewCredential {
                            kind: CredentialKind::OktaApiToken,
                            secret: Secret::new(token.expose().trim()),
                            hint: None,
                            expires_at: None,
                        })
                    }
                    None if stored(CredentialKind::OktaApiToken).await? => None,
                    None => {
                        return Err(Error::invalid(format!(
                            "No Okta API token is stored for profile \"{}\" yet. Paste one (Security → \
                             API → Tokens in the Okta Admin Console).",
                            record.name
                        )));
                    }
                };
                record.okta_auth = Some(OKTA_API_TOKEN.to_owned());
                (new, Some(CredentialKind::OktaPrivateKey))
            }
            OktaAuthInput::ServiceApp {
                client_id,
                private_key,
                key_id,
            } => {
                let client_id = checked(FieldId::OktaClientId, &client_id)?;
                let key_id = key_id
                    .map(|k| k.trim().to_owned())
                    .filter(|k| !k.is_empty());
                let new = match private_key {
                    Some(key) => {
                        checked(FieldId::OktaPrivateKey, key.expose())?;
                        let key = Secret::new(key.expose().trim());
                        let kid = key_id.or(vendor::okta_key_id(&key)?);
                        record.okta_key_id = kid.clone();
                        Some(NewCredential {
                            kind: CredentialKind::OktaPrivateKey,
                            secret: key,
                            hint: kid,
                            expires_at: None,
                        })
                    }
                    None if stored(CredentialKind::OktaPrivateKey).await? => {
                        if key_id.is_some() {
                            record.okta_key_id = key_id;
                        }
                        None
                    }
                    None => {
                        return Err(Error::invalid(format!(
                            "No private key is stored for profile \"{}\" yet. Paste the service app's \
                             private key (PEM or JWK), or generate a key pair and add its public key to \
                             the app in Okta.",
                            record.name
                        )));
                    }
                };
                record.okta_auth = Some(OKTA_SERVICE_APP.to_owned());
                record.okta_client_id = Some(client_id);
                (new, Some(CredentialKind::OktaApiToken))
            }
        };
        record.okta_org_url = org_url;
        if let Some(source) = request.identity_source_id {
            let source = source.trim();
            record.okta_identity_source_id = (!source.is_empty()).then(|| source.to_owned());
        }
        let saved = self.commit_connection(record, new, retire).await?;
        tracing::info!(profile_id = %saved.id, "saved the Okta connection");
        self.profile_out(saved).await
    }

    /// Generates a key pair for an Okta API service app: the private key goes to the OS keychain at once
    /// (`okta.private_key`, replacing any stored one) and its key id into the profile; the public JWK is
    /// returned for the admin to paste into the app's Public keys in Okta.
    #[instrument(skip(self), err)]
    pub async fn generate_okta_key(&self, profile_id: &str) -> Result<GeneratedKey> {
        let mut record = self.find(profile_id).await?;
        let generated = vendor::generate_okta_key()?;
        record.okta_key_id = Some(generated.key_id.clone());
        let new = NewCredential {
            kind: CredentialKind::OktaPrivateKey,
            secret: generated.private_key,
            hint: Some(generated.key_id.clone()),
            expires_at: None,
        };
        let saved = self.commit_connection(record, Some(new), None).await?;
        tracing::info!(profile_id = %saved.id, key_id = %generated.key_id, "generated an Okta service app key pair");
        Ok(GeneratedKey {
            key_id: generated.key_id,
            public_jwk: generated.public_jwk,
        })
    }

    /// Sets the operations enabled on a profile (duplicates dropped, in the table's order).
    #[instrument(skip(self), err)]
    pub async fn set_operations(
        &self,
        profile_id: &str,
        operations: Vec<OperationId>,
    ) -> Result<Profile> {
        let mut record = self.find(profile_id).await?;
        record.operations = OperationId::ALL
            .into_iter()
            .filter(|op| operations.contains(op))
            .map(|op| op.as_str().to_owned())
            .collect();
        let saved = self.commit_connection(record, None, None).await?;
        self.profile_out(saved).await
    }

    /// Stores `new` in the keychain, then the profile row and the credential's metadata in one
    /// transaction; afterwards deletes the `retire`d credential (keychain entry, then its row). Returns
    /// the profile as saved.
    pub(crate) async fn commit_connection(
        &self,
        record: ProfileRecord,
        new: Option<NewCredential>,
        retire: Option<CredentialKind>,
    ) -> Result<ProfileRecord> {
        let id = record.id;
        let key = id.to_string();
        let keychain = &self.inner.keychain;
        let mut previous = None;
        let mut rows = Vec::new();
        if let Some(new) = &new {
            previous = keychain
                .get(&key, new.kind)
                .await
                .map_err(|e| incomplete(e.into(), "Nothing was saved.".to_owned()))?;
            keychain
                .set(&key, new.kind, &new.secret)
                .await
                .map_err(|e| incomplete(e.into(), "Nothing was saved.".to_owned()))?;
            rows.push(CredentialRecord {
                profile_id: id,
                kind: new.kind.as_str().to_owned(),
                label: new.kind.label().to_owned(),
                hint: new.hint.clone(),
                created_at: Timestamp::now(),
                last_used_at: None,
                expires_at: new.expires_at,
            });
        }
        let saved = {
            let record = record.clone();
            self.db(move |store| store.save_connection(&record, &rows, &[]))
                .await
        };
        let failure = match saved {
            Ok(true) => None,
            Ok(false) => Some(Error::ProfileNotFound {
                query: id.to_string(),
            }),
            Err(e) => Some(e),
        };
        if let Some(error) = failure {
            let Some(new) = &new else {
                return Err(incomplete(error, "Nothing was saved.".to_owned()));
            };
            let label = new.kind.label();
            let restored = match &previous {
                Some(old) => keychain.set(&key, new.kind, old).await,
                None => keychain.delete(&key, new.kind).await.map(|_| ()),
            };
            let outcome = match (restored, previous.is_some()) {
                (Ok(()), true) => format!(
                    "Nothing was saved: the settings were not written and the previous {label} is back \
                     in the OS keychain."
                ),
                (Ok(()), false) => format!(
                    "Nothing was saved: the settings were not written and the new {label} was removed \
                     from the OS keychain again."
                ),
                (Err(e), _) => {
                    tracing::warn!(profile_id = %id, kind = new.kind.as_str(), error = %e, "could not undo a keychain write");
                    format!(
                        "The new {label} is in the OS keychain, but the profile's settings were not \
                         saved and the previous state could not be restored ({e}). Save again."
                    )
                }
            };
            return Err(incomplete(error, outcome));
        }
        if let Some(kind) = retire {
            self.forget_credential(id, kind).await;
        }
        self.find_by_id(id).await
    }

    /// Deletes a credential a profile no longer uses: the keychain entry, then its row. A keychain
    /// failure keeps the row (so the Credentials screen still lists it) and is logged.
    async fn forget_credential(&self, id: Uuid, kind: CredentialKind) {
        match self.inner.keychain.delete(&id.to_string(), kind).await {
            Ok(_) => {
                if let Err(e) = self
                    .db(move |store| store.delete_credential(id, kind.as_str()))
                    .await
                {
                    tracing::warn!(profile_id = %id, kind = kind.as_str(), error = %e, "could not drop a credential record");
                }
            }
            Err(e) => {
                tracing::warn!(profile_id = %id, kind = kind.as_str(), error = %e, "could not delete a credential the profile no longer uses; it stays listed");
            }
        }
    }
}

fn incomplete(source: Error, outcome: String) -> Error {
    Error::SaveIncomplete {
        outcome,
        source: Box::new(source),
    }
}
