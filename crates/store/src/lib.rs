//! The okta365 store: one SQLite file (rusqlite, bundled SQLite) in the data dir.
//!
//! The connection runs in WAL mode with a 5 s `busy_timeout` and foreign keys on, so the desktop app and the
//! CLI can use the same file at once. The schema comes from numbered `.sql` migrations in `migrations/`,
//! embedded at compile time, each applied in its own transaction and tracked by `PRAGMA user_version`.
//!
//! What lives here: profiles (non-secret settings of one Okta org + Microsoft tenant pair), small settings
//! such as the active profile, and metadata about credentials kept in the OS keychain. Secret values never
//! enter this database.
//!
//! Calls are blocking; async callers run them on a blocking thread.

#![warn(missing_docs)]

mod error;
pub mod import_runs;
pub mod imports;
pub mod lifecycle;
pub mod provisioning;
pub mod runs;
pub mod setup;

use std::{
    path::Path,
    sync::{Mutex, MutexGuard},
    time::Duration,
};

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, params};
use uuid::Uuid;

pub use error::{Error, Result};

/// The embedded migrations, in order; migration `n` brings the schema to `user_version = n`.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_connections.sql"),
    include_str!("../migrations/0003_setup.sql"),
    include_str!("../migrations/0004_runs.sql"),
    include_str!("../migrations/0005_provisioning.sql"),
    include_str!("../migrations/0006_lifecycle.sql"),
    include_str!("../migrations/0007_imports.sql"),
    include_str!("../migrations/0008_import_runs.sql"),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Settings key of the active profile id.
const ACTIVE_PROFILE_KEY: &str = "active_profile_id";

/// A handle on the store. Cheap operations; one connection guarded by a mutex.
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
}

/// What kind of Okta org + Microsoft tenant pair a profile points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileKind {
    /// A sandbox tenant (the data dir's own, or one served elsewhere on loopback).
    Sandbox,
    /// A real Okta org and Microsoft tenant.
    Tenant,
}

impl ProfileKind {
    /// The value stored in the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileKind::Sandbox => "sandbox",
            ProfileKind::Tenant => "tenant",
        }
    }

    fn parse(value: &str) -> Result<Self> {
        match value {
            "sandbox" => Ok(ProfileKind::Sandbox),
            "tenant" => Ok(ProfileKind::Tenant),
            other => Err(Error::Corrupt {
                column: "profiles.kind",
                value: other.to_owned(),
            }),
        }
    }
}

/// A profile as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRecord {
    /// Stable id.
    pub id: Uuid,
    /// Display name, unique ignoring case.
    pub name: String,
    /// Sandbox or real tenant.
    pub kind: ProfileKind,
    /// Okta org base URL.
    pub okta_org_url: String,
    /// Entra login (authority host) base URL.
    pub entra_login_url: String,
    /// Microsoft Graph base URL.
    pub graph_url: String,
    /// Microsoft tenant id or domain, once known.
    pub ms_tenant: Option<String>,
    /// Client id of the Entra app registration okta365 uses, once known.
    pub ms_client_id: Option<String>,
    /// True when the profile points at the data dir's own sandbox, whose URLs follow its port.
    pub embedded_sandbox: bool,
    /// The wizard step the profile was left at (validated by the engine).
    pub wizard_step: String,
    /// When the profile was created.
    pub created_at: Timestamp,
    /// When the profile last changed.
    pub updated_at: Timestamp,
    /// The Microsoft credential in use: `secret`, `certificate`, or none.
    pub ms_credential_kind: Option<String>,
    /// The Okta auth method in use: `apiToken`, `serviceApp`, or none.
    pub okta_auth: Option<String>,
    /// Client id of the Okta API service app.
    pub okta_client_id: Option<String>,
    /// Key id (`kid`) of the service app's private key.
    pub okta_key_id: Option<String>,
    /// The Okta identity source used by imports.
    pub okta_identity_source_id: Option<String>,
    /// The enabled operation ids (validated by the engine).
    pub operations: Vec<String>,
}

/// Every operation id but `imports`: what a new profile has enabled.
pub const DEFAULT_OPERATIONS: [&str; 7] = [
    "licenses",
    "memberAccounts",
    "profileSync",
    "guests",
    "deactivation",
    "activation",
    "managerEmail",
];

/// Metadata about one secret a profile keeps in the OS keychain (never the value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialRecord {
    /// The profile owning the secret.
    pub profile_id: Uuid,
    /// What the secret is, e.g. `okta.api_token`.
    pub kind: String,
    /// Human label, e.g. "Okta API token".
    pub label: String,
    /// A hint to recognise the secret that its vendor shows openly: the first 3 characters of a client
    /// secret (Microsoft's `hint`), a certificate thumbprint, a key id. Never more of a secret than that.
    pub hint: Option<String>,
    /// When it was stored.
    pub created_at: Timestamp,
    /// When it was last used.
    pub last_used_at: Option<Timestamp>,
    /// When the vendor expires it, if it does.
    pub expires_at: Option<Timestamp>,
}

impl Store {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    ///
    /// The parent folder must exist.
    pub fn open(path: &Path) -> Result<Store> {
        let conn = Connection::open(path).map_err(|source| Error::Open {
            path: path.to_owned(),
            source,
        })?;
        let configure = |conn: &Connection| -> rusqlite::Result<()> {
            conn.busy_timeout(Duration::from_secs(5))?;
            // journal_mode returns the resulting mode as a row.
            let _mode: String =
                conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
            conn.pragma_update(None, "foreign_keys", true)?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            // A page cache of 1 MiB (SQLite's default is 2 MiB): the queries read a few pages each,
            // and a large import's delta hashes would fill a larger cache that is never read back.
            conn.pragma_update(None, "cache_size", -1024)?;
            Ok(())
        };
        configure(&conn).map_err(|source| Error::Open {
            path: path.to_owned(),
            source,
        })?;
        let store = Store {
            conn: Mutex::new(conn),
        };
        store.migrate()?;
        Ok(store)
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (transactions roll back on
        // drop), so a poisoned lock is still safe to use.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn migrate(&self) -> Result<()> {
        let mut conn = self.conn();
        let current: u32 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        if current > SCHEMA_VERSION {
            return Err(Error::TooNew {
                found: current,
                supported: SCHEMA_VERSION,
            });
        }
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            let version = index as u32 + 1;
            let apply = |conn: &mut Connection| -> rusqlite::Result<()> {
                let tx = conn.transaction()?;
                tx.execute_batch(sql)?;
                tx.pragma_update(None, "user_version", version)?;
                tx.commit()
            };
            apply(&mut conn).map_err(|source| Error::Migration {
                version,
                current: version - 1,
                source,
            })?;
            tracing::info!(version, "applied store migration");
        }
        Ok(())
    }

    /// The schema version of the open file.
    pub fn schema_version(&self) -> Result<u32> {
        Ok(self
            .conn()
            .query_row("PRAGMA user_version", [], |row| row.get(0))?)
    }

    /// The journal mode of the open connection (`"wal"` once opened by [`Store::open`]).
    pub fn journal_mode(&self) -> Result<String> {
        Ok(self
            .conn()
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))?)
    }

    // ---- profiles ----

    /// Inserts a new profile. Fails with [`Error::NameTaken`] when the name is taken (ignoring case).
    pub fn insert_profile(&self, profile: &ProfileRecord) -> Result<()> {
        self.create_profile(profile, &[], false)
    }

    /// Inserts a new profile with the metadata of the secrets it already stored, optionally making it the
    /// active profile, all in one transaction. Fails with [`Error::NameTaken`] when the name is taken
    /// (ignoring case).
    pub fn create_profile(
        &self,
        profile: &ProfileRecord,
        credentials: &[CredentialRecord],
        activate: bool,
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let result = tx.execute(
            "INSERT INTO profiles (id, name, kind, okta_org_url, entra_login_url, graph_url, ms_tenant,
                 ms_client_id, embedded_sandbox, wizard_step, created_at, updated_at, ms_credential_kind,
                 okta_auth, okta_client_id, okta_key_id, okta_identity_source_id, operations)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
            params![
                profile.id.to_string(),
                profile.name,
                profile.kind.as_str(),
                profile.okta_org_url,
                profile.entra_login_url,
                profile.graph_url,
                profile.ms_tenant,
                profile.ms_client_id,
                profile.embedded_sandbox,
                profile.wizard_step,
                profile.created_at.to_string(),
                profile.updated_at.to_string(),
                profile.ms_credential_kind,
                profile.okta_auth,
                profile.okta_client_id,
                profile.okta_key_id,
                profile.okta_identity_source_id,
                operations_json(&profile.operations),
            ],
        );
        match result {
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
            {
                let existing: Option<String> = tx
                    .query_row(
                        "SELECT name FROM profiles WHERE name = ?1",
                        [&profile.name],
                        |r| r.get(0),
                    )
                    .optional()?;
                return Err(Error::NameTaken {
                    name: existing.unwrap_or_else(|| profile.name.clone()),
                });
            }
            Err(e) => return Err(e.into()),
        }
        for credential in credentials {
            upsert_credential(&tx, credential)?;
        }
        if activate {
            set_setting(&tx, ACTIVE_PROFILE_KEY, &profile.id.to_string())?;
        }
        tx.commit()?;
        Ok(())
    }

    /// All profiles, oldest first.
    pub fn list_profiles(&self) -> Result<Vec<ProfileRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("{PROFILE_SELECT} ORDER BY created_at, name"))?;
        let rows = stmt
            .query_map([], raw_profile)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(RawProfile::into_record).collect()
    }

    /// The profile with this id, if any.
    pub fn profile_by_id(&self, id: Uuid) -> Result<Option<ProfileRecord>> {
        let conn = self.conn();
        let raw = conn
            .query_row(
                &format!("{PROFILE_SELECT} WHERE id = ?1"),
                [id.to_string()],
                raw_profile,
            )
            .optional()?;
        raw.map(RawProfile::into_record).transpose()
    }

    /// The profile with this name (ignoring ASCII case), if any.
    pub fn profile_by_name(&self, name: &str) -> Result<Option<ProfileRecord>> {
        let conn = self.conn();
        let raw = conn
            .query_row(
                &format!("{PROFILE_SELECT} WHERE name = ?1"),
                [name],
                raw_profile,
            )
            .optional()?;
        raw.map(RawProfile::into_record).transpose()
    }

    /// Sets a profile's wizard step; returns false when no such profile exists.
    pub fn set_wizard_step(&self, id: Uuid, step: &str) -> Result<bool> {
        let changed = self.conn().execute(
            "UPDATE profiles SET wizard_step = ?2, updated_at = ?3 WHERE id = ?1",
            params![id.to_string(), step, Timestamp::now().to_string()],
        )?;
        Ok(changed > 0)
    }

    /// Saves a profile's connection settings (Okta org URL, Microsoft tenant and client id, credential
    /// kinds, Okta service app, operations) together with the metadata of the secrets just stored and
    /// the removal of the ones no longer used, in one transaction. Returns false (changing nothing) when
    /// no such profile exists.
    pub fn save_connection(
        &self,
        profile: &ProfileRecord,
        upsert: &[CredentialRecord],
        delete_kinds: &[&str],
    ) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let changed = tx.execute(
            "UPDATE profiles SET okta_org_url = ?2, ms_tenant = ?3, ms_client_id = ?4,
                 ms_credential_kind = ?5, okta_auth = ?6, okta_client_id = ?7, okta_key_id = ?8,
                 okta_identity_source_id = ?9, operations = ?10, updated_at = ?11
             WHERE id = ?1",
            params![
                profile.id.to_string(),
                profile.okta_org_url,
                profile.ms_tenant,
                profile.ms_client_id,
                profile.ms_credential_kind,
                profile.okta_auth,
                profile.okta_client_id,
                profile.okta_key_id,
                profile.okta_identity_source_id,
                operations_json(&profile.operations),
                Timestamp::now().to_string(),
            ],
        )?;
        if changed == 0 {
            return Ok(false);
        }
        for credential in upsert {
            upsert_credential(&tx, credential)?;
        }
        for kind in delete_kinds {
            tx.execute(
                "DELETE FROM credentials WHERE profile_id = ?1 AND kind = ?2",
                params![profile.id.to_string(), kind],
            )?;
        }
        tx.commit()?;
        Ok(true)
    }

    /// Points every embedded-sandbox profile whose URLs differ at these URLs; returns how many changed.
    pub fn update_embedded_sandbox_urls(
        &self,
        okta_org_url: &str,
        entra_login_url: &str,
        graph_url: &str,
    ) -> Result<usize> {
        let changed = self.conn().execute(
            "UPDATE profiles SET okta_org_url = ?1, entra_login_url = ?2, graph_url = ?3, updated_at = ?4
             WHERE embedded_sandbox = 1
               AND (okta_org_url <> ?1 OR entra_login_url <> ?2 OR graph_url <> ?3)",
            params![okta_org_url, entra_login_url, graph_url, Timestamp::now().to_string()],
        )?;
        Ok(changed)
    }

    /// Deletes a profile (its credential metadata goes with it) and clears it as the active profile.
    /// Returns false when no such profile exists.
    pub fn delete_profile(&self, id: Uuid) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let changed = tx.execute("DELETE FROM profiles WHERE id = ?1", [id.to_string()])?;
        tx.execute(
            "DELETE FROM settings WHERE key = ?1 AND value = ?2",
            params![ACTIVE_PROFILE_KEY, id.to_string()],
        )?;
        tx.commit()?;
        Ok(changed > 0)
    }

    // ---- settings ----

    /// A setting's value, if set.
    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Sets a setting.
    pub fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        Ok(set_setting(&self.conn(), key, value)?)
    }

    /// Removes a setting.
    pub fn delete_setting(&self, key: &str) -> Result<()> {
        self.conn()
            .execute("DELETE FROM settings WHERE key = ?1", [key])?;
        Ok(())
    }

    /// The active profile's id, if one is set and still exists.
    pub fn active_profile_id(&self) -> Result<Option<Uuid>> {
        let conn = self.conn();
        let id: Option<String> = conn
            .query_row(
                "SELECT s.value FROM settings s JOIN profiles p ON p.id = s.value WHERE s.key = ?1",
                [ACTIVE_PROFILE_KEY],
                |r| r.get(0),
            )
            .optional()?;
        id.map(|id| parse_uuid("settings.value", &id)).transpose()
    }

    /// Makes a profile the active one (or clears it with `None`).
    pub fn set_active_profile_id(&self, id: Option<Uuid>) -> Result<()> {
        match id {
            Some(id) => self.set_setting(ACTIVE_PROFILE_KEY, &id.to_string()),
            None => self.delete_setting(ACTIVE_PROFILE_KEY),
        }
    }

    // ---- credential metadata ----

    /// Records (or replaces) the metadata of a profile's secret of this kind.
    pub fn upsert_credential(&self, credential: &CredentialRecord) -> Result<()> {
        Ok(upsert_credential(&self.conn(), credential)?)
    }

    /// The metadata of every secret a profile keeps in the keychain.
    pub fn credentials(&self, profile_id: Uuid) -> Result<Vec<CredentialRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT profile_id, kind, label, hint, created_at, last_used_at, expires_at
             FROM credentials WHERE profile_id = ?1 ORDER BY kind",
        )?;
        let rows = stmt
            .query_map([profile_id.to_string()], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, Option<String>>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, Option<String>>(5)?,
                    row.get::<_, Option<String>>(6)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(
                |(profile_id, kind, label, hint, created_at, last_used_at, expires_at)| {
                    Ok(CredentialRecord {
                        profile_id: parse_uuid("credentials.profile_id", &profile_id)?,
                        kind,
                        label,
                        hint,
                        created_at: parse_time("credentials.created_at", &created_at)?,
                        last_used_at: last_used_at
                            .map(|t| parse_time("credentials.last_used_at", &t))
                            .transpose()?,
                        expires_at: expires_at
                            .map(|t| parse_time("credentials.expires_at", &t))
                            .transpose()?,
                    })
                },
            )
            .collect()
    }

    /// The metadata of every secret of every profile, by profile then kind.
    pub fn all_credentials(&self) -> Result<Vec<CredentialRecord>> {
        let ids: Vec<Uuid> = self.list_profiles()?.into_iter().map(|p| p.id).collect();
        let mut all = Vec::new();
        for id in ids {
            all.extend(self.credentials(id)?);
        }
        Ok(all)
    }

    /// The metadata of a profile's secret of this kind, if one is recorded.
    pub fn credential(&self, profile_id: Uuid, kind: &str) -> Result<Option<CredentialRecord>> {
        Ok(self
            .credentials(profile_id)?
            .into_iter()
            .find(|c| c.kind == kind))
    }

    /// Records when a credential expires (or that it is unknown); returns false when no such credential
    /// is recorded.
    pub fn set_credential_expiry(
        &self,
        profile_id: Uuid,
        kind: &str,
        expires_at: Option<Timestamp>,
    ) -> Result<bool> {
        let changed = self.conn().execute(
            "UPDATE credentials SET expires_at = ?3 WHERE profile_id = ?1 AND kind = ?2",
            params![
                profile_id.to_string(),
                kind,
                expires_at.map(|t| t.to_string())
            ],
        )?;
        Ok(changed > 0)
    }

    /// Marks a credential as used now.
    pub fn touch_credential(&self, profile_id: Uuid, kind: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE credentials SET last_used_at = ?3 WHERE profile_id = ?1 AND kind = ?2",
            params![profile_id.to_string(), kind, Timestamp::now().to_string()],
        )?;
        Ok(())
    }

    /// Forgets the metadata of a profile's secret of this kind (after the secret left the keychain).
    pub fn delete_credential(&self, profile_id: Uuid, kind: &str) -> Result<()> {
        self.conn().execute(
            "DELETE FROM credentials WHERE profile_id = ?1 AND kind = ?2",
            params![profile_id.to_string(), kind],
        )?;
        Ok(())
    }
}

fn set_setting(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

fn upsert_credential(conn: &Connection, credential: &CredentialRecord) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO credentials (profile_id, kind, label, hint, created_at, last_used_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (profile_id, kind) DO UPDATE SET label = excluded.label, hint = excluded.hint,
             created_at = excluded.created_at, last_used_at = excluded.last_used_at,
             expires_at = excluded.expires_at",
        params![
            credential.profile_id.to_string(),
            credential.kind,
            credential.label,
            credential.hint,
            credential.created_at.to_string(),
            credential.last_used_at.map(|t| t.to_string()),
            credential.expires_at.map(|t| t.to_string()),
        ],
    )?;
    Ok(())
}

const PROFILE_SELECT: &str =
    "SELECT id, name, kind, okta_org_url, entra_login_url, graph_url, ms_tenant, ms_client_id,
    embedded_sandbox, wizard_step, created_at, updated_at, ms_credential_kind, okta_auth, okta_client_id,
    okta_key_id, okta_identity_source_id, operations FROM profiles";

fn operations_json(operations: &[String]) -> String {
    serde_json::to_string(operations).expect("a list of strings serializes")
}

/// A profile row before its typed columns are parsed.
struct RawProfile {
    id: String,
    name: String,
    kind: String,
    okta_org_url: String,
    entra_login_url: String,
    graph_url: String,
    ms_tenant: Option<String>,
    ms_client_id: Option<String>,
    embedded_sandbox: bool,
    wizard_step: String,
    created_at: String,
    updated_at: String,
    ms_credential_kind: Option<String>,
    okta_auth: Option<String>,
    okta_client_id: Option<String>,
    okta_key_id: Option<String>,
    okta_identity_source_id: Option<String>,
    operations: String,
}

fn raw_profile(row: &Row<'_>) -> rusqlite::Result<RawProfile> {
    Ok(RawProfile {
        id: row.get(0)?,
        name: row.get(1)?,
        kind: row.get(2)?,
        okta_org_url: row.get(3)?,
        entra_login_url: row.get(4)?,
        graph_url: row.get(5)?,
        ms_tenant: row.get(6)?,
        ms_client_id: row.get(7)?,
        embedded_sandbox: row.get(8)?,
        wizard_step: row.get(9)?,
        created_at: row.get(10)?,
        updated_at: row.get(11)?,
        ms_credential_kind: row.get(12)?,
        okta_auth: row.get(13)?,
        okta_client_id: row.get(14)?,
        okta_key_id: row.get(15)?,
        okta_identity_source_id: row.get(16)?,
        operations: row.get(17)?,
    })
}

impl RawProfile {
    fn into_record(self) -> Result<ProfileRecord> {
        Ok(ProfileRecord {
            id: parse_uuid("profiles.id", &self.id)?,
            name: self.name,
            kind: ProfileKind::parse(&self.kind)?,
            okta_org_url: self.okta_org_url,
            entra_login_url: self.entra_login_url,
            graph_url: self.graph_url,
            ms_tenant: self.ms_tenant,
            ms_client_id: self.ms_client_id,
            embedded_sandbox: self.embedded_sandbox,
            wizard_step: self.wizard_step,
            created_at: parse_time("profiles.created_at", &self.created_at)?,
            updated_at: parse_time("profiles.updated_at", &self.updated_at)?,
            ms_credential_kind: self.ms_credential_kind,
            okta_auth: self.okta_auth,
            okta_client_id: self.okta_client_id,
            okta_key_id: self.okta_key_id,
            okta_identity_source_id: self.okta_identity_source_id,
            operations: serde_json::from_str(&self.operations).map_err(|_| Error::Corrupt {
                column: "profiles.operations",
                value: self.operations.clone(),
            })?,
        })
    }
}

fn parse_uuid(column: &'static str, value: &str) -> Result<Uuid> {
    Uuid::parse_str(value).map_err(|_| Error::Corrupt {
        column,
        value: value.to_owned(),
    })
}

fn parse_time(column: &'static str, value: &str) -> Result<Timestamp> {
    value.parse().map_err(|_| Error::Corrupt {
        column,
        value: value.to_owned(),
    })
}
