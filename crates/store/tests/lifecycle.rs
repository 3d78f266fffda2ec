//! The licensing lifecycle tables (migration 6) against a real SQLite file in a temp dir: the migration on
//! a new file and on a file at version 5 with runs, settings, snapshots, stages (claim, cancel, due order,
//! idempotent scheduling), seat history and the undo link between runs.

use jiff::{SignedDuration, Timestamp};
use okta365_store::{
    ProfileKind, ProfileRecord, SCHEMA_VERSION, Store,
    lifecycle::{SeatPointRecord, SnapshotRecord, StageRecord},
    runs::{RunRecord, RunStepRecord},
};
use rusqlite::{Connection, params};
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
        operations: vec!["deactivation".into()],
    }
}

fn store_with_profile() -> (tempfile::TempDir, Store, Uuid) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("okta365.sqlite3")).unwrap();
    let p = profile("A");
    store.insert_profile(&p).unwrap();
    (dir, store, p.id)
}

fn run(profile_id: Uuid, trigger: &str, status: &str) -> RunRecord {
    RunRecord {
        id: Uuid::new_v4(),
        profile_id,
        operation: "deactivation".into(),
        trigger: trigger.into(),
        scope: None,
        status: status.into(),
        plan: "{}".into(),
        guard: None,
        created_at: Timestamp::now(),
        started_at: None,
        finished_at: None,
        counts: None,
        undo_of: None,
    }
}

fn stage(profile_id: Uuid, user: &str, due_at: Timestamp, by: Uuid, seq: i64) -> StageRecord {
    StageRecord {
        id: 0,
        profile_id,
        okta_user_id: user.into(),
        user_label: format!("{user}@example.com"),
        entra_id: format!("entra-{user}"),
        kind: "removeLicenses".into(),
        due_at,
        status: "pending".into(),
        scheduled_by_run: by,
        scheduled_by_seq: seq,
        run_id: None,
        created_at: Timestamp::now(),
        started_at: None,
        finished_at: None,
        late_secs: None,
        cancel_reason: None,
    }
}

fn secs(n: i64) -> SignedDuration {
    SignedDuration::from_secs(n)
}

#[test]
fn a_new_file_gets_the_lifecycle_tables() {
    let (_dir, store, profile_id) = store_with_profile();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert!(SCHEMA_VERSION >= 6);
    // The new triggers are accepted and `undo_of` round-trips.
    let first = run(profile_id, "schedule", "succeeded");
    store.insert_run(&first, &[]).unwrap();
    let undo = RunRecord {
        undo_of: Some(first.id),
        ..run(profile_id, "undo", "planned")
    };
    store.insert_run(&undo, &[]).unwrap();
    assert_eq!(store.run(undo.id).unwrap().unwrap().undo_of, Some(first.id));
    assert_eq!(store.run(first.id).unwrap().unwrap().undo_of, None);
    let bad = run(profile_id, "whenever", "planned");
    assert!(
        store.insert_run(&bad, &[]).is_err(),
        "an unknown trigger is still refused by the schema"
    );
}

#[test]
fn migration_6_keeps_the_runs_and_steps_of_a_version_5_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("okta365.sqlite3");
    let profile_id = Uuid::new_v4();
    let run_id = Uuid::new_v4();
    {
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        for sql in [
            include_str!("../migrations/0001_init.sql"),
            include_str!("../migrations/0002_connections.sql"),
            include_str!("../migrations/0003_setup.sql"),
            include_str!("../migrations/0004_runs.sql"),
            include_str!("../migrations/0005_provisioning.sql"),
        ] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 5).unwrap();
        let now = Timestamp::now().to_string();
        conn.execute(
            "INSERT INTO profiles (id, name, kind, okta_org_url, entra_login_url, graph_url, embedded_sandbox,
                 wizard_step, created_at, updated_at, operations)
             VALUES (?1, 'Old', 'sandbox', 'http://o', 'http://l', 'http://g', 1, 'review', ?2, ?2, '[]')",
            params![profile_id.to_string(), now],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO runs (id, profile_id, operation, trigger, scope, status, plan, guard, created_at,
                 started_at, finished_at, counts)
             VALUES (?1, ?2, 'memberAccounts', 'manual', '[\"00u1\"]', 'succeeded', '{\"changes\":[]}', NULL,
                 ?3, ?3, ?3, '{\"done\":2}')",
            params![run_id.to_string(), profile_id.to_string(), now],
        )
        .unwrap();
        for (seq, status) in [(1, "done"), (2, "failed")] {
            conn.execute(
                "INSERT INTO run_steps (run_id, seq, okta_user_id, user_label, kind, target, status,
                     http_status, vendor_code, duration_ms)
                 VALUES (?1, ?2, '00u1', 'ada@example.com', 'createUser', 'ada@x', ?3, 400, 'Request_BadRequest',
                     12)",
                params![run_id.to_string(), seq, status],
            )
            .unwrap();
        }
        conn.execute(
            "INSERT INTO provisioning_settings (profile_id, json) VALUES (?1, '{\"guardMaxUsers\":3}')",
            [profile_id.to_string()],
        )
        .unwrap();
    }

    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let old = store.run(run_id).unwrap().expect("the run survives");
    assert_eq!(old.operation, "memberAccounts");
    assert_eq!(old.status, "succeeded");
    assert_eq!(old.scope.as_deref(), Some("[\"00u1\"]"));
    assert_eq!(old.counts.as_deref(), Some("{\"done\":2}"));
    assert_eq!(old.undo_of, None);
    let steps = store.run_steps(run_id).unwrap();
    assert_eq!(steps.len(), 2, "the steps survive the rebuild of runs");
    assert_eq!(steps[1].status, "failed");
    assert_eq!(steps[1].http_status, Some(400));
    assert_eq!(steps[1].vendor_code.as_deref(), Some("Request_BadRequest"));
    assert_eq!(steps[0].duration_ms, Some(12));
    assert_eq!(
        store.provisioning_settings(profile_id).unwrap().as_deref(),
        Some("{\"guardMaxUsers\":3}")
    );

    // The rebuilt tables keep their constraints: steps still go with their run, runs with their profile.
    let undo = RunRecord {
        undo_of: Some(run_id),
        ..run(profile_id, "undo", "planned")
    };
    store.insert_run(&undo, &[]).unwrap();
    assert!(store.delete_run(run_id).unwrap());
    assert!(store.run_steps(run_id).unwrap().is_empty());
    assert!(store.delete_profile(profile_id).unwrap());
    assert!(store.run(undo.id).unwrap().is_none());
    drop(store);

    // Reopening applies nothing more.
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
}

#[test]
fn lifecycle_settings_per_profile() {
    let (_dir, store, a) = store_with_profile();
    assert_eq!(store.lifecycle_settings(a).unwrap(), None);
    assert!(
        store
            .set_lifecycle_settings(a, r#"{"delaySecs":60}"#)
            .unwrap()
    );
    assert!(
        store
            .set_lifecycle_settings(a, r#"{"delaySecs":90}"#)
            .unwrap()
    );
    assert_eq!(
        store.lifecycle_settings(a).unwrap().as_deref(),
        Some(r#"{"delaySecs":90}"#)
    );
    assert!(
        !store.set_lifecycle_settings(Uuid::new_v4(), "{}").unwrap(),
        "no such profile: nothing saved"
    );
    assert!(
        store.set_lifecycle_settings(a, "not json").is_err(),
        "the schema refuses text that is not JSON"
    );
    assert!(store.delete_profile(a).unwrap());
    assert_eq!(store.lifecycle_settings(a).unwrap(), None);
}

#[test]
fn snapshots_upsert_and_restore() {
    let (_dir, store, p) = store_with_profile();
    assert!(store.snapshot(p, "00u1").unwrap().is_none());
    assert!(
        !store
            .mark_snapshot_restored(p, "00u1", Timestamp::now())
            .unwrap()
    );
    let taken = Timestamp::now();
    let run_id = Uuid::new_v4();
    let snap = SnapshotRecord {
        profile_id: p,
        okta_user_id: "00u1".into(),
        entra_id: "e1".into(),
        licenses: r#"[{"skuId":"s1","skuPartNumber":"ENTERPRISEPACK","disabledPlans":["p1"]}]"#
            .into(),
        taken_at: taken,
        run_id: Some(run_id),
        restored_at: None,
    };
    store.upsert_snapshot(&snap).unwrap();
    assert_eq!(store.snapshot(p, "00u1").unwrap().as_ref(), Some(&snap));

    let restored = taken + secs(3600);
    assert!(store.mark_snapshot_restored(p, "00u1", restored).unwrap());
    assert_eq!(
        store.snapshot(p, "00u1").unwrap().unwrap().restored_at,
        Some(restored)
    );

    // A newer snapshot replaces the old one, restore mark included.
    let newer = SnapshotRecord {
        licenses: "[]".into(),
        taken_at: restored + secs(60),
        run_id: None,
        restored_at: None,
        ..snap.clone()
    };
    store.upsert_snapshot(&newer).unwrap();
    assert_eq!(store.snapshot(p, "00u1").unwrap(), Some(newer));
    assert!(store.snapshot(p, "00u2").unwrap().is_none());
}

#[test]
fn stages_are_scheduled_once_per_step() {
    let (_dir, store, p) = store_with_profile();
    let by = Uuid::new_v4();
    let due = Timestamp::now() + secs(30 * 86_400);
    let first = store.insert_stage(&stage(p, "00u1", due, by, 5)).unwrap();
    let again = store
        .insert_stage(&StageRecord {
            due_at: due + secs(99),
            user_label: "other".into(),
            ..stage(p, "00u1", due, by, 5)
        })
        .unwrap();
    assert_eq!(first, again, "the same step schedules the same stage");
    let all = store.stages(p, &[]).unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].due_at, due, "the second insert changed nothing");
    assert_eq!(all[0].user_label, "00u1@example.com");
    assert_eq!(all[0].scheduled_by_run, by);
    assert_eq!(all[0].scheduled_by_seq, 5);

    let other = store.insert_stage(&stage(p, "00u1", due, by, 6)).unwrap();
    assert_ne!(other, first, "another step schedules another stage");
    assert_eq!(store.stage(first).unwrap().unwrap().id, first);
    assert!(store.stage(other + 100).unwrap().is_none());
}

#[test]
fn due_stages_are_the_pending_ones_due_by_now_earliest_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("okta365.sqlite3")).unwrap();
    let a = profile("A");
    let b = profile("B");
    store.insert_profile(&a).unwrap();
    store.insert_profile(&b).unwrap();
    let by = Uuid::new_v4();
    // Whole seconds and fractions mixed on purpose: ordering must not depend on how the text is written.
    let now: Timestamp = "2026-11-23T12:00:00Z".parse().unwrap();
    let late: Timestamp = "2026-11-23T11:00:00.5Z".parse().unwrap();
    let later: Timestamp = "2026-11-23T11:00:00Z".parse().unwrap();
    let id_late = store.insert_stage(&stage(a.id, "u1", late, by, 1)).unwrap();
    let id_earliest = store
        .insert_stage(&stage(a.id, "u2", later, by, 2))
        .unwrap();
    let id_exact = store.insert_stage(&stage(b.id, "u3", now, by, 3)).unwrap();
    let id_future = store
        .insert_stage(&stage(a.id, "u4", now + secs(1), by, 4))
        .unwrap();
    let id_cancelled = store
        .insert_stage(&stage(a.id, "u5", later - secs(60), by, 5))
        .unwrap();
    assert!(store.cancel_stage(id_cancelled, "test", now).unwrap());

    let due_a: Vec<i64> = store
        .due_stages(Some(a.id), now)
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(due_a, vec![id_earliest, id_late]);
    let due_all: Vec<i64> = store
        .due_stages(None, now)
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(
        due_all,
        vec![id_earliest, id_late, id_exact],
        "due at exactly now is due"
    );
    assert!(
        store
            .due_stages(None, now + secs(1))
            .unwrap()
            .iter()
            .any(|s| s.id == id_future)
    );

    let pending: Vec<i64> = store
        .stages(a.id, &["pending"])
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(pending, vec![id_earliest, id_late, id_future]);
    let finished = store.stages(a.id, &["cancelled", "done"]).unwrap();
    assert_eq!(finished.len(), 1);
    assert_eq!(finished[0].cancel_reason.as_deref(), Some("test"));
    assert_eq!(store.stages(a.id, &[]).unwrap().len(), 4);
}

#[test]
fn claim_finish_and_cancel_take_a_stage_once() {
    let (_dir, store, p) = store_with_profile();
    let by = Uuid::new_v4();
    let now = Timestamp::now();
    let id = store.insert_stage(&stage(p, "00u1", now, by, 1)).unwrap();
    assert_eq!(
        store.pending_stage_for(p, "00u1").unwrap().map(|s| s.id),
        Some(id)
    );
    assert!(store.pending_stage_for(p, "00u9").unwrap().is_none());

    let stage_run = Uuid::new_v4();
    let started = now + secs(120);
    assert!(
        store
            .claim_stage(id, stage_run, started, Some(120))
            .unwrap()
    );
    assert!(
        !store
            .claim_stage(id, Uuid::new_v4(), started, None)
            .unwrap(),
        "a running stage cannot be claimed again"
    );
    assert!(
        !store.cancel_stage(id, "too late", started).unwrap(),
        "a running stage cannot be cancelled"
    );
    let running = store.stage(id).unwrap().unwrap();
    assert_eq!(running.status, "running");
    assert_eq!(
        running.run_id,
        Some(stage_run),
        "the first claim's run stays"
    );
    assert_eq!(running.started_at, Some(started));
    assert_eq!(running.late_secs, Some(120));
    assert!(store.pending_stage_for(p, "00u1").unwrap().is_none());
    assert!(store.due_stages(Some(p), started).unwrap().is_empty());

    let finished = started + secs(5);
    assert!(store.finish_stage(id, "done", finished).unwrap());
    let done = store.stage(id).unwrap().unwrap();
    assert_eq!(done.status, "done");
    assert_eq!(done.finished_at, Some(finished));
    assert!(!store.finish_stage(id + 1000, "done", finished).unwrap());

    // Cancel wins over a later claim, and only once.
    let other = store.insert_stage(&stage(p, "00u2", now, by, 2)).unwrap();
    assert!(
        store
            .cancel_stage(other, "back in the assignments group", now)
            .unwrap()
    );
    assert!(!store.cancel_stage(other, "again", now).unwrap());
    assert!(!store.claim_stage(other, stage_run, now, None).unwrap());
    let cancelled = store.stage(other).unwrap().unwrap();
    assert_eq!(cancelled.status, "cancelled");
    assert_eq!(
        cancelled.cancel_reason.as_deref(),
        Some("back in the assignments group")
    );
    assert_eq!(cancelled.finished_at, Some(now));
    assert_eq!(cancelled.run_id, None);
}

#[test]
fn concurrent_claims_from_two_connections_let_one_win() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("okta365.sqlite3");
    let store = Store::open(&path).unwrap();
    let p = profile("A");
    store.insert_profile(&p).unwrap();
    let id = store
        .insert_stage(&stage(p.id, "00u1", Timestamp::now(), Uuid::new_v4(), 1))
        .unwrap();
    // The app and the CLI each open the file: two connections, two threads.
    let wins: Vec<bool> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let path = path.clone();
                scope.spawn(move || {
                    let store = Store::open(&path).unwrap();
                    store
                        .claim_stage(id, Uuid::new_v4(), Timestamp::now(), None)
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(wins.iter().filter(|w| **w).count(), 1, "{wins:?}");
}

#[test]
fn seat_history_by_range() {
    let (_dir, store, p) = store_with_profile();
    let t0: Timestamp = "2026-11-01T00:00:00Z".parse().unwrap();
    let point = |sku: &str, consumed: i64, at: Timestamp| SeatPointRecord {
        profile_id: p,
        sku_id: format!("id-{sku}"),
        sku_part_number: sku.into(),
        consumed,
        enabled: 25,
        taken_at: at,
        run_id: Some(Uuid::new_v4()),
    };
    // Inserted out of order: read back by time.
    let points = vec![
        point("E3", 10, t0 + secs(86_400 * 2)),
        point("E3", 8, t0),
        point("E5", 1, t0 + secs(86_400)),
        point(
            "E3",
            9,
            t0 + secs(86_400) + SignedDuration::from_millis(250),
        ),
    ];
    store.insert_seat_points(&points).unwrap();
    let all = store.seat_history(p, None).unwrap();
    assert_eq!(
        all.iter().map(|p| p.consumed).collect::<Vec<_>>(),
        vec![8, 1, 9, 10]
    );
    assert_eq!(all[0], points[1]);
    let recent = store.seat_history(p, Some(t0 + secs(86_400))).unwrap();
    assert_eq!(
        recent.iter().map(|p| p.consumed).collect::<Vec<_>>(),
        vec![1, 9, 10],
        "from `since` on, inclusive"
    );
    assert!(
        store
            .seat_history(p, Some(t0 + secs(86_400 * 3)))
            .unwrap()
            .is_empty()
    );
    assert!(store.seat_history(Uuid::new_v4(), None).unwrap().is_empty());
}

#[test]
fn an_undo_run_is_found_unless_discarded() {
    let (_dir, store, p) = store_with_profile();
    let original = run(p, "manual", "succeeded");
    store
        .insert_run(
            &original,
            &[RunStepRecord {
                seq: 1,
                okta_user_id: "00u1".into(),
                user_label: "ada".into(),
                kind: "disableUser".into(),
                target: "ada@x".into(),
                status: "done".into(),
                ..Default::default()
            }],
        )
        .unwrap();
    assert!(store.undo_of_run(original.id).unwrap().is_none());

    let undo = run(p, "undo", "planned");
    store.insert_run(&undo, &[]).unwrap();
    assert!(
        store.undo_of_run(original.id).unwrap().is_none(),
        "not linked yet"
    );
    assert!(store.set_run_undo_of(undo.id, Some(original.id)).unwrap());
    assert!(
        !store
            .set_run_undo_of(Uuid::new_v4(), Some(original.id))
            .unwrap()
    );
    let found = store.undo_of_run(original.id).unwrap().expect("linked");
    assert_eq!(found.id, undo.id);
    assert_eq!(found.undo_of, Some(original.id));
    assert!(store.undo_of_run(undo.id).unwrap().is_none());

    assert!(store.set_run_status(undo.id, "discarded").unwrap());
    assert!(
        store.undo_of_run(original.id).unwrap().is_none(),
        "a discarded undo does not count"
    );
    assert!(store.set_run_undo_of(undo.id, None).unwrap());
    assert_eq!(store.run(undo.id).unwrap().unwrap().undo_of, None);
}
