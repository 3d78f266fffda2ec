//! The sandbox tenant's state: the data model, built from a [`Seed`](crate::Seed), kept in memory behind a
//! lock and written to one JSON file after every change.
//!
//! What must stay true: the file holds only SHA-256 hashes of API tokens and client secrets, never their
//! values; the file is replaced atomically (temp file, fsync, rename), so a crash leaves either the old
//! or the new state, never half of one.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::seed::Seed;

/// The state file's format version.
pub(crate) const FORMAT: u32 = 1;

/// The whole tenant: an Okta org plus a Microsoft tenant.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct State {
    pub format: u32,
    /// Seconds the sandbox clock runs ahead of the wall clock (`POST /_sandbox/clock`).
    #[serde(default)]
    pub clock_offset_secs: i64,
    pub okta: OktaState,
    pub microsoft: MicrosoftState,
    /// The RSA key that signs Entra access tokens; created on first use and then kept.
    #[serde(default)]
    pub signing_key: Option<SigningKey>,
    /// Mail sent through Graph (later issues); kept so tests can read it back.
    #[serde(default)]
    pub mail: Vec<Value>,
    /// The sample HR source's records (`hr_source`).
    #[serde(default = "crate::hr_source::HrState::seeded")]
    pub hr: crate::hr_source::HrState,
}

/// The Okta org.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OktaState {
    pub org_name: String,
    pub users: Vec<OktaUser>,
    pub groups: Vec<OktaGroup>,
    /// API tokens (hashes only).
    #[serde(default)]
    pub api_tokens: Vec<ApiToken>,
    /// System Log events, oldest first.
    #[serde(default)]
    pub events: Vec<LogEvent>,
    /// API service apps, issued access tokens (hashes only), used `jti`s, the DPoP nonce.
    #[serde(default)]
    pub oauth: crate::okta_oauth::OAuthState,
    /// Admin roles of users and who owns each API token (`okta_apps`).
    #[serde(default)]
    pub admin: crate::okta_apps::AdminState,
    /// Identity-source import sessions, externalId links and their rules (`okta_identity_sources`).
    #[serde(default)]
    pub imports: crate::okta_identity_sources::ImportState,
}

/// An Okta user. `profile` is free-form like Okta's (base plus custom attributes).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OktaUser {
    pub id: String,
    pub status: String,
    pub created: String,
    #[serde(default)]
    pub activated: Option<String>,
    pub last_updated: String,
    pub profile: Map<String, Value>,
}

/// An Okta group with its members' user ids.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OktaGroup {
    pub id: String,
    /// `OKTA_GROUP`, `APP_GROUP` or `BUILT_IN`.
    #[serde(rename = "type")]
    pub kind: String,
    pub profile: GroupProfile,
    pub created: String,
    pub last_updated: String,
    pub last_membership_updated: String,
    #[serde(default)]
    pub members: Vec<String>,
}

/// An Okta group's profile.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct GroupProfile {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// An Okta API token: only its hash is kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApiToken {
    pub id: String,
    pub name: String,
    /// Lower-case hex SHA-256 of the token value.
    pub token_hash: String,
    pub created: String,
}

/// An Okta System Log event (the subset of LogEvent the sandbox records).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LogEvent {
    pub uuid: String,
    pub published: String,
    pub event_type: String,
    pub display_message: String,
    pub severity: String,
    pub actor: Value,
    pub target: Vec<Value>,
    pub outcome: Value,
    pub transaction: Value,
}

/// The Microsoft tenant.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MicrosoftState {
    pub tenant: Tenant,
    pub users: Vec<GraphUser>,
    pub subscribed_skus: Vec<Sku>,
    pub apps: Vec<AppRegistration>,
    /// Entra groups with group-based licensing (`graph_licenses`).
    #[serde(default)]
    pub entra_groups: Vec<EntraGroup>,
    /// Messages in mailboxes' Sent Items, oldest first (`graph_mail`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sent_items: Vec<SentItem>,
}

/// An Entra group that licenses its members (group-based licensing).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EntraGroup {
    pub id: String,
    pub display_name: String,
    /// Member user ids.
    #[serde(default)]
    pub members: Vec<String>,
    /// The licenses every member inherits.
    #[serde(default)]
    pub assigned_licenses: Vec<AssignedLicense>,
}

/// A message in a mailbox's Sent Items: the mailbox owner's user id and the Graph `message`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SentItem {
    pub mailbox: String,
    pub message: Value,
}

/// The Entra tenant (Graph `organization`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Tenant {
    pub id: String,
    pub display_name: String,
    pub tenant_type: String,
    pub country_letter_code: Option<String>,
    pub preferred_language: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub street: Option<String>,
    pub created_date_time: String,
    pub verified_domains: Vec<VerifiedDomain>,
}

/// A verified domain of the tenant, as Graph shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VerifiedDomain {
    pub name: String,
    pub is_default: bool,
    pub is_initial: bool,
    #[serde(rename = "type")]
    pub kind: String,
    pub capabilities: String,
}

/// A Microsoft Graph user with the real `microsoft.graph.user` property names.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GraphUser {
    pub id: String,
    pub user_principal_name: String,
    pub display_name: String,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub mail: Option<String>,
    pub mail_nickname: String,
    pub job_title: Option<String>,
    pub department: Option<String>,
    pub account_enabled: bool,
    pub usage_location: Option<String>,
    pub user_type: String,
    #[serde(default)]
    pub business_phones: Vec<String>,
    pub mobile_phone: Option<String>,
    pub office_location: Option<String>,
    pub preferred_language: Option<String>,
    pub created_date_time: String,
    #[serde(default)]
    pub assigned_licenses: Vec<AssignedLicense>,
    /// Entra directory roles held (role template ids, e.g. Global Administrator
    /// `62e90394-69f5-4237-9190-012177145e10`): a delegated token's `wids`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub directory_roles: Vec<String>,
    /// Other `microsoft.graph.user` properties set through `POST`/`PATCH /users` or invitations
    /// (`city`, `companyName`, `externalUserState`, …), served under their Graph names.
    #[serde(default, flatten, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}

/// A licence assigned to a Graph user.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AssignedLicense {
    pub sku_id: String,
    #[serde(default)]
    pub disabled_plans: Vec<String>,
    /// When it was last assigned or changed (`licenseAssignmentStates.lastUpdatedDateTime`); the
    /// user's creation time when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_date_time: Option<String>,
}

/// A subscribed SKU (`consumedUnits` is computed from the users' licences when served).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Sku {
    pub sku_id: String,
    pub sku_part_number: String,
    pub applies_to: String,
    pub capability_status: String,
    pub prepaid_units: Value,
    pub service_plans: Vec<Value>,
}

/// An Entra app registration with its service principal and granted application permissions.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AppRegistration {
    pub app_id: String,
    pub display_name: String,
    pub service_principal_id: String,
    /// Granted Graph application permissions (the token's `roles`).
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub secrets: Vec<ClientSecret>,
    /// The application object's id (Graph `application.id`); derived from `appId` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
    /// Certificates registered on the app (Graph `keyCredentials`); public parts only.
    #[serde(default)]
    pub certificates: Vec<AppCertificate>,
    /// Graph `requiredResourceAccess` as set by `POST`/`PATCH /applications` (API permissions asked
    /// for; what is granted is `roles`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_resource_access: Vec<Value>,
    /// When the app was created through Graph; seeded apps show the tenant's creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date_time: Option<String>,
}

/// A certificate registered on an app registration (public certificate only, as Entra keeps it).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AppCertificate {
    pub key_id: String,
    pub display_name: String,
    /// The certificate, DER, standard base64.
    pub der_base64: String,
    /// SHA-1 of the DER, upper-case hex (the portal's "Thumbprint").
    pub thumbprint_sha1: String,
    /// SHA-256 of the DER, lower-case hex.
    pub thumbprint_sha256: String,
    pub start_date_time: String,
    pub end_date_time: String,
}

/// A client secret: only its hash is kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ClientSecret {
    pub key_id: String,
    pub display_name: String,
    /// The first three characters, as Entra shows them.
    pub hint: String,
    /// Lower-case hex SHA-256 of the secret value.
    pub secret_hash: String,
    pub start_date_time: String,
    pub end_date_time: String,
}

/// The token signing key (PKCS#8 PEM). Private to the sandbox; never served.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SigningKey {
    pub kid: String,
    pub private_pem: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// Lower-case hex SHA-256, how the state stores credentials.
pub(crate) fn sha256_hex(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

impl State {
    /// A fresh tenant from the seed.
    pub(crate) fn from_seed(seed: &Seed) -> State {
        let data = seed.data();
        State {
            format: FORMAT,
            clock_offset_secs: 0,
            okta: OktaState {
                org_name: data.okta.org_name.clone(),
                users: data.okta.users.clone(),
                groups: data.okta.groups.clone(),
                api_tokens: Vec::new(),
                events: Vec::new(),
                oauth: Default::default(),
                admin: Default::default(),
                imports: Default::default(),
            },
            microsoft: data.microsoft.clone(),
            signing_key: None,
            mail: Vec::new(),
            hr: crate::hr_source::HrState::seeded(),
        }
    }

    /// Restores the seed's directory data but keeps what connects clients to this tenant: Okta API
    /// tokens, client secrets of apps the seed still has, and the signing key. So `reset` gives back the
    /// demo org without breaking a profile that already holds credentials for it.
    pub(crate) fn reset_to(&mut self, seed: &Seed) {
        let mut fresh = State::from_seed(seed);
        fresh.okta.api_tokens = std::mem::take(&mut self.okta.api_tokens);
        fresh.okta.oauth = std::mem::take(&mut self.okta.oauth);
        fresh.okta.admin = std::mem::take(&mut self.okta.admin);
        let mut credentials: BTreeMap<String, (Vec<ClientSecret>, Vec<AppCertificate>)> = self
            .microsoft
            .apps
            .drain(..)
            .map(|a| (a.app_id, (a.secrets, a.certificates)))
            .collect();
        for app in &mut fresh.microsoft.apps {
            if let Some((mut kept, certificates)) = credentials.remove(&app.app_id) {
                // The seed's own (expired) secrets come back too if they were lost.
                for s in std::mem::take(&mut app.secrets) {
                    if !kept.iter().any(|k| k.key_id == s.key_id) {
                        kept.push(s);
                    }
                }
                app.secrets = kept;
                app.certificates = certificates;
            }
        }
        fresh.signing_key = self.signing_key.take();
        *self = fresh;
    }

    /// Reads a state file.
    pub(crate) fn load(path: &Path) -> Result<State> {
        let bytes = std::fs::read(path).map_err(|source| Error::StateRead {
            path: path.to_owned(),
            source,
        })?;
        let state: State = serde_json::from_slice(&bytes).map_err(|e| Error::StateCorrupt {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        if state.format != FORMAT {
            return Err(Error::StateCorrupt {
                path: path.to_owned(),
                message: format!(
                    "format {} is not the supported format {FORMAT}",
                    state.format
                ),
            });
        }
        Ok(state)
    }

    /// Loads the state file, or creates it from the seed when it does not exist yet.
    pub(crate) fn load_or_create(path: &Path, seed: &Seed) -> Result<State> {
        if path.exists() {
            State::load(path)
        } else {
            let state = State::from_seed(seed);
            state.save(path)?;
            Ok(state)
        }
    }

    /// Writes the state atomically: temp file in the same dir, fsync, rename, fsync the dir.
    pub(crate) fn save(&self, path: &Path) -> Result<()> {
        let bytes =
            serde_json::to_vec_pretty(self).expect("the sandbox state always serializes to JSON");
        write_atomically(path, &bytes).map_err(|source| Error::StateWrite {
            path: path.to_owned(),
            source,
        })
    }
}

/// Replaces `path` with `bytes` so that readers see the old or the new content, never a mix.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("state");
    let tmp: PathBuf = dir.join(format!(
        ".{file_name}.{}.{}.tmp",
        std::process::id(),
        rand::random::<u32>()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable. Directories cannot be opened for syncing on every platform.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_then_load_round_trips_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mut state = State::from_seed(&Seed::demo());
        state.clock_offset_secs = 42;
        state.save(&path).unwrap();
        let back = State::load(&path).unwrap();
        assert_eq!(
            back.clock_offset_secs, 42,
            "the clock offset must survive a save/load"
        );
        assert_eq!(back.okta.users.len(), state.okta.users.len());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            vec![std::ffi::OsString::from("state.json")],
            "temp files must be renamed away"
        );
    }

    #[test]
    fn a_damaged_state_file_gets_an_actionable_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, b"{not json").unwrap();
        let err = State::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("okta365 sandbox reset"),
            "the message should say how to recover: {err}"
        );
    }

    #[test]
    fn reset_keeps_credentials_but_restores_directory_data() {
        let seed = Seed::demo();
        let mut state = State::from_seed(&seed);
        state.okta.api_tokens.push(ApiToken {
            id: "00Tx".into(),
            name: "t".into(),
            token_hash: sha256_hex("x"),
            created: "2024-01-01T00:00:00.000Z".into(),
        });
        state.okta.users.clear();
        state.reset_to(&seed);
        assert_eq!(
            state.okta.users.len(),
            seed.data().okta.users.len(),
            "users come back from the seed"
        );
        assert_eq!(
            state.okta.api_tokens.len(),
            1,
            "minted API tokens survive a reset"
        );
    }
}
