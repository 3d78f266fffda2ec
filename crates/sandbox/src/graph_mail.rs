//! Microsoft Graph mail (Outlook): `POST /users/{id|upn}/sendMail` (202, empty body) and the sender's
//! Sent Items, `GET /users/{id|upn}/mailFolders/sentitems/messages` (also `mailFolders('SentItems')`)
//! with `$filter` on `sentDateTime` and `subject`, `$select`, `$top` and `$skip` paging.
//!
//! What must stay true, as Outlook does it: mail needs `Mail.Send` and reading `Mail.ReadBasic.All`,
//! `Mail.Read` or `Mail.ReadWrite` (403 `ErrorAccessDenied` otherwise, not the directory's
//! `Authorization_RequestDenied`); a user without a mailbox (sandbox: no `mail`) is
//! `MailboxNotEnabledForRESTAPI`; every call counts against the app's budget for that mailbox
//! (`graph.mail`). A sent message goes to the sandbox outbox (`GET /_sandbox/mail`, `kind: "mail"`)
//! and, unless `saveToSentItems` is false, into the sender's Sent Items.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::graph::{Caller, GraphError, Query};
use crate::graph_users::{find_index, graph_time, json_object};
use crate::server::Shared;
use crate::state::{GraphUser, SentItem, State};

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v1.0/users/{id}/sendMail", post(send_mail))
        // `mailFolders/{folder}/messages` in any case, and `mailFolders('{folder}')/messages`.
        .route(
            "/v1.0/users/{id}/{segment}/{folder}/messages",
            get(folder_messages),
        )
        .route(
            "/v1.0/users/{id}/{segment}/messages",
            get(keyed_folder_messages),
        )
}

const SEND_MAIL: &[&str] = &["Mail.Send"];
const READ_MAIL: &[&str] = &["Mail.ReadBasic.All", "Mail.Read", "Mail.ReadWrite"];
/// Properties `Mail.ReadBasic.All` does not give.
const NOT_BASIC: &[&str] = &["body", "bodyPreview", "uniqueBody"];

/// Well-known folders besides Sent Items; the sandbox keeps them empty.
const OTHER_FOLDERS: &[&str] = &[
    "inbox",
    "drafts",
    "deleteditems",
    "junkemail",
    "outbox",
    "archive",
];

/// The `microsoft.graph.message` properties the sandbox serves (all of them by default).
const MESSAGE_PROPERTIES: &[&str] = &[
    "id",
    "createdDateTime",
    "lastModifiedDateTime",
    "changeKey",
    "categories",
    "receivedDateTime",
    "sentDateTime",
    "hasAttachments",
    "internetMessageId",
    "subject",
    "bodyPreview",
    "importance",
    "parentFolderId",
    "conversationId",
    "isDeliveryReceiptRequested",
    "isReadReceiptRequested",
    "isRead",
    "isDraft",
    "webLink",
    "inferenceClassification",
    "body",
    "sender",
    "from",
    "toRecipients",
    "ccRecipients",
    "bccRecipients",
    "replyTo",
    "flag",
];

fn access_denied() -> GraphError {
    GraphError::new(
        StatusCode::FORBIDDEN,
        "ErrorAccessDenied",
        "Access is denied. Check credentials and try again.",
    )
}

fn require(caller: &Caller, any_of: &[&str]) -> Result<(), GraphError> {
    if caller.roles.iter().any(|r| any_of.contains(&r.as_str())) {
        Ok(())
    } else {
        Err(access_denied())
    }
}

fn invalid_request(message: impl Into<String>) -> GraphError {
    GraphError::bad_request("ErrorInvalidRequest", message)
}

/// The mailbox's owner: 404 `ErrorInvalidUser` for an unknown user, `MailboxNotEnabledForRESTAPI` for
/// one without a mailbox.
fn mailbox<'a>(st: &'a State, key: &str) -> Result<&'a GraphUser, GraphError> {
    let user = find_index(st, key)
        .map(|i| &st.microsoft.users[i])
        .ok_or_else(|| {
            GraphError::new(
                StatusCode::NOT_FOUND,
                "ErrorInvalidUser",
                format!("The requested user '{key}' is invalid."),
            )
        })?;
    if user.mail.as_deref().is_none_or(str::is_empty) {
        return Err(GraphError::new(
            StatusCode::NOT_FOUND,
            "MailboxNotEnabledForRESTAPI",
            "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
        ));
    }
    Ok(user)
}

/// An Outlook-style opaque id.
fn outlook_id(prefix: &str) -> String {
    let mut bytes = Vec::with_capacity(48);
    for _ in 0..3 {
        bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    }
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

// ---------------------------------------------------------------------------------------------------
// sendMail

/// A checked `sendMail` message.
struct Outgoing {
    subject: String,
    content_type: &'static str,
    content: String,
    to: Vec<Value>,
    cc: Vec<Value>,
    bcc: Vec<Value>,
    save: bool,
}

fn no_recipients() -> GraphError {
    GraphError::bad_request(
        "ErrorInvalidRecipients",
        "At least one recipient is not valid., A message can't be sent because it contains no recipients.",
    )
}

/// `[{emailAddress:{address, name?}}]` with a plausible address each, normalized.
fn recipients(v: Option<&Value>, property: &str) -> Result<Vec<Value>, GraphError> {
    let list = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(invalid_request(format!(
                "The property '{property}' must be an array of recipients."
            )));
        }
    };
    let mut out = Vec::with_capacity(list.len());
    for r in list {
        let email = r.get("emailAddress");
        let address = email
            .and_then(|e| e.get("address"))
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or("");
        let plausible = address
            .rsplit_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !address.contains(' '));
        if !plausible {
            return Err(GraphError::bad_request(
                "ErrorInvalidRecipients",
                format!(
                    "At least one recipient isn't valid., Recipient '{address}' isn't resolved. All recipients must be resolved before a message can be submitted."
                ),
            ));
        }
        let name = email
            .and_then(|e| e.get("name"))
            .and_then(Value::as_str)
            .filter(|n| !n.trim().is_empty())
            .unwrap_or(address);
        out.push(json!({ "emailAddress": { "name": name, "address": address } }));
    }
    Ok(out)
}

fn parse_send(body: &Bytes) -> Result<Outgoing, GraphError> {
    let body = json_object(body)?;
    let message = match body.get("message") {
        Some(Value::Object(m)) => m,
        _ => {
            return Err(invalid_request(
                "The request needs a 'message' object: {\"message\":{\"subject\",\"body\",\"toRecipients\"}}.",
            ));
        }
    };
    let save = match body.get("saveToSentItems") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
        Some(_) => {
            return Err(GraphError::bad_request(
                "RequestBodyRead",
                "Cannot convert the literal to the expected type 'Edm.Boolean' of parameter 'SaveToSentItems'.",
            ));
        }
    };
    let subject = match message.get("subject") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => return Err(invalid_request("The message has no subject.")),
    };
    let (content_type, content) = match message.get("body") {
        Some(Value::Object(b)) => {
            let content_type = match b.get("contentType") {
                None | Some(Value::Null) => "Text",
                Some(Value::String(t)) if t.eq_ignore_ascii_case("text") => "Text",
                Some(Value::String(t)) if t.eq_ignore_ascii_case("html") => "HTML",
                Some(other) => {
                    return Err(GraphError::bad_request(
                        "RequestBodyRead",
                        format!(
                            "Requested value '{}' was not found.",
                            other.as_str().unwrap_or_default()
                        ),
                    ));
                }
            };
            match b.get("content") {
                Some(Value::String(c)) => (content_type, c.clone()),
                _ => return Err(invalid_request("The message body has no content.")),
            }
        }
        _ => return Err(invalid_request("The message has no body.")),
    };
    let to = recipients(message.get("toRecipients"), "toRecipients")?;
    let cc = recipients(message.get("ccRecipients"), "ccRecipients")?;
    let bcc = recipients(message.get("bccRecipients"), "bccRecipients")?;
    if to.is_empty() {
        return Err(no_recipients());
    }
    Ok(Outgoing {
        subject,
        content_type,
        content,
        to,
        cc,
        bcc,
        save,
    })
}

fn render_message(sender: &GraphUser, m: &Outgoing, id: &str, now: &str) -> Value {
    let from = json!({ "emailAddress": {
        "name": sender.display_name,
        "address": sender.mail.as_deref().unwrap_or_default(),
    }});
    let preview: String = m
        .content
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(255)
        .collect();
    let domain = sender
        .mail
        .as_deref()
        .and_then(|a| a.rsplit_once('@'))
        .map(|(_, d)| d)
        .unwrap_or("sandbox.example");
    json!({
        "id": id,
        "createdDateTime": now,
        "lastModifiedDateTime": now,
        "changeKey": outlook_id("CQAAABYAAAA"),
        "categories": [],
        "receivedDateTime": now,
        "sentDateTime": now,
        "hasAttachments": false,
        "internetMessageId": format!("<{}@{domain}>", uuid::Uuid::new_v4().simple()),
        "subject": m.subject,
        "bodyPreview": preview,
        "importance": "normal",
        "parentFolderId": "sentitems",
        "conversationId": outlook_id("AAQkA"),
        "isDeliveryReceiptRequested": false,
        "isReadReceiptRequested": false,
        "isRead": true,
        "isDraft": false,
        "webLink": format!("https://outlook.office365.com/owa/?ItemID={id}&exvsurl=1&viewmodel=ReadMessageItem"),
        "inferenceClassification": "focused",
        "body": { "contentType": m.content_type.to_ascii_lowercase(), "content": m.content },
        "sender": from,
        "from": from,
        "toRecipients": m.to,
        "ccRecipients": m.cc,
        "bccRecipients": m.bcc,
        "replyTo": [],
        "flag": { "flagStatus": "notFlagged" },
    })
}

async fn send_mail(
    AxState(shared): AxState<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Response> {
    require(&caller, SEND_MAIL)?;
    let sender_id = {
        let st = shared.state.read().await;
        mailbox(&st, &id)?.id.clone()
    };
    crate::graph_budget::mail(&shared, &caller, &sender_id)?;
    let outgoing = parse_send(&body)?;
    let now = graph_time(shared.now());
    let result = shared
        .mutate(|st| {
            let sender = mailbox(st, &sender_id)?.clone();
            let message_id = outlook_id("AAMkA");
            let message = render_message(&sender, &outgoing, &message_id, &now);
            st.mail.push(json!({
                "kind": "mail",
                "from": sender.mail,
                "to": outgoing.to.iter().map(|r| r["emailAddress"]["address"].clone()).collect::<Vec<_>>(),
                "subject": outgoing.subject,
                "body": outgoing.content,
                "contentType": outgoing.content_type,
                "sentAt": now,
                "messageId": message_id,
            }));
            if outgoing.save {
                st.microsoft.sent_items.push(SentItem {
                    mailbox: sender.id.clone(),
                    message,
                });
            }
            Ok::<_, GraphError>(())
        })
        .await
        .map_err(IntoResponse::into_response)?;
    result?;
    Ok(StatusCode::ACCEPTED.into_response())
}

// ---------------------------------------------------------------------------------------------------
// Sent Items

/// A `$filter` on messages: `sentDateTime {ge|gt|le|lt|eq} {iso}` and `subject eq '…'`, joined
/// with `and`.
#[derive(Debug, PartialEq)]
enum Clause {
    Sent(String, jiff::Timestamp),
    Subject(String),
}

fn invalid_filter() -> GraphError {
    GraphError::bad_request(
        "ErrorInvalidUrlQueryFilter",
        "The query filter contains one or more invalid nodes.",
    )
}

/// Splits a filter into words and `'…'` literals (a doubled quote is a quote).
fn words(s: &str) -> Result<Vec<(bool, String)>, GraphError> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '\'' {
            chars.next();
            let mut lit = String::new();
            loop {
                match chars.next() {
                    None => return Err(invalid_filter()),
                    Some('\'') if chars.peek() == Some(&'\'') => {
                        chars.next();
                        lit.push('\'');
                    }
                    Some('\'') => break,
                    Some(ch) => lit.push(ch),
                }
            }
            out.push((true, lit));
        } else {
            let mut w = String::new();
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() || ch == '\'' {
                    break;
                }
                w.push(ch);
                chars.next();
            }
            out.push((false, w));
        }
    }
    Ok(out)
}

fn parse_message_filter(f: &str) -> Result<Vec<Clause>, GraphError> {
    let toks = words(f)?;
    let mut clauses = Vec::new();
    let mut i = 0;
    loop {
        let (Some((false, prop)), Some((false, op)), Some((quoted, value))) =
            (toks.get(i), toks.get(i + 1), toks.get(i + 2))
        else {
            return Err(invalid_filter());
        };
        let op = op.to_ascii_lowercase();
        if prop.eq_ignore_ascii_case("sentDateTime")
            && ["ge", "gt", "le", "lt", "eq"].contains(&op.as_str())
            && !quoted
        {
            let at = value
                .parse::<jiff::Timestamp>()
                .map_err(|_| invalid_filter())?;
            clauses.push(Clause::Sent(op, at));
        } else if prop.eq_ignore_ascii_case("subject") && op == "eq" && *quoted {
            clauses.push(Clause::Subject(value.clone()));
        } else {
            return Err(GraphError::bad_request(
                "ErrorInvalidUrlQueryFilter",
                format!(
                    "The sandbox supports $filter=sentDateTime ge {{time}} and subject eq '{{subject}}' on messages, not '{prop} {op}'."
                ),
            ));
        }
        i += 3;
        match toks.get(i) {
            None => return Ok(clauses),
            Some((false, w)) if w.eq_ignore_ascii_case("and") => i += 1,
            _ => return Err(invalid_filter()),
        }
    }
}

fn clause_matches(c: &Clause, m: &Value) -> bool {
    match c {
        Clause::Subject(s) => m["subject"]
            .as_str()
            .is_some_and(|x| x.to_lowercase() == s.to_lowercase()),
        Clause::Sent(op, at) => {
            let Some(sent) = m["sentDateTime"]
                .as_str()
                .and_then(|s| s.parse::<jiff::Timestamp>().ok())
            else {
                return false;
            };
            match op.as_str() {
                "ge" => sent >= *at,
                "gt" => sent > *at,
                "le" => sent <= *at,
                "lt" => sent < *at,
                _ => sent == *at,
            }
        }
    }
}

async fn keyed_folder_messages(
    AxState(shared): AxState<Arc<Shared>>,
    caller: Caller,
    Path((id, segment)): Path<(String, String)>,
    query: Query,
) -> Result<Response, Response> {
    // `mailFolders('SentItems')`
    let folder = segment
        .get(..12)
        .filter(|p| p.eq_ignore_ascii_case("mailFolders("))
        .and_then(|_| segment[12..].strip_suffix(')'))
        .map(|k| k.trim_matches('\''))
        .ok_or_else(|| {
            GraphError::bad_request(
                "BadRequest",
                format!("Resource not found for the segment '{segment}'."),
            )
        })?;
    messages(shared, caller, id, folder.to_owned(), query).await
}

async fn folder_messages(
    AxState(shared): AxState<Arc<Shared>>,
    caller: Caller,
    Path((id, segment, folder)): Path<(String, String, String)>,
    query: Query,
) -> Result<Response, Response> {
    if !segment.eq_ignore_ascii_case("mailFolders") {
        return Err(GraphError::bad_request(
            "BadRequest",
            format!("Resource not found for the segment '{segment}'."),
        )
        .into());
    }
    messages(shared, caller, id, folder, query).await
}

async fn messages(
    shared: Arc<Shared>,
    caller: Caller,
    id: String,
    folder: String,
    query: Query,
) -> Result<Response, Response> {
    require(&caller, READ_MAIL)?;
    let basic_only = !caller
        .roles
        .iter()
        .any(|r| r == "Mail.Read" || r == "Mail.ReadWrite");
    let owner = {
        let st = shared.state.read().await;
        mailbox(&st, &id)?.id.clone()
    };
    crate::graph_budget::mail(&shared, &caller, &owner)?;
    let sent = folder.eq_ignore_ascii_case("sentitems");
    if !sent
        && !OTHER_FOLDERS
            .iter()
            .any(|f| f.eq_ignore_ascii_case(&folder))
    {
        return Err(GraphError::new(
            StatusCode::NOT_FOUND,
            "ErrorItemNotFound",
            "The specified object was not found in the store.",
        )
        .into());
    }
    query.reject_unsupported(&["$skip"])?;
    let select: Option<Vec<&str>> = match query.get("$select") {
        None => None,
        Some(s) => {
            let mut out = Vec::new();
            for p in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let Some(k) = MESSAGE_PROPERTIES
                    .iter()
                    .find(|k| k.eq_ignore_ascii_case(p))
                else {
                    return Err(GraphError::bad_request(
                        "RequestBroker--ParseUri",
                        format!(
                            "Could not find a property named '{p}' on type 'Microsoft.OutlookServices.Message'."
                        ),
                    )
                    .into());
                };
                out.push(*k);
            }
            (!out.is_empty()).then_some(out)
        }
    };
    let top = match query.get("$top") {
        None => 10,
        Some(t) => match t.trim().parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => n,
            _ => {
                return Err(GraphError::bad_request(
                    "ErrorInvalidUrlQuery",
                    format!("The value '{t}' of $top is not valid: use 1 to 1000."),
                )
                .into());
            }
        },
    };
    let skip = match query.get("$skip") {
        None => 0,
        Some(s) => s.trim().parse::<usize>().map_err(|_| {
            GraphError::bad_request(
                "ErrorInvalidUrlQuery",
                format!("The value '{s}' of $skip is not valid."),
            )
        })?,
    };
    let filter = query
        .get("$filter")
        .filter(|f| !f.trim().is_empty())
        .map(parse_message_filter)
        .transpose()?
        .unwrap_or_default();
    let st = shared.state.read().await;
    // Newest first, as Outlook lists a folder.
    let matching: Vec<&Value> = st
        .microsoft
        .sent_items
        .iter()
        .rev()
        .filter(|s| sent && s.mailbox == owner)
        .map(|s| &s.message)
        .filter(|m| filter.iter().all(|c| clause_matches(c, m)))
        .collect();
    let props: Vec<&str> = select
        .clone()
        .unwrap_or_else(|| MESSAGE_PROPERTIES.to_vec())
        .into_iter()
        .filter(|p| !(basic_only && NOT_BASIC.contains(p)))
        .collect();
    let value: Vec<Value> = matching
        .iter()
        .skip(skip)
        .take(top)
        .map(|m| {
            let mut out = Map::new();
            out.insert(
                "@odata.etag".into(),
                json!(format!("W/\"{}\"", m["changeKey"].as_str().unwrap_or(""))),
            );
            for p in &props {
                out.insert((*p).to_owned(), m.get(*p).cloned().unwrap_or(Value::Null));
            }
            Value::Object(out)
        })
        .collect();
    let folder_key = folder.to_ascii_lowercase();
    let context = match &select {
        Some(s) => format!(
            "/v1.0/$metadata#users('{id}')/mailFolders('{folder_key}')/messages({})",
            s.join(",")
        ),
        None => format!("/v1.0/$metadata#users('{id}')/mailFolders('{folder_key}')/messages"),
    };
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(shared.url(&context)));
    body.insert("value".into(), Value::Array(value));
    if matching.len() > skip + top {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for key in ["$filter", "$select"] {
            if let Some(v) = query.get(key) {
                ser.append_pair(key, v);
            }
        }
        ser.append_pair("$top", &top.to_string());
        ser.append_pair("$skip", &(skip + top).to_string());
        body.insert(
            "@odata.nextLink".into(),
            json!(shared.url(&format!(
                "/v1.0/users/{id}/mailFolders/{folder_key}/messages?{}",
                ser.finish()
            ))),
        );
    }
    Ok(axum::Json(Value::Object(body)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sent_items_filter_reads_time_and_subject_with_doubled_quotes() {
        let f = parse_message_filter(
            "sentDateTime ge 2026-03-01T10:00:00Z and subject eq 'Pat O''Brien''s account'",
        )
        .unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[1], Clause::Subject("Pat O'Brien's account".into()));
        let m = json!({"subject": "pat o'brien's ACCOUNT", "sentDateTime": "2026-03-01T10:00:05Z"});
        assert!(f.iter().all(|c| clause_matches(c, &m)));
        let early =
            json!({"subject": "Pat O'Brien's account", "sentDateTime": "2026-03-01T09:59:59Z"});
        assert!(!f.iter().all(|c| clause_matches(c, &early)));
        for bad in [
            "subject eq 'open",
            "subject ne 'x'",
            "sentDateTime ge yesterday",
            "subject eq 'a' or subject eq 'b'",
            "",
        ] {
            assert!(parse_message_filter(bad).is_err(), "{bad}");
        }
    }
}
