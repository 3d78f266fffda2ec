//! The client with an SSWS API token against the sandbox: users, paging, groups, the System Log,
//! identity-source sessions, and a bad token.

mod common;

use common::Env;
use okta365_okta::{GroupQuery, IdentitySourceId, LogQuery, OktaErrorCode};

#[tokio::test]
async fn me_is_the_token_owner_and_paging_sees_every_user_once() {
    let env = Env::start().await;
    let okta = env.ssws();
    let me = okta.users().me().await.unwrap();
    assert_eq!(me.profile.login, "dmitri.nakamura@corp.example");

    let first = okta.users().list(Some(7)).await.unwrap();
    assert_eq!(first.items().len(), 7);
    assert!(first.next_url().is_some(), "more than one page of users");
    let all = first.collect_all().await.unwrap();
    let mut ids: Vec<_> = all.iter().map(|u| u.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(
        all.len(),
        113,
        "114 seeded users less the deprovisioned one"
    );
    assert_eq!(ids.len(), all.len(), "no user twice");

    let page = okta.users().list(Some(50)).await.unwrap();
    let err = page.collect_all_capped(60).await.unwrap_err();
    assert!(err.to_string().contains("more than 60 items"), "{err}");

    let by_login = okta
        .users()
        .get("dmitri.nakamura@corp.example")
        .await
        .unwrap();
    assert_eq!(by_login.id, me.id);
}

#[tokio::test]
async fn groups_and_members() {
    let env = Env::start().await;
    let okta = env.ssws();
    let groups = okta
        .groups()
        .list(&GroupQuery::new().search(r#"profile.name eq "Office 365 Assignments""#))
        .await
        .unwrap()
        .into_items();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].kind, "OKTA_GROUP");
    let members = okta
        .groups()
        .members(&groups[0].id)
        .await
        .unwrap()
        .collect_all()
        .await
        .unwrap();
    assert!(
        !members.is_empty(),
        "the licence group has members in the demo seed"
    );
    let by_prefix = okta
        .groups()
        .list(&GroupQuery::new().q("O365"))
        .await
        .unwrap();
    assert!(
        by_prefix
            .items()
            .iter()
            .any(|g| g.profile.name == "O365Guest")
    );
}

#[tokio::test]
async fn a_bad_token_is_e0000011_with_the_fix_and_without_the_token() {
    let env = Env::start().await;
    let bogus = "00Bogus_token_value_0123456789abcdefghijkl";
    let err = env
        .ssws_with(bogus)
        .users()
        .list(Some(1))
        .await
        .unwrap_err();
    assert_eq!(
        err.okta_code(),
        Some(&OktaErrorCode::InvalidToken),
        "{err:?}"
    );
    assert_eq!(err.status(), Some(401));
    let msg = err.to_string();
    assert!(
        msg.contains("Security > API > Tokens"),
        "the fix is named: {msg}"
    );
    assert!(
        !msg.contains(bogus),
        "the token never appears in a message: {msg}"
    );
    assert!(!format!("{err:?}").contains(bogus), "nor in Debug");
}

#[tokio::test]
async fn unknown_objects_are_e0000007() {
    let env = Env::start().await;
    let okta = env.ssws();
    let err = okta.users().get("00uDoesNotExist000000").await.unwrap_err();
    assert_eq!(err.okta_code(), Some(&OktaErrorCode::NotFound));
    assert!(err.to_string().contains("did not find"), "{err}");
    let sessions = okta
        .identity_sources()
        .sessions(&IdentitySourceId::new("0oa5hrsrc0sandbox1d7"))
        .await
        .unwrap();
    assert!(sessions.is_empty(), "no import sessions yet");
    let err = okta
        .identity_sources()
        .sessions(&IdentitySourceId::new("0oaNoSuchSource00000"))
        .await
        .unwrap_err();
    assert_eq!(err.okta_code(), Some(&OktaErrorCode::NotFound));
}

#[tokio::test]
async fn log_polling_always_has_a_next_link_and_sees_later_events() {
    let env = Env::start().await;
    let okta = env.ssws();
    let first = okta.logs().list(&LogQuery::new().limit(5)).await.unwrap();
    assert!(first.items().is_empty(), "nothing recorded yet");
    let saved = first
        .next_url()
        .expect("polling always returns next")
        .to_string();

    // Record two events: add then remove a member.
    let group = okta
        .groups()
        .list(&GroupQuery::new().q("Office 365"))
        .await
        .unwrap()
        .into_items()
        .remove(0);
    let user = okta
        .users()
        .list(Some(1))
        .await
        .unwrap()
        .into_items()
        .remove(0);
    let path = format!("/api/v1/groups/{}/users/{}", group.id, user.id);
    for m in [reqwest::Method::PUT, reqwest::Method::DELETE] {
        let r = env
            .http
            .request(m, env.url(&path))
            .header(
                "authorization",
                format!("SSWS {}", env.creds.okta_api_token),
            )
            .header("content-length", "0")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }
    let page = okta.logs().follow(&saved).await.unwrap();
    let types: Vec<_> = page.items().iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        ["group.user_membership.add", "group.user_membership.remove"]
    );
    assert!(
        page.items()[0]
            .target
            .iter()
            .any(|t| t.id == group.id.as_str())
    );
    let after = page.next_page().await.unwrap().expect("next again");
    assert!(after.items().is_empty());
    assert!(
        after.next_url().is_some(),
        "an empty polling page still links on"
    );

    let filtered = okta
        .logs()
        .list(&LogQuery::new().filter(r#"eventType eq "group.user_membership.remove""#))
        .await
        .unwrap();
    assert_eq!(filtered.items().len(), 1);

    let err = okta
        .logs()
        .follow("https://elsewhere.example/api/v1/logs?after=x")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("outside the org"), "{err}");
    let err = okta
        .logs()
        .list(&LogQuery::new().filter(r#"published gt "2024-01-01""#))
        .await
        .unwrap_err();
    assert_eq!(err.okta_code(), Some(&OktaErrorCode::InvalidLogQuery));
}
