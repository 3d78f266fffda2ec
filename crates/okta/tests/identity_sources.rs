//! Import sessions of a Custom Identity Source against the sandbox, which enforces Okta's rules: one
//! open session at a time, uploads only while CREATED, 1–200 profiles a request, email and userName
//! required, start-import only once, CLOSED by DELETE, COMPLETED or ERROR after processing.

mod common;

use std::time::Duration;

use common::Env;
use okta365_okta::{IdentitySourceId, OktaErrorCode, Session, SessionStatus, UpsertProfile};
use serde_json::json;

const SOURCE: &str = "0oa5hrsrc0sandbox1d7";

fn person(id: &str) -> UpsertProfile {
    let email = format!("{}@hr.example", id.to_lowercase());
    UpsertProfile::new(
        id,
        [
            ("userName", email.as_str()),
            ("email", email.as_str()),
            ("firstName", "Ann"),
            ("lastName", "Lee"),
        ],
    )
}

async fn fast_rules(env: &Env) {
    env.control(
        reqwest::Method::POST,
        "/_sandbox/identity-sources/rules",
        json!({"minGapSecs": 0, "processingSecs": 0, "secsPer1000Users": 0}),
    )
    .await;
}

async fn await_final(env: &Env, id: &str) -> Session {
    let okta = env.ssws();
    let source = IdentitySourceId::new(SOURCE);
    let is = okta.identity_source(&source);
    for _ in 0..100 {
        let s = is.session(id).await.unwrap();
        if s.status.is_final() {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("session {id} never finished");
}

#[tokio::test]
async fn a_session_uploads_starts_and_completes() {
    let env = Env::start().await;
    fast_rules(&env).await;
    let okta = env.ssws();
    let source = IdentitySourceId::new(SOURCE);
    let is = okta.identity_source(&source);
    assert!(is.sessions().await.unwrap().is_empty());

    let s = is.create_session().await.unwrap();
    assert_eq!(s.status, SessionStatus::Created);
    assert_eq!(s.identity_source_id, SOURCE);
    assert!(s.id.starts_with("aps"), "{}", s.id);
    assert!(s.created.is_some());

    // One open session at a time: Okta's 400, kept with its code and causes.
    let err = is.create_session().await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.okta_code(), Some(&OktaErrorCode::parse("E0000001")));

    is.bulk_upsert(&s.id, &[person("E1"), person("E2")])
        .await
        .unwrap();
    is.bulk_delete(&s.id, &["E9".to_owned()]).await.unwrap();
    let no_email = UpsertProfile::new("E3", [("userName", "e3@hr.example")]);
    let err = is.bulk_upsert(&s.id, &[no_email]).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    match &err {
        okta365_okta::Error::Api { causes, .. } => assert!(
            causes.iter().any(|c| c.contains("email")),
            "the cause names the field: {causes:?}"
        ),
        other => panic!("an Okta error, not {other:?}"),
    }

    let listed = is.sessions().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, s.id);

    let started = is.start_import(&s.id).await.unwrap();
    assert_eq!(started.id, s.id);
    assert!(
        matches!(
            started.status,
            SessionStatus::Triggered | SessionStatus::InProgress | SessionStatus::Completed
        ),
        "{:?}",
        started.status
    );
    let err = is.start_import(&s.id).await.unwrap_err();
    assert_eq!(err.status(), Some(400), "start-import only once");

    let done = await_final(&env, &s.id).await;
    assert_eq!(done.status, SessionStatus::Completed);
    let stats = env
        .control(
            reqwest::Method::GET,
            &format!("/_sandbox/identity-sources/{SOURCE}/stats"),
            json!({}),
        )
        .await;
    assert_eq!(stats["usersUpserted"], 2, "{stats}");
    assert_eq!(stats["usersDeleted"], 1, "{stats}");
    // The users exist in the org now.
    let ann = okta.users().get("e1@hr.example").await.unwrap();
    assert_eq!(ann.profile.login, "e1@hr.example");
}

#[tokio::test]
async fn a_created_session_is_closed_by_delete_and_unknown_ones_are_404() {
    let env = Env::start().await;
    fast_rules(&env).await;
    let okta = env.ssws();
    let source = IdentitySourceId::new(SOURCE);
    let is = okta.identity_source(&source);
    let s = is.create_session().await.unwrap();
    is.delete_session(&s.id).await.unwrap();
    assert_eq!(
        is.session(&s.id).await.unwrap().status,
        SessionStatus::Closed
    );
    let err = is.delete_session(&s.id).await.unwrap_err();
    assert_eq!(err.status(), Some(400), "only a CREATED session closes");
    let err = is.bulk_upsert(&s.id, &[person("E1")]).await.unwrap_err();
    assert_eq!(err.status(), Some(400), "no uploads once closed");

    let err = is.session("apsNoSuchSession0000").await.unwrap_err();
    assert_eq!(err.okta_code(), Some(&OktaErrorCode::NotFound));
    let other = IdentitySourceId::new("0oaNoSuchSource00000");
    let err = okta
        .identity_source(&other)
        .create_session()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
}

#[tokio::test]
async fn a_failed_import_ends_in_error() {
    let env = Env::start().await;
    fast_rules(&env).await;
    env.control(
        reqwest::Method::POST,
        "/_sandbox/identity-sources/fail-next",
        json!({}),
    )
    .await;
    let okta = env.ssws();
    let source = IdentitySourceId::new(SOURCE);
    let is = okta.identity_source(&source);
    let s = is.create_session().await.unwrap();
    let many: Vec<UpsertProfile> = (0..200).map(|i| person(&format!("B{i}"))).collect();
    is.bulk_upsert(&s.id, &many).await.unwrap();
    is.start_import(&s.id).await.unwrap();
    let end = await_final(&env, &s.id).await;
    assert_eq!(end.status, SessionStatus::Error);
    assert!(end.status.is_final() && !end.status.is_running());
}
