//! What the provisioning operations keep per profile besides their runs (docs/provisioning.md
//! "Settings"): the settings document, as the JSON text the engine serialized and validated.
//!
//! The engine owns the shape (`ProvisioningSettings`); the store keeps it whole so a new field needs
//! no migration. A profile that never saved settings has no row: the engine's defaults apply.

use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use crate::{Result, Store};

impl Store {
    /// The profile's provisioning settings as saved (JSON text), or `None` when never saved.
    pub fn provisioning_settings(&self, profile_id: Uuid) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT json FROM provisioning_settings WHERE profile_id = ?1",
                [profile_id.to_string()],
                |row| row.get(0),
            )
            .optional()?)
    }

    /// Saves the profile's provisioning settings (JSON text, replacing any saved before). Returns false
    /// (saving nothing) when no such profile exists.
    pub fn set_provisioning_settings(&self, profile_id: Uuid, json: &str) -> Result<bool> {
        let conn = self.conn();
        let exists: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM profiles WHERE id = ?1",
                [profile_id.to_string()],
                |row| row.get(0),
            )
            .optional()?;
        if exists.is_none() {
            return Ok(false);
        }
        conn.execute(
            "INSERT INTO provisioning_settings (profile_id, json) VALUES (?1, ?2)
             ON CONFLICT (profile_id) DO UPDATE SET json = excluded.json",
            params![profile_id.to_string(), json],
        )?;
        Ok(true)
    }
}
