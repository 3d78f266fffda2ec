//! The guided setup's tables (journal, groups, licenses, assignments, usage location) against a real
//! SQLite file in a temp dir.

use jiff::Timestamp;
use okta365_store::{
    ProfileKind, ProfileRecord, Store,
    setup::{GroupSettingRecord, LicenseAssignmentRecord, LicenseRecord, StepStatus},
};
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
        wizard_step: "groups".into(),
        created_at: now,
        updated_at: now,
        ms_credential_kind: None,
        okta_auth: None,
        okta_client_id: None,
        okta_key_id: None,
        okta_identity_source_id: None,
        operations: vec!["licenses".into()],
    }
}

fn open() -> (tempfile::TempDir, std::path::PathBuf, Store, ProfileRecord) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("okta365.sqlite3");
    let store = Store::open(&path).unwrap();
    let p = profile("Setup");
    store.insert_profile(&p).unwrap();
    (dir, path, store, p)
}

#[test]
fn journal_rows_go_started_then_done_failed_or_superseded_and_survive_reopen() {
    let (_dir, path, store, p) = open();
    let run = Uuid::new_v4();
    let created = store
        .journal_start(
            p.id,
            run,
            "groups",
            "create_group:assignments",
            "Office 365 Assignments",
            r#"{"name":"Office 365 Assignments"}"#,
        )
        .unwrap();
    let failing = store
        .journal_start(
            p.id,
            run,
            "groups",
            "create_group:guests",
            "O365Guest",
            "{}",
        )
        .unwrap();
    let interrupted = store
        .journal_start(
            p.id,
            run,
            "groups",
            "create_group:guests",
            "O365Guest",
            "{}",
        )
        .unwrap();
    let other_op = store
        .journal_start(p.id, run, "okta_app", "create_app", "okta365", "{}")
        .unwrap();

    let unfinished = store.journal_unfinished(p.id, "groups").unwrap();
    assert_eq!(
        unfinished.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![created, failing, interrupted],
        "every row of the operation is `started` until finished, oldest first; other operations are not listed"
    );
    assert!(
        unfinished
            .iter()
            .all(|r| r.status == StepStatus::Started && r.finished_at.is_none() && r.run_id == run)
    );

    assert!(store.journal_finish(created, r#"{"id":"00g1"}"#).unwrap());
    assert!(
        store
            .journal_fail(failing, "Okta answered 500 (E0000009)")
            .unwrap()
    );
    drop(store);

    let store = Store::open(&path).unwrap();
    let unfinished = store.journal_unfinished(p.id, "groups").unwrap();
    assert_eq!(
        unfinished.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![interrupted],
        "only the interrupted write is still `started` after a reopen"
    );
    assert!(
        store
            .journal_supersede(interrupted, "found on the tenant when re-planned")
            .unwrap()
    );
    assert!(store.journal_unfinished(p.id, "groups").unwrap().is_empty());
    assert!(
        !store.journal_finish(9_999, "{}").unwrap(),
        "finishing a row that does not exist reports false"
    );

    let all = store.journal(p.id, None, 10).unwrap();
    assert_eq!(
        all.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![other_op, interrupted, failing, created],
        "the journal lists newest first"
    );
    let groups = store.journal(p.id, Some("groups"), 10).unwrap();
    assert_eq!(
        groups.len(),
        3,
        "filtering by operation leaves okta_app out"
    );
    let by_id = |id| groups.iter().find(|r| r.id == id).unwrap();
    assert_eq!(by_id(created).status, StepStatus::Done);
    assert_eq!(by_id(created).result.as_deref(), Some(r#"{"id":"00g1"}"#));
    assert_eq!(
        by_id(created).request,
        r#"{"name":"Office 365 Assignments"}"#
    );
    assert_eq!(by_id(created).target, "Office 365 Assignments");
    assert!(by_id(created).finished_at.is_some());
    assert_eq!(by_id(failing).status, StepStatus::Failed);
    assert_eq!(
        by_id(failing).error.as_deref(),
        Some("Okta answered 500 (E0000009)")
    );
    assert_eq!(by_id(interrupted).status, StepStatus::Superseded);
    let note: serde_json::Value =
        serde_json::from_str(by_id(interrupted).result.as_deref().unwrap()).unwrap();
    assert_eq!(note["note"], "found on the tenant when re-planned");
    assert_eq!(
        store.journal(p.id, None, 2).unwrap().len(),
        2,
        "limit holds"
    );
}

#[test]
fn an_unknown_operation_is_refused_by_the_schema() {
    let (_dir, _path, store, p) = open();
    assert!(
        store
            .journal_start(p.id, Uuid::new_v4(), "bogus", "x", "y", "{}")
            .is_err(),
        "operation must be groups, microsoft_app or okta_app"
    );
}

#[test]
fn group_names_keep_their_id_until_renamed() {
    let (_dir, _path, store, p) = open();
    assert!(store.group_settings(p.id).unwrap().is_empty());
    store
        .set_group_names(
            p.id,
            &[
                ("assignments", "Office 365 Assignments"),
                ("guests", "O365Guest"),
            ],
        )
        .unwrap();
    store
        .set_group_found(
            p.id,
            "assignments",
            "Office 365 Assignments",
            Some("00g1"),
            Some(12),
        )
        .unwrap();
    store
        .set_group_found(p.id, "guests", "O365Guest", Some("00g2"), Some(3))
        .unwrap();
    // Same name again keeps the id; a new name forgets it.
    store
        .set_group_names(
            p.id,
            &[
                ("assignments", "Office 365 Assignments"),
                ("guests", "Guests"),
            ],
        )
        .unwrap();
    assert_eq!(
        store.group_settings(p.id).unwrap(),
        vec![
            GroupSettingRecord {
                role: "assignments".into(),
                name: "Office 365 Assignments".into(),
                okta_group_id: Some("00g1".into()),
                member_count: Some(12),
            },
            GroupSettingRecord {
                role: "guests".into(),
                name: "Guests".into(),
                okta_group_id: None,
                member_count: None,
            },
        ],
        "a renamed role names another group, so its old id and count are forgotten"
    );
    assert!(
        store.set_group_names(p.id, &[("admins", "X")]).is_err(),
        "only the roles assignments and guests exist"
    );
}

fn license(sku: &str, part: &str, at: Timestamp) -> LicenseRecord {
    LicenseRecord {
        sku_id: sku.into(),
        sku_part_number: part.into(),
        product_name: Some("Office 365 E3".into()),
        enabled: 25,
        consumed: 20,
        available: 5,
        suspended: 0,
        warning: 0,
        capability_status: "Enabled".into(),
        service_plans: r#"[{"servicePlanId":"p1","servicePlanName":"EXCHANGE_S_ENTERPRISE"}]"#
            .into(),
        refreshed_at: at,
    }
}

#[test]
fn licenses_are_replaced_by_each_refresh_with_their_time() {
    let (_dir, path, store, p) = open();
    let other = profile("Other");
    store.insert_profile(&other).unwrap();
    assert_eq!(store.licenses_refreshed_at(p.id).unwrap(), None);
    let first: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    store
        .replace_licenses(
            p.id,
            &[
                license("sku-a", "ENTERPRISEPACK", first),
                license("sku-b", "FLOW_FREE", first),
            ],
            first,
        )
        .unwrap();
    store
        .replace_licenses(other.id, &[license("sku-z", "SPE_E5", first)], first)
        .unwrap();
    let second: Timestamp = "2026-02-01T00:00:00Z".parse().unwrap();
    store
        .replace_licenses(p.id, &[license("sku-a", "ENTERPRISEPACK", second)], second)
        .unwrap();
    drop(store);

    let store = Store::open(&path).unwrap();
    let rows = store.licenses(p.id).unwrap();
    assert_eq!(
        rows,
        vec![license("sku-a", "ENTERPRISEPACK", second)],
        "a refresh replaces the profile's table: the SKU gone from the tenant is gone here"
    );
    assert_eq!(store.licenses_refreshed_at(p.id).unwrap(), Some(second));
    assert_eq!(
        store.licenses(other.id).unwrap().len(),
        1,
        "another profile's licenses are untouched"
    );
    store.replace_licenses(p.id, &[], second).unwrap();
    assert!(store.licenses(p.id).unwrap().is_empty());
    assert_eq!(
        store.licenses_refreshed_at(p.id).unwrap(),
        Some(second),
        "a tenant with no SKU still records when it was looked at"
    );
}

#[test]
fn assignments_and_usage_location_are_per_profile_and_go_with_it() {
    let (_dir, _path, store, p) = open();
    assert_eq!(store.usage_location(p.id).unwrap(), None);
    store.set_usage_location(p.id, Some("DE")).unwrap();
    let at = Timestamp::now();
    store.replace_licenses(p.id, &[], at).unwrap();
    assert_eq!(
        store.usage_location(p.id).unwrap().as_deref(),
        Some("DE"),
        "a refresh keeps the usage location"
    );
    assert_eq!(
        store.licenses_refreshed_at(p.id).unwrap(),
        Some(at),
        "setting the usage location first does not lose the refresh time"
    );
    store.set_usage_location(p.id, None).unwrap();
    assert_eq!(store.usage_location(p.id).unwrap(), None);

    let assignments = vec![
        LicenseAssignmentRecord {
            role: "assignments".into(),
            sku_id: "sku-a".into(),
            disabled_plans: vec!["YAMMER_ENTERPRISE".into()],
        },
        LicenseAssignmentRecord {
            role: "guests".into(),
            sku_id: "sku-b".into(),
            disabled_plans: vec![],
        },
    ];
    store.set_license_assignments(p.id, &assignments).unwrap();
    assert_eq!(store.license_assignments(p.id).unwrap(), assignments);
    store
        .set_license_assignments(p.id, &assignments[1..])
        .unwrap();
    assert_eq!(
        store.license_assignments(p.id).unwrap(),
        assignments[1..].to_vec(),
        "setting assignments replaces them all"
    );

    store
        .journal_start(p.id, Uuid::new_v4(), "groups", "s", "t", "{}")
        .unwrap();
    assert!(store.delete_profile(p.id).unwrap());
    assert!(store.license_assignments(p.id).unwrap().is_empty());
    assert!(store.journal(p.id, None, 10).unwrap().is_empty());
    assert_eq!(store.usage_location(p.id).unwrap(), None);
}
