//! The provisioning additions of the sandbox checked against the vendors' contracts in `shared/specs/`:
//! Okta user writes, group membership and System Log events against Okta's OpenAPI description; Graph
//! users written through `POST`/`PATCH /users` and invitations, domains and invitations against
//! Graph's CSDL metadata, and the licensing and mail additions (licenseDetails, licenseAssignmentState,
//! message).

mod common;

use common::Env;
use common::csdl::Csdl;
use common::openapi::OpenApi;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn okta_user_writes_membership_and_logs_match_the_openapi_description() {
    let api = OpenApi::load("okta-management.yaml");
    let env = Env::start().await;
    let mut checked = Vec::new();
    let profile = json!({"firstName": "Spec", "lastName": "Check", "email": "spec.check@corp.example", "login": "spec.check@corp.example"});
    let created = env
        .okta(Method::POST, "/api/v1/users?activate=true")
        .json(
            &json!({ "profile": profile, "credentials": {"password": {"value": "Sp3c!Check#42"}} }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    let user: Value = created.json().await.unwrap();
    let uid = user["id"].as_str().unwrap().to_owned();
    // A staged user (no password, not activated) as `POST /users` answers it.
    let again = env
        .okta(Method::POST, "/api/v1/users?activate=false")
        .json(&json!({ "profile": {"firstName": "S", "lastName": "C", "email": "s.c@corp.example", "login": "s.c@corp.example"} }))
        .send()
        .await
        .unwrap();
    api.check("/api/v1/users", "post", again, &mut checked)
        .await;
    let invalid = env
        .okta(Method::POST, "/api/v1/users")
        .json(&json!({ "profile": profile }))
        .send()
        .await
        .unwrap();
    api.check("/api/v1/users", "post", invalid, &mut checked)
        .await;
    let updated = env
        .okta(Method::POST, &format!("/api/v1/users/{uid}"))
        .json(&json!({"profile": {"title": "Checker"}}))
        .send()
        .await
        .unwrap();
    api.check("/api/v1/users/{id}", "post", updated, &mut checked)
        .await;
    let missing = env
        .okta(Method::POST, "/api/v1/users/00uMissing0000000000")
        .json(&json!({"profile": {"title": "x"}}))
        .send()
        .await
        .unwrap();
    api.check("/api/v1/users/{id}", "post", missing, &mut checked)
        .await;
    let groups: Vec<Value> = env
        .okta(Method::GET, "/api/v1/groups?q=Office%20365%20Assignments")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let gid = groups[0]["id"].as_str().unwrap();
    let member = format!("/api/v1/groups/{gid}/users/{uid}");
    let put = env
        .okta(Method::PUT, &member)
        .header("content-length", "0")
        .send()
        .await
        .unwrap();
    api.check(
        "/api/v1/groups/{groupId}/users/{userId}",
        "put",
        put,
        &mut checked,
    )
    .await;
    let removed = env.okta(Method::DELETE, &member).send().await.unwrap();
    api.check(
        "/api/v1/groups/{groupId}/users/{userId}",
        "delete",
        removed,
        &mut checked,
    )
    .await;
    for _ in 0..2 {
        let deleted = env
            .okta(Method::DELETE, &format!("/api/v1/users/{uid}"))
            .send()
            .await
            .unwrap();
        api.check("/api/v1/users/{id}", "delete", deleted, &mut checked)
            .await;
    }
    let gone = env
        .okta(Method::DELETE, &format!("/api/v1/users/{uid}"))
        .send()
        .await
        .unwrap();
    api.check("/api/v1/users/{id}", "delete", gone, &mut checked)
        .await;
    // Every event these writes recorded, as the System Log serves them.
    let logs = env
        .okta(Method::GET, "/api/v1/logs")
        .query(&[("sortOrder", "ASCENDING")])
        .send()
        .await
        .unwrap();
    api.check("/api/v1/logs", "get", logs, &mut checked).await;
    let bad = env
        .okta(Method::GET, "/api/v1/logs")
        .query(&[("filter", "eventType eq")])
        .send()
        .await
        .unwrap();
    api.check("/api/v1/logs", "get", bad, &mut checked).await;
    let events = env.control(Method::GET, "/_sandbox/events", None).await;
    let types: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    for t in [
        "user.lifecycle.create",
        "user.account.update_profile",
        "group.user_membership.add",
        "group.user_membership.remove",
        "user.lifecycle.deactivate",
        "user.lifecycle.delete.initiated",
    ] {
        assert!(types.contains(&t), "{t} was logged and checked: {types:?}");
    }
    assert_eq!(checked.len(), 11, "{checked:#?}");
}

#[tokio::test]
async fn graph_user_writes_domains_and_invitations_use_the_metadata_properties_and_types() {
    let csdl = Csdl::load();
    let env = Env::start().await;
    env.control(
        Method::PUT,
        &format!("/_sandbox/apps/{}/roles", env.creds.entra_client_id),
        Some(json!({"roles": ["User.ReadWrite.All", "User.Invite.All", "Domain.Read.All"]})),
    )
    .await;
    let token = env.graph_token().await;
    let send = |method: Method, path: &str, body: Option<Value>| {
        let mut req = env.http.request(method, env.url(path)).bearer_auth(&token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move {
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            (
                status,
                serde_json::from_str::<Value>(&text).unwrap_or(Value::Null),
            )
        }
    };
    let mut errors = Vec::new();
    let (status, created) = send(
        Method::POST,
        "/v1.0/users",
        Some(json!({
            "accountEnabled": true, "displayName": "Meta Data", "mailNickname": "meta.data",
            "userPrincipalName": "meta.data@fabrikam.example",
            "passwordProfile": {"password": "M3ta!Data#2026", "forceChangePasswordNextSignIn": false},
            "givenName": "Meta", "surname": "Data", "mail": "meta.data@fabrikam.example",
            "jobTitle": "Checker", "department": "QA", "mobilePhone": "+47 5555", "officeLocation": "B2",
            "city": "Oslo", "state": "Oslo", "country": "Norway", "postalCode": "0150",
            "streetAddress": "Karl Johans gate 1", "companyName": "Fabrikam", "employeeId": "E42",
            "usageLocation": "NO", "otherMails": ["m@d.example"], "showInAddressList": true,
        })),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    csdl.check("user", &created, "created", &mut errors);
    let id = created["id"].as_str().unwrap();
    let (status, _) = send(
        Method::PATCH,
        &format!("/v1.0/users/{id}"),
        Some(json!({"employeeType": "Contractor", "faxNumber": "+47 1"})),
    )
    .await;
    assert_eq!(status, 204);
    let (status, inv) = send(
        Method::POST,
        "/v1.0/invitations",
        Some(json!({"invitedUserEmailAddress": "meta.guest@partner.example", "inviteRedirectUrl": "https://myapps.microsoft.com", "sendInvitationMessage": true, "invitedUserMessageInfo": {"customizedMessageBody": "Welcome"}})),
    )
    .await;
    assert_eq!(status, 201, "{inv}");
    // `invitedUser` is a navigation property Graph returns expanded; the rest are properties.
    let mut inv_props = inv.clone();
    inv_props.as_object_mut().unwrap().remove("invitedUser");
    csdl.check("invitation", &inv_props, "invitation", &mut errors);
    assert!(inv["invitedUser"]["id"].is_string());
    let guest_id = inv["invitedUser"]["id"].as_str().unwrap();
    let every = "id,userPrincipalName,displayName,givenName,surname,mail,mailNickname,jobTitle,department,accountEnabled,usageLocation,userType,businessPhones,mobilePhone,officeLocation,preferredLanguage,createdDateTime,assignedLicenses,deletedDateTime,city,country,state,streetAddress,postalCode,companyName,employeeId,employeeType,faxNumber,otherMails,proxyAddresses,imAddresses,onPremisesImmutableId,onPremisesSyncEnabled,externalUserState,creationType,ageGroup,showInAddressList,passwordPolicies,assignedPlans,identities";
    for who in [id, guest_id] {
        let (status, user) = send(
            Method::GET,
            &format!("/v1.0/users/{who}?$select={every}"),
            None,
        )
        .await;
        assert_eq!(status, 200);
        csdl.check("user", &user, "user", &mut errors);
        // Full rendering, unprojected: every stored property too.
        let (_, all) = send(Method::GET, &format!("/v1.0/users/{who}"), None).await;
        csdl.check("user", &all, "user", &mut errors);
    }
    let (_, domains) = send(Method::GET, "/v1.0/domains", None).await;
    let list = domains["value"].as_array().unwrap();
    assert_eq!(list.len(), 3, "{domains}");
    for d in list {
        csdl.check("domain", d, "domain", &mut errors);
    }
    let (status, batch) = send(
        Method::POST,
        "/v1.0/$batch",
        Some(json!({"requests": [
            {"id": "1", "method": "GET", "url": format!("/users/{id}?$select={every}")},
            {"id": "2", "method": "GET", "url": "/domains/fabrikam.example"},
        ]})),
    )
    .await;
    assert_eq!(status, 200);
    for r in batch["responses"].as_array().unwrap() {
        let t = if r["id"] == "1" { "user" } else { "domain" };
        assert_eq!(r["status"], 200, "{r}");
        csdl.check(t, &r["body"], "batch", &mut errors);
    }
    assert!(
        errors.is_empty(),
        "the sandbox drifted from Graph's metadata:\n{}",
        errors.join("\n")
    );
    // The checker catches a made-up domain or invitation property.
    let mut e = Vec::new();
    csdl.check("domain", &json!({"isFederated": true}), "domain", &mut e);
    csdl.check("invitation", &json!({"status": 1}), "invitation", &mut e);
    assert_eq!(e.len(), 2, "{e:?}");
}

#[tokio::test]
async fn license_details_license_states_and_sent_messages_use_the_metadata_properties_and_types() {
    let csdl = Csdl::load();
    let env = Env::start().await;
    env.control(
        Method::PUT,
        &format!("/_sandbox/apps/{}/roles", env.creds.entra_client_id),
        Some(json!({"roles": ["User.ReadWrite.All", "LicenseAssignment.ReadWrite.All", "Mail.Send", "Mail.Read"]})),
    )
    .await;
    let token = env.graph_token().await;
    let send = |method: Method, path: &str, body: Option<Value>| {
        let mut req = env.http.request(method, env.url(path)).bearer_auth(&token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move {
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            (
                status,
                serde_json::from_str::<Value>(&text).unwrap_or(Value::Null),
            )
        }
    };
    let mut errors = Vec::new();
    // Tariq inherits SPE_E3 from "All Staff Licensing"; a direct E3 with a disabled plan joins it.
    let tariq = "7b275515-6b56-4c67-bd4d-9be6f6274bc4";
    let (status, user) = send(
        Method::POST,
        &format!("/v1.0/users/{tariq}/assignLicense"),
        Some(json!({"addLicenses": [{"skuId": "6fd2c87f-b296-42f0-b197-1e91e994b900", "disabledPlans": ["efb87545-963c-4e0d-99df-69c6916d9eb0"]}], "removeLicenses": []})),
    )
    .await;
    assert_eq!(status, 200, "{user}");
    csdl.check("user", &user, "assignLicense", &mut errors);
    let (status, revoked) = send(
        Method::POST,
        &format!("/v1.0/users/{tariq}/revokeSignInSessions"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(revoked["value"].is_boolean(), "Edm.Boolean: {revoked}");
    let (status, user) = send(
        Method::GET,
        &format!("/v1.0/users/{tariq}?$select=id,assignedLicenses,licenseAssignmentStates,signInSessionsValidFromDateTime"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let states = user["licenseAssignmentStates"].as_array().unwrap();
    assert_eq!(states.len(), 2, "direct and inherited: {user}");
    for (i, s) in states.iter().enumerate() {
        csdl.check(
            "licenseAssignmentState",
            s,
            &format!("licenseAssignmentStates[{i}]"),
            &mut errors,
        );
    }
    csdl.check("user", &user, "user", &mut errors);
    let (status, details) = send(
        Method::GET,
        &format!("/v1.0/users/{tariq}/licenseDetails"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let details = details["value"].as_array().unwrap();
    assert_eq!(details.len(), 2);
    for (i, d) in details.iter().enumerate() {
        csdl.check(
            "licenseDetails",
            d,
            &format!("licenseDetails[{i}]"),
            &mut errors,
        );
    }
    let (status, _) = send(
        Method::POST,
        "/v1.0/users/isabella.singh@contoso.example/sendMail",
        Some(json!({"message": {"subject": "Spec check", "body": {"contentType": "HTML", "content": "<p>Hi</p>"},
            "toRecipients": [{"emailAddress": {"address": "a@corp.example", "name": "A"}}],
            "ccRecipients": [{"emailAddress": {"address": "b@corp.example"}}]}, "saveToSentItems": true})),
    )
    .await;
    assert_eq!(status, 202);
    let (status, sent) = send(
        Method::GET,
        "/v1.0/users/isabella.singh@contoso.example/mailFolders/sentitems/messages",
        None,
    )
    .await;
    assert_eq!(status, 200);
    let sent = sent["value"].as_array().unwrap();
    assert_eq!(sent.len(), 1);
    csdl.check("message", &sent[0], "message", &mut errors);
    assert_eq!(sent[0]["body"]["contentType"], "html");
    assert!(
        errors.is_empty(),
        "the sandbox drifted from Graph's metadata:\n{}",
        errors.join("\n")
    );
    // The checker catches a made-up property of these types.
    let mut e = Vec::new();
    csdl.check(
        "licenseDetails",
        &json!({"seats": 1}),
        "licenseDetails",
        &mut e,
    );
    csdl.check(
        "licenseAssignmentState",
        &json!({"skuId": "not-a-guid"}),
        "state",
        &mut e,
    );
    csdl.check("message", &json!({"sentAt": "x"}), "message", &mut e);
    assert_eq!(e.len(), 3, "{e:?}");
}
