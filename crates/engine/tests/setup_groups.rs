//! The Groups step against a real sandbox tenant on loopback, the real OS keychain and a real SQLite
//! file: plan, apply once, apply again (nothing changes), exact-name matching, an interrupted create
//! (superseded, not repeated) and a failed one (journaled `failed`, clearly explained). Run inside a
//! D-Bus session with an unlocked gnome-keyring, as `scripts/test` does.

mod setup_common;

use std::sync::Mutex;

use okta365_engine::{ErrorCode, GroupAction, GroupRole, GroupSetting, Progress};
use okta365_store::setup::StepStatus;
use serde_json::{Value, json};
use setup_common::Env;
use uuid::Uuid;

#[tokio::test]
async fn the_seeded_default_groups_are_found_and_nothing_is_created() {
    let env = Env::new().await;
    assert_eq!(
        env.profile
            .groups
            .iter()
            .map(|g| (g.role, g.name.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (GroupRole::Assignments, "Office 365 Assignments"),
            (GroupRole::Guests, "O365Guest")
        ],
        "a new profile has the default group names"
    );
    let plan = env.engine.plan_groups(&env.profile.id).await.unwrap();
    let assignments = &plan.items[0];
    assert_eq!(assignments.action, GroupAction::Exists);
    assert_eq!(
        assignments.group_id.as_deref(),
        Some("00gGRqfkJbifL01lbl0b")
    );
    assert_eq!(
        assignments.member_count,
        Some(40),
        "the seed has 40 members"
    );
    assert_eq!(plan.items[1].member_count, Some(3));
    let applied = env.engine.apply_groups(&env.profile.id, &()).await.unwrap();
    assert_eq!(
        applied.items, plan.items,
        "nothing to create, nothing changes"
    );
    assert!(env.journal().is_empty(), "no write, no journal row");
}

#[tokio::test]
async fn new_groups_are_created_once_and_a_second_apply_changes_nothing() {
    let env = Env::new().await;
    let profile = env
        .name_groups(" okta365 Licensed ", "okta365 Guests")
        .await;
    assert_eq!(
        profile.groups[0].name, "okta365 Licensed",
        "names are trimmed"
    );
    assert_eq!(
        env.engine.profile(&env.profile.id).await.unwrap().groups,
        profile.groups,
        "every profile read carries the stored names"
    );

    let plan = env.engine.plan_groups(&env.profile.id).await.unwrap();
    assert!(
        plan.items
            .iter()
            .all(|i| i.action == GroupAction::Create && i.group_id.is_none()),
        "{plan:?}"
    );
    assert!(
        env.groups_named("okta365 Licensed").await.is_empty(),
        "planning writes nothing"
    );

    let seen = Mutex::new(Vec::<Progress>::new());
    let sink = |p: &Progress| seen.lock().unwrap().push(p.clone());
    let applied = env
        .engine
        .apply_groups(&env.profile.id, &sink)
        .await
        .unwrap();
    for (item, name) in applied
        .items
        .iter()
        .zip(["okta365 Licensed", "okta365 Guests"])
    {
        assert_eq!(item.action, GroupAction::Exists);
        assert_eq!(item.member_count, Some(0));
        let on_org = env.groups_named(name).await;
        assert_eq!(on_org.len(), 1, "exactly one {name} on the org");
        assert_eq!(on_org[0]["type"], "OKTA_GROUP");
        assert_eq!(item.group_id.as_deref(), on_org[0]["id"].as_str());
    }
    let steps: Vec<(String, u32, Option<u32>)> = seen
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|p| (p.step, p.done, p.total))
        .collect();
    assert_eq!(
        steps,
        vec![
            ("assignments".into(), 0, Some(2)),
            ("guests".into(), 1, Some(2)),
            ("done".into(), 2, Some(2))
        ]
    );

    let journal = env.journal();
    assert_eq!(journal.len(), 2, "one journal row per write: {journal:?}");
    for (row, item) in journal.iter().zip(&applied.items) {
        assert_eq!(row.status, StepStatus::Done);
        assert_eq!(row.step, format!("create_group:{}", item.role));
        assert_eq!(row.target, item.name);
        let result: Value = serde_json::from_str(row.result.as_deref().unwrap()).unwrap();
        assert_eq!(result["id"].as_str(), item.group_id.as_deref());
        let request: Value = serde_json::from_str(&row.request).unwrap();
        assert_eq!(request["name"], item.name.as_str());
    }
    assert_eq!(journal[0].run_id, journal[1].run_id, "one run");

    let again = env.engine.apply_groups(&env.profile.id, &()).await.unwrap();
    assert_eq!(
        again
            .items
            .iter()
            .map(|i| (i.action, i.group_id.clone()))
            .collect::<Vec<_>>(),
        applied
            .items
            .iter()
            .map(|i| (i.action, i.group_id.clone()))
            .collect::<Vec<_>>(),
        "the second apply finds the same groups"
    );
    assert_eq!(env.journal().len(), 2, "the second apply writes nothing");
    assert_eq!(env.groups_named("okta365 Licensed").await.len(), 1);
}

#[tokio::test]
async fn only_an_exact_name_matches() {
    let env = Env::new().await;
    // "Office 365 Assignments" exists: a name it only starts with is another group.
    env.name_groups("Office 365", "O365Guest").await;
    let plan = env.engine.plan_groups(&env.profile.id).await.unwrap();
    assert_eq!(
        plan.items[0].action,
        GroupAction::Create,
        "\"Office 365\" is not \"Office 365 Assignments\""
    );
    assert_eq!(plan.items[1].action, GroupAction::Exists);

    env.name_groups("office 365 assignments", "O365Guest").await;
    let e = env.engine.plan_groups(&env.profile.id).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    let msg = e.to_string();
    assert!(
        msg.contains("\"Office 365 Assignments\" (00gGRqfkJbifL01lbl0b)")
            && msg.contains("only in case"),
        "a name differing only in case is explained, not created: {msg}"
    );
}

#[tokio::test]
async fn names_are_checked_before_they_are_stored() {
    let env = Env::new().await;
    let set = |role, name: &str| {
        env.engine.set_group_names(
            &env.profile.id,
            vec![GroupSetting {
                role,
                name: name.into(),
            }],
        )
    };
    let e = set(GroupRole::Guests, "  ").await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert!(e.to_string().contains("guests group needs a name"), "{e}");
    let e = set(GroupRole::Guests, "office 365 ASSIGNMENTS")
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("cannot both be"),
        "the two roles need two groups: {e}"
    );
    assert_eq!(
        env.engine.profile(&env.profile.id).await.unwrap().groups[1].name,
        "O365Guest",
        "a refused name is not stored"
    );
}

#[tokio::test]
async fn an_interrupted_create_is_superseded_and_never_repeated() {
    let env = Env::new().await;
    env.name_groups("okta365 Licensed", "okta365 Guests").await;
    // A crash after Okta created the assignments group but before the journal said so, and another
    // before the guests group's request left.
    let created = env.create_group("okta365 Licensed").await;
    let store = env.store();
    let pid: Uuid = env.profile.id.parse().unwrap();
    let old_run = Uuid::new_v4();
    let reached = store
        .journal_start(
            pid,
            old_run,
            "groups",
            "create_group:assignments",
            "okta365 Licensed",
            "{}",
        )
        .unwrap();
    let lost = store
        .journal_start(
            pid,
            old_run,
            "groups",
            "create_group:guests",
            "okta365 Guests",
            "{}",
        )
        .unwrap();

    let applied = env.engine.apply_groups(&env.profile.id, &()).await.unwrap();
    assert_eq!(applied.items[0].group_id.as_deref(), Some(created.as_str()));
    assert_eq!(
        env.groups_named("okta365 Licensed").await.len(),
        1,
        "the group the interrupted write created is found, not created twice"
    );
    assert_eq!(env.groups_named("okta365 Guests").await.len(), 1);

    let journal = env.journal();
    let note = |id: i64| {
        let row = journal.iter().find(|r| r.id == id).unwrap();
        assert_eq!(row.status, StepStatus::Superseded);
        let result: Value = serde_json::from_str(row.result.as_deref().unwrap()).unwrap();
        result["note"].as_str().unwrap().to_owned()
    };
    assert_eq!(note(reached), "found on the tenant when re-planned");
    assert_eq!(note(lost), "not on the tenant; written again");
    let new: Vec<_> = journal.iter().filter(|r| r.run_id != old_run).collect();
    assert_eq!(new.len(), 1, "only the guests group was written: {new:?}");
    assert_eq!(new[0].step, "create_group:guests");
    assert_eq!(new[0].status, StepStatus::Done);
}

#[tokio::test]
async fn a_failed_create_is_journaled_failed_with_a_clear_error() {
    let env = Env::new().await;
    env.name_groups("okta365 Licensed", "O365Guest").await;
    env.control(
        "faults",
        json!({ "status": 500, "count": 1, "path_prefix": "/api/v1/groups", "method": "POST" }),
    )
    .await;
    let e = env
        .engine
        .apply_groups(&env.profile.id, &())
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert_eq!(e.code(), ErrorCode::Internal);
    assert!(
        msg.starts_with("Creating the Okta group \"okta365 Licensed\" failed:")
            && msg.contains("E0000009")
            && msg.contains("internal error")
            && msg.contains("apply again"),
        "the error says what failed, Okta's answer and what to do: {msg}"
    );
    let journal = env.journal();
    assert_eq!(journal.len(), 1, "{journal:?}");
    assert_eq!(journal[0].status, StepStatus::Failed);
    assert!(journal[0].error.as_deref().unwrap().contains("E0000009"));
    assert!(journal[0].finished_at.is_some());

    let applied = env.engine.apply_groups(&env.profile.id, &()).await.unwrap();
    assert_eq!(applied.items[0].action, GroupAction::Exists);
    assert_eq!(env.groups_named("okta365 Licensed").await.len(), 1);
    assert_eq!(
        env.journal().last().unwrap().status,
        StepStatus::Done,
        "the retry is journaled done"
    );
}
