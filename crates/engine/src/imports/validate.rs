//! Validation of mapped records before any upload (docs/imports.md "Validation"): the per-record rules
//! of Okta's identity-source profiles, the duplicate-externalId check across an import, the reject
//! threshold and the rejects as CSV.
//!
//! The duplicate check is the one per-record structure an import keeps in memory: a 64-bit hash of each
//! externalId and its first position (16 bytes a record), never the strings.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::mapping::Mapped;

/// A record that is not uploaded, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Reject {
    /// The record's position: its line in a CSV file (the header is line 1), its index in an HTTP
    /// source (from 1).
    #[ts(type = "number")]
    pub position: u64,
    /// The record's externalId, when it has one.
    pub external_id: Option<String>,
    /// What is wrong, as a sentence.
    pub reason: String,
}

impl Reject {
    /// A reject at `position`.
    pub fn new(position: u64, external_id: Option<String>, reason: impl Into<String>) -> Reject {
        Reject {
            position,
            external_id,
            reason: reason.into(),
        }
    }
}

/// Longest externalId Okta accepts.
pub const MAX_EXTERNAL_ID: usize = 512;

/// The longest value of an attribute, in characters.
pub fn max_len(attribute: &str) -> usize {
    match attribute {
        "userName" | "email" | "secondEmail" | "mobilePhone" => 100,
        "firstName" | "lastName" => 50,
        "homeAddress" => 4096,
        _ => 1024,
    }
}

/// Whether `value` looks like `local@domain.tld` with no spaces.
pub fn is_email(value: &str) -> bool {
    if value.chars().any(char::is_whitespace) {
        return false;
    }
    let Some((local, domain)) = value.rsplit_once('@') else {
        return false;
    };
    if local.is_empty() || local.contains('@') {
        return false;
    }
    let Some((host, tld)) = domain.rsplit_once('.') else {
        return false;
    };
    !host.is_empty()
        && !tld.is_empty()
        && !domain.starts_with('.')
        && !domain.contains("..")
        && !domain.starts_with('-')
}

/// Checks one mapped record against Okta's rules (everything but uniqueness): externalId present and
/// ≤ 512 characters, userName present and ≤ 100, email present, well-formed and 5–100 characters,
/// secondEmail well-formed when present, and every attribute within its length.
pub fn check_record(position: u64, mapped: &Mapped) -> Result<(), Reject> {
    let id = mapped.external_id.trim();
    let reject = |reason: String| {
        Err(Reject::new(
            position,
            (!id.is_empty()).then(|| id.to_owned()),
            reason,
        ))
    };
    if id.is_empty() {
        return reject("the externalId is empty".into());
    }
    let id_len = id.chars().count();
    if id_len > MAX_EXTERNAL_ID {
        return reject(format!(
            "the externalId has {id_len} characters; at most {MAX_EXTERNAL_ID} are allowed"
        ));
    }
    let get = |a: &str| mapped.profile.get(a).map(|v| v.trim()).unwrap_or("");
    if get("userName").is_empty() {
        return reject("userName is empty".into());
    }
    let email = get("email");
    if email.is_empty() {
        return reject("email is empty".into());
    }
    if !is_email(email) {
        return reject(format!(
            "email \"{email}\" is not an email address (local@domain.tld, no spaces)"
        ));
    }
    if email.chars().count() < 5 {
        return reject(format!("email \"{email}\" is shorter than 5 characters"));
    }
    let second = get("secondEmail");
    if !second.is_empty() && !is_email(second) {
        return reject(format!(
            "secondEmail \"{second}\" is not an email address (local@domain.tld, no spaces)"
        ));
    }
    for (attribute, value) in &mapped.profile {
        let n = value.chars().count();
        let max = max_len(attribute);
        if n > max {
            return reject(format!(
                "{attribute} has {n} characters; at most {max} are allowed"
            ));
        }
    }
    Ok(())
}

/// The externalIds seen so far in an import, as 64-bit hashes with their first position: 12 bytes
/// an entry (byte arrays, so the pairs are not padded to 16), about 1.7 MB for 100,000 records.
#[derive(Debug, Default)]
pub struct Duplicates {
    seen: HashMap<[u8; 8], [u8; 4], BuildHasherDefault<IdentityHasher>>,
}

impl Duplicates {
    /// An empty set.
    pub fn new() -> Duplicates {
        Duplicates::default()
    }

    /// Records `external_id` at `position`; returns the first position when it was seen before.
    pub fn first_seen(&mut self, external_id: &str, position: u64) -> Option<u64> {
        match self.seen.entry(id_key(external_id.trim())) {
            std::collections::hash_map::Entry::Occupied(e) => {
                Some(u64::from(u32::from_ne_bytes(*e.get())))
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                // Positions past u32::MAX (4 billion rows) are kept as that.
                e.insert(u32::try_from(position).unwrap_or(u32::MAX).to_ne_bytes());
                None
            }
        }
    }

    /// How many distinct externalIds were seen.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// True when none was seen.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

/// A 64-bit hash of an externalId, as bytes (a key of [`Duplicates`] and [`KnownHashes`]).
fn id_key(external_id: &str) -> [u8; 8] {
    BuildHasherDefault::<DefaultHasher>::default()
        .hash_one(external_id)
        .to_ne_bytes()
}

/// The content hashes saved after a source's last completed imports, for a delta import: a 64-bit
/// hash of the externalId to the first 8 bytes of the record's SHA-256, 16 bytes an entry (about
/// 2.2 MB for 100,000 records where full ids and hashes take about 10 MB). A changed record is taken
/// for unchanged only if both its id and its content collide in 64 bits: not a practical risk.
#[derive(Debug, Default)]
pub struct KnownHashes {
    hashes: HashMap<[u8; 8], [u8; 8], BuildHasherDefault<IdentityHasher>>,
}

impl KnownHashes {
    /// Keeps the content hash of the record with this externalId.
    pub fn insert(&mut self, external_id: &str, hash: &[u8; 32]) {
        self.hashes.insert(id_key(external_id), short(hash));
    }

    /// True when the record with this externalId was imported with this content.
    pub fn unchanged(&self, external_id: &str, hash: &[u8; 32]) -> bool {
        self.hashes
            .get(&id_key(external_id))
            .is_some_and(|h| *h == short(hash))
    }

    /// How many records are known.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// True when none is.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }
}

fn short(hash: &[u8; 32]) -> [u8; 8] {
    let mut out = [0; 8];
    out.copy_from_slice(&hash[..8]);
    out
}

/// The keys are hashes already: use them as they are.
#[derive(Debug, Default)]
struct IdentityHasher(u64);

impl std::hash::Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// The per-record rules plus uniqueness across one import: feed every mapped record in order.
#[derive(Debug, Default)]
pub struct Validator {
    duplicates: Duplicates,
}

impl Validator {
    /// A validator for one import.
    pub fn new() -> Validator {
        Validator::default()
    }

    /// Checks a record: [`check_record`], then the externalId's uniqueness (the second and later
    /// records with one are rejected, naming the first position).
    pub fn check(&mut self, position: u64, mapped: &Mapped) -> Result<(), Reject> {
        check_record(position, mapped)?;
        let id = mapped.external_id.trim();
        if let Some(first) = self.duplicates.first_seen(id, position) {
            return Err(Reject::new(
                position,
                Some(id.to_owned()),
                format!("the externalId \"{id}\" was already used at position {first}"),
            ));
        }
        Ok(())
    }

    /// Distinct externalIds accepted so far.
    pub fn distinct(&self) -> usize {
        self.duplicates.len()
    }
}

/// Whether `rejected` of `records` is more than `max_percent` % (the plan then stops with
/// `stopped: "rejects"`). No records: never.
pub fn rejects_exceed(rejected: u64, records: u64, max_percent: f64) -> bool {
    records > 0 && (rejected as f64) * 100.0 > max_percent * records as f64
}

/// The rejects as CSV: `position,externalId,reason` with a header row.
pub fn rejects_csv<'a>(rejects: impl IntoIterator<Item = &'a Reject>) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = w.write_record(["position", "externalId", "reason"]);
    for r in rejects {
        let _ = w.write_record([
            r.position.to_string().as_str(),
            r.external_id.as_deref().unwrap_or(""),
            r.reason.as_str(),
        ]);
    }
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for ok in ["a@b.io", "ann.lee+x@mail.example.com", "o'neil@x.co"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "", "a", "a@b", "@b.io", "a@.io", "a@b.", "a b@c.io", "a@b..io", "a@@b.io",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn thresholds() {
        assert!(!rejects_exceed(1, 100, 1.0));
        assert!(rejects_exceed(2, 100, 1.0));
        assert!(!rejects_exceed(0, 0, 1.0));
        assert!(rejects_exceed(1, 1, 0.0));
    }

    #[test]
    fn known_hashes_tell_unchanged_records_from_changed_and_new_ones() {
        let hash = |n: u8| {
            let mut h = [n; 32];
            h[31] = 0;
            h
        };
        let mut known = KnownHashes::default();
        for n in 0..200u8 {
            known.insert(&format!("E{n}"), &hash(n));
        }
        known.insert("E7", &hash(250));
        assert_eq!(known.len(), 200, "a later hash replaces the earlier one");
        assert!(known.unchanged("E1", &hash(1)));
        assert!(known.unchanged("E7", &hash(250)));
        assert!(!known.unchanged("E7", &hash(7)), "changed");
        assert!(!known.unchanged("E1", &hash(2)), "changed");
        assert!(!known.unchanged("E200", &hash(200)), "new");
        assert!(!known.unchanged("e1", &hash(1)), "ids are compared exactly");
        let mut only_tail = hash(1);
        only_tail[8] ^= 1;
        assert!(
            known.unchanged("E1", &only_tail),
            "only the first 8 bytes of a content hash are kept"
        );
    }
}
