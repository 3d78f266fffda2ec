//! The one-click test run below the UI, against a real sandbox tenant on loopback, a real SQLite file
//! and the real OS keychain: a throwaway Okta user created in the group, its run (trigger `testRun`)
//! and the Microsoft account read back; the cleanup removes both (the delete journaled as a run); a
//! named user's run touches only that user; a real user is never removed by a cleanup. Run inside a
//! D-Bus session with an unlocked gnome-keyring, as `scripts/test` does.

mod setup_common;

use okta365_engine::{
    ChangeKind, OperationId, RunFilter, RunStatus, RunTrigger, StepStatus, TestRunRequest,
};
use setup_common::Env;

#[tokio::test]
async fn a_throwaway_user_gets_an_account_read_back_then_cleanup_removes_both() {
    let env = Env::new().await;
    let result = env
        .engine
        .test_run(
            TestRunRequest {
                profile_id: env.profile.id.clone(),
                operation: OperationId::MemberAccounts,
                okta_user_id: None,
            },
            &(),
        )
        .await
        .unwrap();
    let created = result.created_test_user.clone().expect("a test user");
    let okta_user = env
        .okta(
            reqwest::Method::GET,
            &format!("api/v1/users/{created}"),
            None,
        )
        .await;
    let login = okta_user["profile"]["login"].as_str().unwrap().to_owned();
    assert!(login.starts_with("okta365-test-1@"), "{login}");
    let group = env.groups_named("Office 365 Assignments").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let members = env
        .okta(
            reqwest::Method::GET,
            &format!("api/v1/groups/{group}/users"),
            None,
        )
        .await;
    assert!(
        members
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == created),
        "the test user is in the assignments group"
    );

    let run = &result.run;
    assert_eq!(run.summary.trigger, RunTrigger::TestRun);
    assert_eq!(run.summary.status, RunStatus::Succeeded, "{run:?}");
    assert_eq!(run.summary.users, 1, "the run is for the test user only");
    assert!(
        run.steps
            .iter()
            .all(|s| s.okta_user_id == created && s.kind == ChangeKind::CreateUser)
    );
    let upn = result.read_back["userPrincipalName"]
        .as_str()
        .expect("the Microsoft user is read back")
        .to_owned();
    assert!(upn.starts_with("okta365-test-1@"), "{upn}");
    let entra = result.read_back["id"].as_str().unwrap().to_owned();

    env.engine
        .cleanup_test_user(&env.profile.id, &created)
        .await
        .unwrap();
    let pid = env.profile.id.parse().unwrap();
    assert!(
        env.store().link(pid, &created, "member").unwrap().is_none(),
        "the link is forgotten"
    );
    let runs = env
        .engine
        .list_runs(&env.profile.id, RunFilter::default())
        .await
        .unwrap();
    let cleanup = runs
        .iter()
        .find(|r| r.run_id != run.summary.run_id)
        .expect("the delete is journaled as a run");
    assert_eq!(cleanup.trigger, RunTrigger::TestRun);
    assert_eq!(cleanup.status, RunStatus::Succeeded);
    let detail = env.engine.run_detail(&cleanup.run_id).await.unwrap();
    assert_eq!(detail.steps.len(), 1);
    assert_eq!(detail.steps[0].kind, ChangeKind::DeleteUser);
    assert_eq!(detail.steps[0].status, StepStatus::Done);
    assert_eq!(detail.steps[0].http_status, Some(204));
    assert!(detail.steps[0].request_id.is_some());

    // Both are gone: the Okta user (deactivated, then deleted) and the Microsoft account.
    let resp = reqwest::Client::new()
        .get(env.url(&format!("api/v1/users/{created}")))
        .header(
            "authorization",
            format!(
                "SSWS {}",
                okta365_sandbox::mint_demo_credentials(&env.sandbox.urls().base)
                    .await
                    .unwrap()
                    .okta_api_token
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404, "the Okta test user is deleted");
    let again = env
        .engine
        .test_run(
            TestRunRequest {
                profile_id: env.profile.id.clone(),
                operation: OperationId::MemberAccounts,
                okta_user_id: None,
            },
            &(),
        )
        .await
        .unwrap();
    assert_eq!(
        again.read_back["userPrincipalName"], upn,
        "the login is free again, and so is the UPN (the account {entra} was deleted)"
    );
}

#[tokio::test]
async fn a_named_users_run_touches_only_them_and_a_real_user_is_never_cleaned_up() {
    let env = Env::new().await;
    let group = env.groups_named("Office 365 Assignments").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let members = env
        .okta(
            reqwest::Method::GET,
            &format!("api/v1/groups/{group}/users"),
            None,
        )
        .await;
    let login = members[0]["profile"]["login"].as_str().unwrap().to_owned();
    let id = members[0]["id"].as_str().unwrap().to_owned();

    let result = env
        .engine
        .test_run(
            TestRunRequest {
                profile_id: env.profile.id.clone(),
                operation: OperationId::MemberAccounts,
                okta_user_id: Some(login.clone()),
            },
            &(),
        )
        .await
        .unwrap();
    assert!(result.created_test_user.is_none());
    assert_eq!(result.run.summary.users, 1);
    assert!(result.run.steps.iter().all(|s| s.okta_user_id == id));
    assert!(result.read_back["id"].is_string(), "{}", result.read_back);

    let err = env
        .engine
        .cleanup_test_user(&env.profile.id, &id)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("not a throwaway test user"),
        "{err}"
    );
    assert!(
        env.store()
            .link(env.profile.id.parse().unwrap(), &id, "member")
            .unwrap()
            .is_some(),
        "nothing was removed"
    );

    let err = env
        .engine
        .test_run(
            TestRunRequest {
                profile_id: env.profile.id.clone(),
                operation: OperationId::ProfileSync,
                okta_user_id: None,
            },
            &(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("name an Okta user"), "{err}");
}
