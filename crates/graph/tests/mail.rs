//! The mail client against the sandbox over real loopback HTTP: sendMail (202, the outbox and the
//! sender's Sent Items), the Sent Items search by subject and time, Graph's errors for an unknown
//! sender, a sender without a mailbox and a reader without Mail.ReadBasic.All, and 429s waited for.

mod common;

use std::time::{Duration, Instant};

use common::Env;
use jiff::{SignedDuration, Timestamp};
use okta365_graph::users::update_user;
use okta365_graph::{Error, GraphClient, MailMessage, User};
use reqwest::Method;
use serde_json::{Value, json};

/// An enabled user with a mailbox, to send from.
async fn sender(graph: &GraphClient) -> User {
    graph
        .all_users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.mail.is_some() && u.user_type.as_deref() != Some("Guest"))
        .expect("a member with a mailbox")
}

fn message(subject: &str) -> MailMessage {
    MailMessage {
        to: vec![(
            "mary.manager@contoso.example".into(),
            Some("Mary Manager".into()),
        )],
        subject: subject.into(),
        body: "Sign-in is blocked as of 2026-11-23 14:05 UTC.\nAsk IT to reverse it.".into(),
    }
}

async fn outbox(env: &Env) -> Vec<Value> {
    let all = env.control(Method::GET, "/_sandbox/mail", None).await;
    all.as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == json!("mail"))
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_sent_mail_goes_out_once_and_is_found_in_sent_items() {
    let env = Env::start().await;
    let graph = env.graph(env.provider());
    let from = sender(&graph).await;
    let upn = from.user_principal_name.clone().unwrap();
    let id = from.id.clone().unwrap().as_str().to_owned();
    env.control(Method::DELETE, "/_sandbox/mail", None).await;
    let since = Timestamp::now() - SignedDuration::from_secs(60);
    let subject = "Ada O'Brien's Microsoft 365 account is disabled";

    let sent = graph.send_mail(&upn, &message(subject)).await.unwrap();
    assert_eq!(sent.status, 202, "{sent:?}");
    assert!(sent.request_id.is_some());
    assert!(sent.error().is_none());

    let out = outbox(&env).await;
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0]["subject"], json!(subject));
    assert_eq!(out[0]["contentType"], json!("Text"));
    assert!(
        out[0]["to"]
            .to_string()
            .contains("mary.manager@contoso.example"),
        "{out:?}"
    );
    assert!(
        out[0]["body"]
            .as_str()
            .unwrap()
            .contains("Ask IT to reverse it.")
    );

    // Found by subject (quoted) and time, by UPN or by id.
    let found = graph.sent_messages(&upn, subject, since).await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].subject, subject);
    assert_eq!(found[0].to, vec!["mary.manager@contoso.example".to_owned()]);
    assert!(!found[0].id.is_empty());
    let sent_at = found[0].sent_date_time.expect("sentDateTime");
    assert!(sent_at >= since, "{sent_at} is after {since}");
    let by_id = graph.sent_messages(&id, subject, since).await.unwrap();
    assert_eq!(by_id[0].id, found[0].id);

    // Another subject, or a later start, finds nothing.
    assert!(
        graph
            .sent_messages(&upn, "Ada O'Brien's licenses were removed", since)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        graph
            .sent_messages(&upn, subject, sent_at + SignedDuration::from_secs(5))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn unknown_senders_senders_without_a_mailbox_and_bad_input_are_errors() {
    let env = Env::start().await;
    let graph = env.graph(env.provider());
    env.control(Method::DELETE, "/_sandbox/mail", None).await;

    let e = graph
        .send_mail("nobody@contoso-sandbox.onmicrosoft.com", &message("Hello"))
        .await
        .unwrap_err();
    assert_eq!(
        (e.status(), e.graph_code()),
        (Some(404), Some("ErrorInvalidUser")),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .contains("The requested user 'nobody@contoso-sandbox.onmicrosoft.com' is invalid."),
        "{e}"
    );

    // A user without `mail` has no mailbox in the sandbox.
    let from = sender(&graph).await;
    let id = from.id.clone().unwrap().as_str().to_owned();
    let cleared = graph
        .write(&update_user(&id, json!({ "mail": null })))
        .await
        .unwrap();
    assert!(cleared.is_success(), "{cleared:?}");
    let e = graph.send_mail(&id, &message("Hello")).await.unwrap_err();
    match &e {
        Error::Graph {
            status,
            code,
            message,
            request_id,
        } => {
            assert_eq!(*status, 404);
            assert_eq!(code, "MailboxNotEnabledForRESTAPI");
            assert!(message.contains("inactive, soft-deleted"), "{message}");
            assert!(request_id.is_some());
        }
        other => panic!("not a Graph error: {other:?}"),
    }

    // Refused before anything is sent.
    let upn = sender(&graph).await.user_principal_name.unwrap();
    let e = graph
        .send_mail(
            &upn,
            &MailMessage {
                to: vec![],
                ..message("Hello")
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidInput(_)), "{e:?}");
    assert!(e.to_string().contains("no recipient"), "{e}");
    let e = graph.send_mail(" ", &message("Hello")).await.unwrap_err();
    assert!(matches!(e, Error::InvalidInput(_)), "{e:?}");
    assert!(outbox(&env).await.is_empty(), "no mail went out");
}

#[tokio::test]
async fn reading_sent_items_without_mail_read_basic_all_is_a_403() {
    let env = Env::start().await;
    env.control(
        Method::PUT,
        &format!("/_sandbox/apps/{}/roles", env.creds.entra_client_id),
        Some(json!({ "roles": ["User.ReadWrite.All", "Mail.Send"] })),
    )
    .await;
    let graph = env.graph(env.provider());
    let upn = sender(&graph).await.user_principal_name.unwrap();
    let since = Timestamp::now() - SignedDuration::from_secs(60);
    let sent = graph.send_mail(&upn, &message("Checked")).await.unwrap();
    assert_eq!(sent.status, 202, "Mail.Send alone sends");
    let e = graph
        .sent_messages(&upn, "Checked", since)
        .await
        .unwrap_err();
    match &e {
        Error::Graph { status, code, .. } => {
            assert_eq!(*status, 403);
            assert_eq!(code, "ErrorAccessDenied");
        }
        other => panic!("not a Graph error: {other:?}"),
    }
    assert_eq!(e.status(), Some(403));
}

#[tokio::test]
async fn a_throttled_send_waits_retry_after_and_goes_out_once() {
    let env = Env::start().await;
    let graph = env.graph(env.provider());
    let upn = sender(&graph).await.user_principal_name.unwrap();
    env.control(Method::DELETE, "/_sandbox/mail", None).await;

    env.control(
        Method::POST,
        "/_sandbox/faults",
        Some(json!({ "status": 429, "count": 1, "path_prefix": "/v1.0/users", "retry_after": 1 })),
    )
    .await;
    let started = Instant::now();
    let sent = graph.send_mail(&upn, &message("Throttled")).await.unwrap();
    assert_eq!(sent.status, 202);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 is honoured, waited {:?}",
        started.elapsed()
    );
    assert_eq!(
        outbox(&env).await.len(),
        1,
        "the throttled try sent nothing"
    );
    env.control(Method::DELETE, "/_sandbox/faults", None).await;

    // The Outlook budget itself: one message per 2 s window, so the second waits for the next window.
    env.control(
        Method::POST,
        "/_sandbox/rate-limits",
        Some(json!({ "bucket": "graph.mail", "limit": 1, "window_secs": 2 })),
    )
    .await;
    let started = Instant::now();
    for n in 0..3 {
        let sent = graph
            .send_mail(&upn, &message(&format!("Budget {n}")))
            .await
            .unwrap();
        assert_eq!(sent.status, 202);
    }
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "three messages span three windows, took {:?}",
        started.elapsed()
    );
    let out = outbox(&env).await;
    assert_eq!(out.len(), 4, "each message once: {out:?}");
}
