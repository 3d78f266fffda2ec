//! Profile sync below the UI, against a real sandbox tenant on loopback, a real SQLite file and the real
//! OS keychain: linked members whose mapped attributes differ get one PATCH of only those fields,
//! applied through the engine's plan_run/apply_run and journaled; a second plan is empty; an Okta
//! profile change (an emptied attribute clears the property) is the only change of the next plan; a
//! link to a deleted account is skipped with the fix. Run inside a D-Bus session with an unlocked
//! gnome-keyring, as `scripts/test` does.

mod setup_common;

use okta365_engine::{ChangeKind, OperationId, PlanRunRequest, RunStatus, RunTrigger};
use okta365_store::runs::LinkRecord;
use serde_json::{Value, json};
use setup_common::Env;

const MARCUS_OKTA: &str = "00u7TWjsMmGyKyQJlbmW";
const MARCUS_ENTRA: &str = "038f0c5e-76f4-4e48-a9fd-6d25ce7302ae";
const FINN_OKTA: &str = "00u6rgGEAuorNXnTiIQ3";
const FINN_ENTRA: &str = "17728cc8-46bb-4213-a0b3-df56fe56c257";

fn request(env: &Env) -> PlanRunRequest {
    PlanRunRequest {
        profile_id: env.profile.id.clone(),
        operation: OperationId::ProfileSync,
        users: None,
        trigger: RunTrigger::Manual,
    }
}

fn link(env: &Env, okta: &str, entra: &str, upn: &str) {
    env.store()
        .upsert_link(&LinkRecord {
            profile_id: env.profile.id.parse().unwrap(),
            okta_user_id: okta.into(),
            kind: "member".into(),
            entra_id: entra.into(),
            upn: Some(upn.into()),
            mail: None,
            linked_at: jiff::Timestamp::now(),
        })
        .unwrap();
}

/// A Graph user of the sandbox tenant as Graph returns it (read with the demo app's own token).
async fn graph_user(env: &Env, id: &str) -> Value {
    let creds = okta365_sandbox::mint_demo_credentials(&env.sandbox.urls().base)
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let token: Value = http
        .post(env.url(&format!("{}/oauth2/v2.0/token", creds.entra_tenant_id)))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", creds.entra_client_id.as_str()),
            ("client_secret", creds.entra_client_secret.as_str()),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    http.get(env.url(&format!(
        "v1.0/users/{id}?$select=id,mail,mobilePhone,city,jobTitle,usageLocation,displayName"
    )))
    .bearer_auth(token["access_token"].as_str().unwrap())
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap()
}

#[tokio::test]
async fn differing_attributes_are_patched_then_a_second_plan_is_empty() {
    let env = Env::new().await;
    link(
        &env,
        MARCUS_OKTA,
        MARCUS_ENTRA,
        "marcus.thompson@contoso.example",
    );
    link(&env, FINN_OKTA, FINN_ENTRA, "finn.novak@contoso.example");

    let plan = env.engine.plan_run(request(&env)).await.unwrap();
    assert_eq!(
        plan.changes.len(),
        2,
        "only the two linked members are compared: {:#?}",
        plan.changes
    );
    assert!(plan.guard.is_none() && plan.skipped.is_empty());
    let marcus = plan
        .changes
        .iter()
        .find(|c| c.okta_user_id == MARCUS_OKTA)
        .unwrap();
    assert_eq!(marcus.kind, ChangeKind::UpdateUser);
    assert_eq!(marcus.target, "marcus.thompson@contoso.example");
    let fields: Vec<(&str, Option<&str>, Option<&str>)> = marcus
        .fields
        .iter()
        .map(|f| (f.field.as_str(), f.from.as_deref(), f.to.as_deref()))
        .collect();
    assert_eq!(
        fields,
        vec![
            (
                "mail",
                Some("marcus.thompson@contoso.example"),
                Some("marcus.thompson@corp.example")
            ),
            ("mobilePhone", None, Some("+1 206 555 1000")),
            ("city", None, Some("Chicago")),
        ],
        "only the mapped attributes that differ, in mapping order (names, title, department and usage \
         location already match)"
    );

    let summary = env.engine.apply_run(&plan.run_id, None, &()).await.unwrap();
    assert_eq!(summary.status, RunStatus::Succeeded);
    assert_eq!((summary.done, summary.failed), (2, 0));
    let live = graph_user(&env, MARCUS_ENTRA).await;
    assert_eq!(live["mobilePhone"], "+1 206 555 1000");
    assert_eq!(live["city"], "Chicago");
    assert_eq!(live["mail"], "marcus.thompson@corp.example");

    let detail = env.engine.run_detail(&plan.run_id).await.unwrap();
    let step = detail
        .steps
        .iter()
        .find(|s| s.okta_user_id == MARCUS_OKTA)
        .unwrap();
    assert_eq!(step.http_status, Some(204));
    assert_eq!(
        step.request["body"],
        json!({ "mail": "marcus.thompson@corp.example", "mobilePhone": "+1 206 555 1000", "city": "Chicago" }),
        "the PATCH carries only the differing fields"
    );
    assert!(step.request_id.is_some(), "the request id is journaled");

    let again = env.engine.plan_run(request(&env)).await.unwrap();
    assert!(
        again.changes.is_empty(),
        "a second plan finds nothing to change: {:#?}",
        again.changes
    );

    // Okta changes the title and empties the mobile phone: exactly those two fields, the phone cleared.
    env.okta(
        reqwest::Method::POST,
        &format!("api/v1/users/{MARCUS_OKTA}"),
        Some(json!({ "profile": { "title": "Chief Executive", "mobilePhone": "" } })),
    )
    .await;
    let plan = env.engine.plan_run(request(&env)).await.unwrap();
    assert_eq!(plan.changes.len(), 1, "{:#?}", plan.changes);
    let fields: Vec<(&str, Option<&str>)> = plan.changes[0]
        .fields
        .iter()
        .map(|f| (f.field.as_str(), f.to.as_deref()))
        .collect();
    assert_eq!(
        fields,
        vec![("jobTitle", Some("Chief Executive")), ("mobilePhone", None)]
    );
    let summary = env.engine.apply_run(&plan.run_id, None, &()).await.unwrap();
    assert_eq!(summary.status, RunStatus::Succeeded);
    let live = graph_user(&env, MARCUS_ENTRA).await;
    assert_eq!(live["jobTitle"], "Chief Executive");
    assert_eq!(
        live["mobilePhone"],
        Value::Null,
        "an emptied Okta value clears"
    );
    assert!(
        env.engine
            .plan_run(request(&env))
            .await
            .unwrap()
            .changes
            .is_empty()
    );
}

#[tokio::test]
async fn a_link_to_a_deleted_account_is_skipped_with_the_fix_and_unlinked_members_are_left_out() {
    let env = Env::new().await;
    link(
        &env,
        FINN_OKTA,
        "0badc0de-0000-4000-8000-000000000000",
        "finn.novak@contoso.example",
    );
    let plan = env.engine.plan_run(request(&env)).await.unwrap();
    assert!(
        plan.changes.is_empty(),
        "members without a link are member accounts' business: {:#?}",
        plan.changes
    );
    assert_eq!(plan.skipped.len(), 1);
    let warning = plan.skipped[0].warning.as_deref().unwrap();
    assert!(
        warning.contains("no longer exists") && warning.contains("Member accounts"),
        "{warning}"
    );
}
