//! Graph `GET /groups/{id}` of the sandbox (the Entra groups of group-based licensing), over real
//! loopback HTTP: served with `$select` to an app with a group read permission, 403 without one, 404
//! for an unknown id.

mod common;

use common::Env;
use reqwest::Method;
use serde_json::{Value, json};

/// "All Staff Licensing" of the demo seed.
const STAFF_GROUP: &str = "2f6c9a41-7d3e-4b85-9e20-c4a1d8f35b76";

async fn token_with(env: &Env, roles: &[&str]) -> String {
    env.control(
        Method::PUT,
        &format!("/_sandbox/apps/{}/roles", env.creds.entra_client_id),
        Some(json!({ "roles": roles })),
    )
    .await;
    env.graph_token().await
}

async fn get(env: &Env, token: &str, path: &str) -> (u16, Value) {
    let resp = env
        .http
        .get(env.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_group_is_read_with_a_group_permission_and_refused_without() {
    let env = Env::start().await;
    let path = format!("/v1.0/groups/{STAFF_GROUP}?$select=id,displayName");

    // The demo app's own permissions include no group read.
    let plain = env.graph_token().await;
    let (status, body) = get(&env, &plain, &path).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "Authorization_RequestDenied");

    for role in [
        "Group.Read.All",
        "GroupMember.Read.All",
        "Directory.Read.All",
    ] {
        let token = token_with(&env, &[role]).await;
        let (status, body) = get(&env, &token, &path).await;
        assert_eq!(status, 200, "{role}: {body}");
        assert_eq!(body["id"], STAFF_GROUP);
        assert_eq!(body["displayName"], "All Staff Licensing");
        assert!(
            body["@odata.context"]
                .as_str()
                .is_some_and(|c| c.ends_with("$metadata#groups(id,displayName)/$entity")),
            "{body}"
        );
        assert!(
            body.get("securityEnabled").is_none(),
            "only the selected properties: {body}"
        );
    }

    let token = token_with(&env, &["Group.Read.All"]).await;
    let (status, body) = get(&env, &token, &format!("/v1.0/groups/{STAFF_GROUP}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["securityEnabled"], true,
        "every property without $select: {body}"
    );
    let (status, body) = get(
        &env,
        &token,
        "/v1.0/groups/00000000-0000-4000-8000-000000000000?$select=id,displayName",
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "Request_ResourceNotFound");
    let (status, body) = get(
        &env,
        &token,
        &format!("/v1.0/groups/{STAFF_GROUP}?$select=id,owner"),
    )
    .await;
    assert_eq!(status, 400, "an unknown property is refused: {body}");
}
