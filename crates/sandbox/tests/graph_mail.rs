//! Graph mail of the sandbox over real loopback HTTP: sendMail into the outbox and the sender's Sent
//! Items, the Sent Items filter, Outlook's permissions and errors, and the `graph.mail` budget.

mod common;

use common::Env;
use reqwest::Method;
use serde_json::{Value, json};

const SENDER_UPN: &str = "isabella.singh@contoso.example";
const SENDER_ID: &str = "8840334c-e4de-4109-95ad-13e3c5dd64d9";

/// One Graph call: (status, headers, body or null).
async fn call(
    env: &Env,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = env.http.request(method, env.url(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    };
    (status, headers, body)
}

fn message(subject: &str, to: &str) -> Value {
    json!({
        "message": {
            "subject": subject,
            "body": {"contentType": "Text", "content": "Sign-in is blocked as of today."},
            "toRecipients": [{"emailAddress": {"address": to, "name": "Marcus Thompson"}}],
        },
        "saveToSentItems": true,
    })
}

async fn send(env: &Env, token: &str, sender: &str, body: Value) -> (u16, Value) {
    let (status, _, body) = call(
        env,
        token,
        Method::POST,
        &format!("/v1.0/users/{sender}/sendMail"),
        Some(body),
    )
    .await;
    (status, body)
}

fn assert_graph_error(status: u16, body: &Value, want_status: u16, code: &str, message: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert_eq!(body["error"]["message"], message, "{body}");
    assert!(
        body["error"]["innerError"]["request-id"].is_string(),
        "{body}"
    );
}

async fn token_with(env: &Env, roles: &[&str]) -> String {
    env.control(
        Method::PUT,
        &format!("/_sandbox/apps/{}/roles", env.creds.entra_client_id),
        Some(json!({ "roles": roles })),
    )
    .await;
    env.graph_token().await
}

fn filter_path(sender: &str, folder: &str, since: &str, subject: &str) -> String {
    let filter = format!(
        "sentDateTime ge {since} and subject eq '{}'",
        subject.replace('\'', "''")
    );
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("$filter", &filter)
        .append_pair("$select", "id,subject,sentDateTime,toRecipients")
        .append_pair("$top", "50")
        .finish();
    format!("/v1.0/users/{sender}/{folder}/messages?{q}")
}

#[tokio::test]
async fn sent_mail_reaches_the_outbox_and_sent_items_and_the_filter_finds_it() {
    let env = Env::start().await;
    let token = env.graph_token().await;
    let state = env.control(Method::GET, "/_sandbox/state", None).await;
    let before: jiff::Timestamp = state["clock"]["now"].as_str().unwrap().parse().unwrap();
    let since = before
        .checked_sub(jiff::SignedDuration::from_secs(60))
        .unwrap()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let subject = "Pat O'Brien's Microsoft 365 account is disabled";
    let (status, body) = send(
        &env,
        &token,
        SENDER_UPN,
        message(subject, "marcus.thompson@corp.example"),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body, Value::Null, "202 with an empty body");
    let (status, _) = send(
        &env,
        &token,
        SENDER_ID,
        message("Another subject", "marcus.thompson@corp.example"),
    )
    .await;
    assert_eq!(status, 202, "by id too");

    let outbox = env.control(Method::GET, "/_sandbox/mail", None).await;
    let mails = outbox.as_array().unwrap();
    assert_eq!(mails.len(), 2, "{outbox}");
    let m = &mails[0];
    assert_eq!(m["kind"], "mail");
    assert_eq!(m["from"], SENDER_UPN);
    assert_eq!(m["to"], json!(["marcus.thompson@corp.example"]));
    assert_eq!(m["subject"], subject);
    assert_eq!(m["body"], "Sign-in is blocked as of today.");
    assert_eq!(m["contentType"], "Text");
    let sent_at: jiff::Timestamp = m["sentAt"].as_str().unwrap().parse().unwrap();
    assert!((sent_at.as_second() - before.as_second()).abs() <= 5);
    let message_id = m["messageId"].as_str().unwrap().to_owned();

    // The resume check: the sender's Sent Items, by subject and time.
    for folder in [
        "mailFolders/sentitems",
        "mailFolders/SentItems",
        "mailFolders('SentItems')",
        "MailFolders/SENTITEMS",
    ] {
        let (status, _, found) = call(
            &env,
            &token,
            Method::GET,
            &filter_path(SENDER_UPN, folder, &since, subject),
            None,
        )
        .await;
        assert_eq!(status, 200, "{folder}: {found}");
        let value = found["value"].as_array().unwrap();
        assert_eq!(value.len(), 1, "{folder}: {found}");
        let hit = &value[0];
        assert_eq!(hit["id"], message_id.as_str());
        assert_eq!(hit["subject"], subject);
        assert_eq!(
            hit["toRecipients"],
            json!([{"emailAddress": {"name": "Marcus Thompson", "address": "marcus.thompson@corp.example"}}])
        );
        assert!(hit["sentDateTime"].is_string());
        assert!(hit.get("body").is_none(), "only the selected properties");
    }
    // A later start time or another subject finds nothing.
    let later = before
        .checked_add(jiff::SignedDuration::from_secs(600))
        .unwrap()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    for (since, subject) in [(later.as_str(), subject), (since.as_str(), "Nope")] {
        let (status, _, found) = call(
            &env,
            &token,
            Method::GET,
            &filter_path(SENDER_UPN, "mailFolders/sentitems", since, subject),
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(found["value"], json!([]), "{since} {subject}");
    }
    // Without a filter: newest first; another mailbox has nothing.
    let (_, _, all) = call(
        &env,
        &token,
        Method::GET,
        &format!("/v1.0/users/{SENDER_ID}/mailFolders/sentitems/messages?$select=subject&$top=1"),
        None,
    )
    .await;
    assert_eq!(
        all["value"],
        json!([{"@odata.etag": all["value"][0]["@odata.etag"], "subject": "Another subject"}])
    );
    assert!(all["@odata.nextLink"].is_string(), "{all}");
    let (_, _, other) = call(
        &env,
        &token,
        Method::GET,
        "/v1.0/users/marcus.thompson@contoso.example/mailFolders/sentitems/messages",
        None,
    )
    .await;
    assert_eq!(other["value"], json!([]));

    // saveToSentItems: false sends without keeping a copy.
    let mut unsaved = message("Not kept", "marcus.thompson@corp.example");
    unsaved["saveToSentItems"] = json!(false);
    assert_eq!(send(&env, &token, SENDER_UPN, unsaved).await.0, 202);
    let (_, _, found) = call(
        &env,
        &token,
        Method::GET,
        &filter_path(SENDER_UPN, "mailFolders/sentitems", &since, "Not kept"),
        None,
    )
    .await;
    assert_eq!(found["value"], json!([]));

    // The outbox empties; invitations keep their shape.
    env.control(Method::DELETE, "/_sandbox/mail", None).await;
    assert_eq!(
        env.control(Method::GET, "/_sandbox/mail", None).await,
        json!([])
    );
    let inviter = token_with(&env, &["User.Invite.All", "Mail.Send"]).await;
    let (status, _, _) = call(
        &env,
        &inviter,
        Method::POST,
        "/v1.0/invitations",
        Some(json!({"invitedUserEmailAddress": "pat@partner.example", "inviteRedirectUrl": "https://myapps.microsoft.com", "sendInvitationMessage": true})),
    )
    .await;
    assert_eq!(status, 201);
    let outbox = env.control(Method::GET, "/_sandbox/mail", None).await;
    assert_eq!(outbox[0]["kind"], "invitation");
}

#[tokio::test]
async fn mail_errors_have_outlooks_status_code_and_words() {
    let env = Env::start().await;
    let token = env.graph_token().await;
    let to = "marcus.thompson@corp.example";
    let (status, body) = send(&env, &token, "nobody@contoso.example", message("s", to)).await;
    assert_graph_error(
        status,
        &body,
        404,
        "ErrorInvalidUser",
        "The requested user 'nobody@contoso.example' is invalid.",
    );
    // A user without a mailbox.
    let (status, _, _) = call(
        &env,
        &token,
        Method::POST,
        "/v1.0/users",
        Some(json!({
            "accountEnabled": true, "displayName": "No Mailbox", "mailNickname": "no.mailbox",
            "userPrincipalName": "no.mailbox@contoso.example",
            "passwordProfile": {"password": "Xk4!rT9#qLm2$vB7"},
        })),
    )
    .await;
    assert_eq!(status, 201);
    let (status, body) = send(&env, &token, "no.mailbox@contoso.example", message("s", to)).await;
    assert_graph_error(
        status,
        &body,
        404,
        "MailboxNotEnabledForRESTAPI",
        "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
    );

    let no_recipients = json!({"message": {"subject": "s", "body": {"contentType": "Text", "content": "b"}, "toRecipients": []}});
    let (status, body) = send(&env, &token, SENDER_UPN, no_recipients).await;
    assert_graph_error(
        status,
        &body,
        400,
        "ErrorInvalidRecipients",
        "At least one recipient is not valid., A message can't be sent because it contains no recipients.",
    );
    let bad_address = json!({"message": {"subject": "s", "body": {"contentType": "Text", "content": "b"}, "toRecipients": [{"emailAddress": {"address": "not-an-address"}}]}});
    let (status, body) = send(&env, &token, SENDER_UPN, bad_address).await;
    assert_graph_error(
        status,
        &body,
        400,
        "ErrorInvalidRecipients",
        "At least one recipient isn't valid., Recipient 'not-an-address' isn't resolved. All recipients must be resolved before a message can be submitted.",
    );
    for (body, message) in [
        (
            json!({"message": {"body": {"contentType": "Text", "content": "b"}, "toRecipients": [{"emailAddress": {"address": to}}]}}),
            "The message has no subject.",
        ),
        (
            json!({"message": {"subject": "s", "toRecipients": [{"emailAddress": {"address": to}}]}}),
            "The message has no body.",
        ),
        (
            json!({"message": {"subject": "s", "body": {"contentType": "Text"}, "toRecipients": [{"emailAddress": {"address": to}}]}}),
            "The message body has no content.",
        ),
    ] {
        let (status, got) = send(&env, &token, SENDER_UPN, body).await;
        assert_graph_error(status, &got, 400, "ErrorInvalidRequest", message);
    }
    let (status, body) = send(&env, &token, SENDER_UPN, json!({"saveToSentItems": true})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "ErrorInvalidRequest");
    let bad_type = json!({"message": {"subject": "s", "body": {"contentType": "Markdown", "content": "b"}, "toRecipients": [{"emailAddress": {"address": to}}]}});
    let (status, body) = send(&env, &token, SENDER_UPN, bad_type).await;
    assert_graph_error(
        status,
        &body,
        400,
        "RequestBodyRead",
        "Requested value 'Markdown' was not found.",
    );
    assert_eq!(
        env.control(Method::GET, "/_sandbox/mail", None).await,
        json!([]),
        "nothing refused was sent"
    );

    // Sent Items errors.
    let (status, _, body) = call(
        &env,
        &token,
        Method::GET,
        &format!("/v1.0/users/{SENDER_UPN}/mailFolders/sentitems/messages?$filter=isRead eq true"),
        None,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "ErrorInvalidUrlQueryFilter");
    let (status, _, body) = call(
        &env,
        &token,
        Method::GET,
        &format!("/v1.0/users/{SENDER_UPN}/mailFolders/nosuchfolder/messages"),
        None,
    )
    .await;
    assert_graph_error(
        status,
        &body,
        404,
        "ErrorItemNotFound",
        "The specified object was not found in the store.",
    );
    let (status, _, body) = call(
        &env,
        &token,
        Method::GET,
        &format!("/v1.0/users/{SENDER_UPN}/mailFolders/sentitems/messages?$select=colour"),
        None,
    )
    .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn mail_needs_mail_send_and_reading_sent_items_needs_a_mail_read_permission() {
    let env = Env::start().await;
    let to = "marcus.thompson@corp.example";
    let denied = "Access is denied. Check credentials and try again.";
    let no_mail = token_with(&env, &["User.ReadWrite.All"]).await;
    let (status, body) = send(&env, &no_mail, SENDER_UPN, message("s", to)).await;
    assert_graph_error(status, &body, 403, "ErrorAccessDenied", denied);
    let path = format!("/v1.0/users/{SENDER_UPN}/mailFolders/sentitems/messages");
    let (status, _, body) = call(&env, &no_mail, Method::GET, &path, None).await;
    assert_graph_error(status, &body, 403, "ErrorAccessDenied", denied);

    let send_only = token_with(&env, &["Mail.Send"]).await;
    let (status, _) = send(&env, &send_only, SENDER_UPN, message("s", to)).await;
    assert_eq!(status, 202);
    let (status, _, body) = call(&env, &send_only, Method::GET, &path, None).await;
    assert_graph_error(status, &body, 403, "ErrorAccessDenied", denied);

    let basic = token_with(&env, &["Mail.ReadBasic.All"]).await;
    let (status, _, body) = call(&env, &basic, Method::GET, &path, None).await;
    assert_eq!(status, 200, "{body}");
    let m = &body["value"][0];
    assert_eq!(m["subject"], "s");
    assert!(
        m.get("body").is_none() && m.get("bodyPreview").is_none(),
        "Mail.ReadBasic.All gives no body: {m}"
    );
    let read = token_with(&env, &["Mail.Read"]).await;
    let (_, _, body) = call(&env, &read, Method::GET, &path, None).await;
    assert_eq!(
        body["value"][0]["body"]["content"], "Sign-in is blocked as of today.",
        "{body}"
    );
}

#[tokio::test]
async fn the_mail_budget_throttles_per_mailbox_and_faults_apply() {
    let env = Env::start().await;
    let token = env.graph_token().await;
    let to = "marcus.thompson@corp.example";
    let limits = env
        .control(
            Method::POST,
            "/_sandbox/rate-limits",
            Some(json!({"bucket": "graph.mail", "limit": 2, "window_secs": 600})),
        )
        .await;
    assert_eq!(limits["graph.mail"]["limit"], 2, "{limits}");
    for _ in 0..2 {
        assert_eq!(
            send(&env, &token, SENDER_UPN, message("s", to)).await.0,
            202
        );
    }
    let (status, headers, body) = call(
        &env,
        &token,
        Method::POST,
        &format!("/v1.0/users/{SENDER_UPN}/sendMail"),
        Some(message("s", to)),
    )
    .await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "TooManyRequests");
    let wait: i64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=600).contains(&wait), "{wait}");
    // Another mailbox has its own budget.
    assert_eq!(
        send(
            &env,
            &token,
            "marcus.thompson@contoso.example",
            message("s", to)
        )
        .await
        .0,
        202
    );
    // The window passes on the sandbox clock.
    env.control(
        Method::POST,
        "/_sandbox/clock",
        Some(json!({"advance_secs": 600})),
    )
    .await;
    let token = env.graph_token().await;
    assert_eq!(
        send(&env, &token, SENDER_UPN, message("s", to)).await.0,
        202
    );
    assert_eq!(
        env.control(Method::GET, "/_sandbox/mail", None)
            .await
            .as_array()
            .unwrap()
            .len(),
        4,
        "the throttled message was not sent"
    );

    // An injected fault on POST sendMail.
    env.control(
        Method::POST,
        "/_sandbox/faults",
        Some(json!({"status": 503, "count": 1, "path_prefix": "/v1.0/users", "method": "POST"})),
    )
    .await;
    let (status, headers, _) = call(
        &env,
        &token,
        Method::POST,
        &format!("/v1.0/users/{SENDER_UPN}/sendMail"),
        Some(message("s", to)),
    )
    .await;
    assert_eq!(status, 503);
    assert!(headers.contains_key("retry-after"));
    assert_eq!(
        send(&env, &token, SENDER_UPN, message("s", to)).await.0,
        202
    );
}
