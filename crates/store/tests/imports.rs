//! The import tables (migration 7) against a real SQLite file in a temp dir: saved sources and mappings,
//! delta hashes in bulk, schedules and when they are due, and everything going with its profile.

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};
use okta365_store::{ProfileKind, ProfileRecord, Store, imports::ImportScheduleRecord};
use uuid::Uuid;

fn profile(name: &str) -> ProfileRecord {
    let now = Timestamp::now();
    ProfileRecord {
        id: Uuid::new_v4(),
        name: name.to_owned(),
        kind: ProfileKind::Sandbox,
        okta_org_url: "http://127.0.0.1:4000".into(),
        entra_login_url: "http://127.0.0.1:4000".into(),
        graph_url: "http://127.0.0.1:4000".into(),
        ms_tenant: None,
        ms_client_id: None,
        embedded_sandbox: true,
        wizard_step: "imports".into(),
        created_at: now,
        updated_at: now,
        ms_credential_kind: None,
        okta_auth: None,
        okta_client_id: None,
        okta_key_id: None,
        okta_identity_source_id: None,
        operations: vec!["imports".into()],
    }
}

fn store_with_profile() -> (tempfile::TempDir, Store, Uuid) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("okta365.sqlite3")).unwrap();
    let p = profile("Imports");
    store.insert_profile(&p).unwrap();
    (dir, store, p.id)
}

#[test]
fn mappings_are_saved_per_profile_and_source_name() {
    let (_dir, store, id) = store_with_profile();
    assert!(store.import_mapping(id, "hr").unwrap().is_none());
    let source = r#"{"kind":"csv","path":"/tmp/hr.csv","delimiter":null}"#;
    assert!(
        store
            .save_import_mapping(id, "hr", source, r#"{"v":1}"#)
            .unwrap()
    );
    assert!(
        store
            .save_import_mapping(id, "hr", source, r#"{"v":2}"#)
            .unwrap()
    );
    store
        .save_import_mapping(id, "api", r#"{"kind":"http"}"#, "{}")
        .unwrap();
    let hr = store.import_mapping(id, "hr").unwrap().unwrap();
    assert_eq!(
        hr.mapping, r#"{"v":2}"#,
        "the second save replaces the first"
    );
    assert_eq!(hr.source, source);
    let names: Vec<String> = store
        .import_mappings(id)
        .unwrap()
        .into_iter()
        .map(|m| m.source_name)
        .collect();
    assert_eq!(names, ["api", "hr"]);
    assert!(
        !store
            .save_import_mapping(Uuid::new_v4(), "hr", source, "{}")
            .unwrap(),
        "no such profile"
    );
    assert!(
        store
            .save_import_mapping(id, "bad", "not json", "{}")
            .is_err(),
        "the JSON check holds"
    );
    assert!(store.delete_import_mapping(id, "api").unwrap());
    assert!(!store.delete_import_mapping(id, "api").unwrap());
}

#[test]
fn hashes_are_written_in_bulk_and_replaced() {
    let (_dir, store, id) = store_with_profile();
    let rows: Vec<(String, [u8; 32])> = (0..5_000u32)
        .map(|i| {
            let mut h = [0u8; 32];
            h[..4].copy_from_slice(&i.to_be_bytes());
            (format!("E{i}"), h)
        })
        .collect();
    store
        .upsert_import_hashes(id, "hr", "imp-1", &rows)
        .unwrap();
    let all = hashes(&store, id, "hr");
    assert_eq!(all.len(), 5_000);
    assert_eq!(all["E4999"][..4], 4999u32.to_be_bytes());
    // A later import replaces one hash; other sources are apart.
    store
        .upsert_import_hashes(id, "hr", "imp-2", &[("E7".into(), [9u8; 32])])
        .unwrap();
    store
        .upsert_import_hashes(id, "other", "imp-3", &[("E7".into(), [1u8; 32])])
        .unwrap();
    let all = hashes(&store, id, "hr");
    assert_eq!(all.len(), 5_000);
    assert_eq!(all["E7"], [9u8; 32]);
    assert_eq!(hashes(&store, id, "other")["E7"], [1u8; 32]);
    assert_eq!(store.clear_import_hashes(id, "hr").unwrap(), 5_000);
    assert!(hashes(&store, id, "hr").is_empty());
}

/// The source's hashes by externalId, read through `each_import_hash`.
fn hashes(store: &Store, id: Uuid, source: &str) -> HashMap<String, [u8; 32]> {
    let mut out = HashMap::new();
    let n = store
        .each_import_hash(id, source, |external_id, hash| {
            out.insert(external_id.to_owned(), *hash);
        })
        .unwrap();
    assert_eq!(n, out.len(), "one call per row, each externalId once");
    out
}

fn every(id: Uuid, mins: u32) -> ImportScheduleRecord {
    ImportScheduleRecord {
        profile_id: id,
        source_name: "hr".into(),
        every_mins: Some(mins),
        daily_at: None,
        time_zone: "UTC".into(),
        last_run_at: None,
        set_at: Timestamp::now(),
    }
}

#[test]
fn interval_schedules_are_due_when_never_run_or_after_the_interval() {
    let (_dir, store, id) = store_with_profile();
    assert!(
        store
            .set_import_schedule(id, "hr", Some(&every(id, 60)))
            .unwrap()
    );
    let now = Timestamp::now();
    assert_eq!(
        store.due_import_schedules(now).unwrap().len(),
        1,
        "never run"
    );
    store.mark_import_schedule_run(id, "hr", now).unwrap();
    assert!(store.due_import_schedules(now).unwrap().is_empty());
    assert!(
        store
            .due_import_schedules(now + SignedDuration::from_mins(59))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .due_import_schedules(now + SignedDuration::from_mins(60))
            .unwrap()
            .len(),
        1
    );
    let s = store.import_schedule(id, "hr").unwrap().unwrap();
    assert_eq!(s.every_mins, Some(60));
    assert_eq!(s.last_run_at, Some(now));
    // Off.
    store.set_import_schedule(id, "hr", None).unwrap();
    assert!(store.import_schedule(id, "hr").unwrap().is_none());
}

#[test]
fn daily_schedules_follow_their_time_zone() {
    let set_at: Timestamp = "2025-03-10T00:00:00Z".parse().unwrap();
    let s = ImportScheduleRecord {
        profile_id: Uuid::new_v4(),
        source_name: "hr".into(),
        every_mins: None,
        daily_at: Some("02:00".into()),
        time_zone: "Europe/Berlin".into(),
        last_run_at: None,
        set_at,
    };
    // 02:00 in Berlin (CET, UTC+1) is 01:00 UTC.
    let t = |s: &str| s.parse::<Timestamp>().unwrap();
    assert!(!s.is_due(t("2025-03-10T00:59:00Z")));
    assert!(s.is_due(t("2025-03-10T01:00:00Z")));
    assert!(
        s.is_due(t("2025-03-10T13:00:00Z")),
        "later that day, not yet run"
    );
    let ran = ImportScheduleRecord {
        last_run_at: Some(t("2025-03-10T01:00:30Z")),
        ..s.clone()
    };
    assert!(!ran.is_due(t("2025-03-10T23:00:00Z")), "ran today");
    assert!(ran.is_due(t("2025-03-11T01:00:00Z")), "the next day");
    // Set after today's 02:00: the first run is tomorrow's.
    let late = ImportScheduleRecord {
        set_at: t("2025-03-10T05:00:00Z"),
        ..s
    };
    assert!(!late.is_due(t("2025-03-10T06:00:00Z")));
    assert!(late.is_due(t("2025-03-11T01:00:00Z")));
}

#[test]
fn a_schedule_has_exactly_one_kind() {
    let (_dir, store, id) = store_with_profile();
    let both = ImportScheduleRecord {
        daily_at: Some("02:00".into()),
        ..every(id, 60)
    };
    assert!(store.set_import_schedule(id, "hr", Some(&both)).is_err());
    let bad_time = ImportScheduleRecord {
        every_mins: None,
        daily_at: Some("2am".into()),
        ..every(id, 60)
    };
    assert!(
        store
            .set_import_schedule(id, "hr", Some(&bad_time))
            .is_err()
    );
}

#[test]
fn removing_the_profile_removes_its_imports() {
    let (_dir, store, id) = store_with_profile();
    store.save_import_mapping(id, "hr", "{}", "{}").unwrap();
    store
        .upsert_import_hashes(id, "hr", "imp-1", &[("E1".into(), [0u8; 32])])
        .unwrap();
    store
        .set_import_schedule(id, "hr", Some(&every(id, 5)))
        .unwrap();
    store.delete_profile(id).unwrap();
    assert!(store.import_mappings(id).unwrap().is_empty());
    assert!(hashes(&store, id, "hr").is_empty());
    assert!(store.import_schedules().unwrap().is_empty());
}
