//! The licensing client against the sandbox over real loopback HTTP: license states (direct and
//! inherited from a group), `id in (…)` lookups in chunks of 15, assignLicense (with disabled plans,
//! Graph's 400 without a usage location), license details, enable/disable and revoking sessions in one
//! `$batch`.

mod common;

use common::Env;
use okta365_graph::licenses::{
    assign_license, revoke_sessions, set_account_enabled, set_usage_location,
};
use okta365_graph::users::update_user;
use okta365_graph::{AssignedLicense, Error, GraphClient, LicensedUser, SubscribedSku};
use reqwest::Method;
use serde_json::json;

/// Every user of the tenant with its license states.
async fn everyone(graph: &GraphClient) -> Vec<LicensedUser> {
    let ids: Vec<String> = graph
        .all_users()
        .await
        .unwrap()
        .into_iter()
        .filter_map(|u| u.id.map(|id| id.as_str().to_owned()))
        .collect();
    graph.users().licensed_in(&ids).await.unwrap()
}

async fn sku(graph: &GraphClient, sku_id: &str) -> SubscribedSku {
    graph
        .subscribed_skus()
        .list()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.sku_id.as_str().eq_ignore_ascii_case(sku_id))
        .expect("the SKU is subscribed")
}

#[tokio::test]
async fn license_states_tell_direct_from_inherited_licenses() {
    let env = Env::start().await;
    let graph = env.graph(env.provider());
    let mut ids: Vec<String> = graph
        .all_users()
        .await
        .unwrap()
        .into_iter()
        .filter_map(|u| u.id.map(|id| id.as_str().to_owned()))
        .collect();
    let known = ids.len();
    assert!(known >= 3, "the demo tenant has users");
    // More than 15 ids: at least two requests; unknown ids are left out of the answer.
    let fake: Vec<String> = (0..(16usize.saturating_sub(known) + 2))
        .map(|_| uuid::Uuid::new_v4().to_string())
        .collect();
    ids.extend(fake);
    assert!(ids.len() > 15);
    let users = graph.users().licensed_in(&ids).await.unwrap();
    assert_eq!(users.len(), known, "every known user once, no unknown one");
    assert!(graph.users().licensed_in(&[]).await.unwrap().is_empty());

    let inherited = users
        .iter()
        .find(|u| u.inherited_licenses().next().is_some())
        .expect("the seed licenses some users through an Entra group");
    let state = inherited.inherited_licenses().next().unwrap();
    assert!(!state.assigned_by_group.as_deref().unwrap().is_empty());
    assert_eq!(state.state.as_deref(), Some("Active"));
    assert!(
        inherited
            .assigned_licenses
            .iter()
            .any(|l| l.sku_id.eq_ignore_ascii_case(&state.sku_id)),
        "assignedLicenses is the union of direct and inherited licenses: {inherited:?}"
    );
    let direct = users
        .iter()
        .find(|u| u.direct_licenses().next().is_some())
        .expect("the seed licenses some users directly");
    assert!(
        direct
            .direct_licenses()
            .all(|s| s.assigned_by_group.is_none())
    );

    // One user by id and by UPN reads the same.
    let one = graph.users().licensed(&inherited.id).await.unwrap();
    assert_eq!(&one, inherited);
    let by_upn = graph
        .users()
        .licensed(&inherited.user_principal_name)
        .await
        .unwrap();
    assert_eq!(by_upn.id, inherited.id);
    assert!(
        one.account_enabled.is_some(),
        "$select brought accountEnabled"
    );

    let e = graph
        .users()
        .licensed("nobody@contoso-sandbox.onmicrosoft.com")
        .await
        .unwrap_err();
    assert_eq!(
        (e.status(), e.graph_code()),
        (Some(404), Some("Request_ResourceNotFound")),
        "{e:?}"
    );
}

#[tokio::test]
async fn assign_with_a_disabled_plan_shows_in_states_details_and_seats_then_remove() {
    let env = Env::start().await;
    let graph = env.graph(env.provider());
    let skus = graph.subscribed_skus().list().await.unwrap();
    let users = everyone(&graph).await;
    // A SKU with a free seat and at least two plans, and a user with a usage location who holds none
    // of it.
    let (sku, user) = skus
        .iter()
        .filter(|s| s.prepaid_units.enabled > s.consumed_units && s.service_plans.len() >= 2)
        .find_map(|s| {
            users
                .iter()
                .find(|u| {
                    u.usage_location.is_some()
                        && !u
                            .license_assignment_states
                            .iter()
                            .any(|l| l.sku_id.eq_ignore_ascii_case(s.sku_id.as_str()))
                })
                .map(|u| (s.clone(), u.clone()))
        })
        .expect("a SKU with free seats and a user without it");
    let sku_id = sku.sku_id.as_str().to_owned();
    let plan = sku.service_plans[0].service_plan_id.clone();

    let answer = graph
        .write(&assign_license(
            &user.id,
            &[AssignedLicense {
                sku_id: sku_id.clone(),
                disabled_plans: vec![plan.clone()],
            }],
            &[],
        ))
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["id"], json!(user.id));
    assert!(answer.body["assignedLicenses"].is_array(), "{answer:?}");
    assert!(answer.request_id.is_some());

    let after = graph.users().licensed(&user.id).await.unwrap();
    let state = after.direct_license(&sku_id).expect("now a direct license");
    assert_eq!(state.disabled_plans, vec![plan.clone()]);
    assert_eq!(
        sku_of(&graph, &sku_id).await,
        sku.consumed_units + 1,
        "one more seat used"
    );

    let details = graph.users().license_details(&user.id).await.unwrap();
    let detail = details
        .iter()
        .find(|d| d.sku_id.eq_ignore_ascii_case(&sku_id))
        .expect("the SKU is in the license details");
    assert_eq!(detail.sku_part_number, sku.sku_part_number);
    let status = |id: &str| {
        detail
            .service_plans
            .iter()
            .find(|p| p.service_plan_id == id)
            .and_then(|p| p.provisioning_status.clone())
    };
    assert_eq!(status(&plan).as_deref(), Some("Disabled"));
    let other = &sku.service_plans[1].service_plan_id;
    assert_ne!(status(other).as_deref(), Some("Disabled"));

    // Removing it (both arrays sent, add empty) frees the seat.
    let answer = graph
        .write(&assign_license(
            &user.id,
            &[],
            std::slice::from_ref(&sku_id),
        ))
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "{answer:?}");
    let after = graph.users().licensed(&user.id).await.unwrap();
    assert!(after.direct_license(&sku_id).is_none());
    assert_eq!(sku_of(&graph, &sku_id).await, sku.consumed_units);

    // Removing it again: Graph says the user has no such license.
    let answer = graph
        .write(&assign_license(
            &user.id,
            &[],
            std::slice::from_ref(&sku_id),
        ))
        .await
        .unwrap();
    let e = answer.error().expect("a 400");
    assert_eq!(
        (e.status(), e.graph_code()),
        (Some(400), Some("Request_BadRequest"))
    );
    assert!(
        e.to_string()
            .contains("User does not have a corresponding license"),
        "{e}"
    );
}

async fn sku_of(graph: &GraphClient, sku_id: &str) -> i64 {
    sku(graph, sku_id).await.consumed_units
}

#[tokio::test]
async fn without_a_usage_location_assign_is_graphs_400_until_one_is_set() {
    let env = Env::start().await;
    let graph = env.graph(env.provider());
    let skus = graph.subscribed_skus().list().await.unwrap();
    let sku = skus
        .iter()
        .find(|s| s.prepaid_units.enabled > s.consumed_units)
        .expect("a SKU with a free seat");
    let sku_id = sku.sku_id.as_str().to_owned();
    let users = everyone(&graph).await;
    let user = users
        .iter()
        .find(|u| {
            !u.license_assignment_states
                .iter()
                .any(|l| l.sku_id.eq_ignore_ascii_case(&sku_id))
        })
        .expect("a user without the SKU");
    let cleared = graph
        .write(&update_user(&user.id, json!({ "usageLocation": null })))
        .await
        .unwrap();
    assert!(cleared.is_success(), "{cleared:?}");
    assert_eq!(
        graph
            .users()
            .licensed(&user.id)
            .await
            .unwrap()
            .usage_location,
        None
    );

    let add = [AssignedLicense {
        sku_id: sku_id.clone(),
        disabled_plans: vec![],
    }];
    let answer = graph
        .write(&assign_license(&user.id, &add, &[]))
        .await
        .unwrap();
    assert_eq!(answer.status, 400);
    let e = answer.error().expect("the 400 reads as a Graph error");
    match &e {
        Error::Graph {
            status,
            code,
            message,
            request_id,
        } => {
            assert_eq!(*status, 400);
            assert_eq!(code, "Request_BadRequest");
            assert_eq!(
                message,
                "License assignment cannot be done for user with invalid usage location."
            );
            assert!(request_id.is_some(), "the request id is kept");
        }
        other => panic!("not a Graph error: {other:?}"),
    }
    assert!(
        graph
            .users()
            .licensed(&user.id)
            .await
            .unwrap()
            .direct_license(&sku_id)
            .is_none(),
        "nothing was assigned"
    );

    let set = graph
        .write(&set_usage_location(&user.id, "GB"))
        .await
        .unwrap();
    assert!(set.is_success(), "{set:?}");
    let answer = graph
        .write(&assign_license(&user.id, &add, &[]))
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "{answer:?}");
    let after = graph.users().licensed(&user.id).await.unwrap();
    assert_eq!(after.usage_location.as_deref(), Some("GB"));
    assert!(after.direct_license(&sku_id).is_some());
}

#[tokio::test]
async fn disable_and_revoke_in_one_batch_then_enable() {
    let env = Env::start().await;
    let graph = env.graph(env.provider());
    let users = everyone(&graph).await;
    let user = users
        .iter()
        .find(|u| u.account_enabled == Some(true))
        .expect("an enabled user");
    let sessions_from = |graph: GraphClient, id: String| async move {
        let page = graph
            .users()
            .list()
            .filter(format!("id eq '{id}'"))
            .select(["id", "signInSessionsValidFromDateTime"])
            .send()
            .await
            .unwrap();
        page.items[0]
            .other
            .get("signInSessionsValidFromDateTime")
            .and_then(|v| v.as_str())
            .map(|s| s.parse::<jiff::Timestamp>().unwrap())
    };
    let before = sessions_from(graph.clone(), user.id.clone()).await;
    // Later on the sandbox clock, so the revocation time is visibly new.
    env.control(
        Method::POST,
        "/_sandbox/clock",
        Some(json!({ "advance_secs": 120 })),
    )
    .await;

    let answers = graph
        .batch(&[
            set_account_enabled(&user.id, false),
            revoke_sessions(&user.id),
        ])
        .await
        .unwrap();
    assert_eq!(answers[0].status, 204, "{answers:?}");
    assert_eq!(answers[1].status, 200, "{answers:?}");
    assert_eq!(answers[1].body["value"], json!(true));
    let after = graph.users().licensed(&user.id).await.unwrap();
    assert_eq!(after.account_enabled, Some(false));
    let revoked = sessions_from(graph.clone(), user.id.clone())
        .await
        .expect("signInSessionsValidFromDateTime is served after a revoke");
    if let Some(before) = before {
        assert!(revoked > before, "{revoked} after {before}");
    }

    let one = graph.write(&revoke_sessions(&user.id)).await.unwrap();
    assert_eq!(
        one.status, 200,
        "revoking alone (no body) works too: {one:?}"
    );
    let answer = graph
        .write(&set_account_enabled(&user.id, true))
        .await
        .unwrap();
    assert_eq!(answer.status, 204);
    assert_eq!(
        graph
            .users()
            .licensed(&user.id)
            .await
            .unwrap()
            .account_enabled,
        Some(true)
    );

    let missing = graph
        .write(&revoke_sessions(&uuid::Uuid::new_v4().to_string()))
        .await
        .unwrap();
    assert_eq!(
        missing.error().and_then(|e| e.status()),
        Some(404),
        "{missing:?}"
    );
}

#[tokio::test]
async fn a_group_is_named_with_a_group_permission_and_refused_without() {
    let env = Env::start().await;
    let staff = "2f6c9a41-7d3e-4b85-9e20-c4a1d8f35b76";
    let e = env
        .graph(env.provider())
        .group_name(staff)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(403), "the demo app reads no group: {e}");
    env.control(
        Method::PUT,
        &format!("/_sandbox/apps/{}/roles", env.creds.entra_client_id),
        Some(json!({ "roles": ["User.ReadWrite.All", "Group.Read.All"] })),
    )
    .await;
    let graph = env.graph(env.provider());
    let group = graph.group_name(staff).await.unwrap();
    assert_eq!(group.id, staff);
    assert_eq!(group.display_name.as_deref(), Some("All Staff Licensing"));
    let e = graph
        .group_name("00000000-0000-4000-8000-000000000000")
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404), "{e}");
}
