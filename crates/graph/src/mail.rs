//! Manager emails (docs/licensing.md): `POST /users/{sender}/sendMail` with a plain-text message, and
//! the sender's Sent Items searched by subject and time, to tell whether an email went out before an
//! interruption.
//!
//! Mail is not a directory write: it is sent alone (never in a `$batch`) and does not take a slot of
//! the directory write budget; Outlook's own budget answers 429 with `Retry-After`, which is waited
//! for and the message sent again (a throttled request was not processed).

use jiff::Timestamp;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::batch::WriteResponse;
use crate::client::{GraphClient, encode_segment};
use crate::error::{Error, Result};
use crate::transport::Repeat;
use crate::users::odata_literal;

/// A plain-text email to send.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailMessage {
    /// The recipients: address and optional display name.
    pub to: Vec<(String, Option<String>)>,
    /// The subject.
    pub subject: String,
    /// The body, plain text.
    pub body: String,
}

/// A message of the sender's Sent Items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    /// The message id.
    pub id: String,
    /// The subject (empty when the message has none).
    pub subject: String,
    /// When it was sent.
    pub sent_date_time: Option<Timestamp>,
    /// The recipients' addresses.
    pub to: Vec<String>,
}

/// The properties of a sent message read back.
const SENT_SELECT: &str = "id,subject,sentDateTime,toRecipients";

/// The `sendMail` body: a plain-text message saved to the sender's Sent Items.
pub(crate) fn send_mail_body(message: &MailMessage) -> Value {
    let to: Vec<Value> = message
        .to
        .iter()
        .map(|(address, name)| {
            let mut email = json!({ "address": address });
            if let Some(name) = name {
                email["name"] = json!(name);
            }
            json!({ "emailAddress": email })
        })
        .collect();
    json!({
        "message": {
            "subject": message.subject,
            "body": { "contentType": "Text", "content": message.body },
            "toRecipients": to,
        },
        "saveToSentItems": true,
    })
}

/// The query of the Sent Items search: sent at or after `since` (to the second, UTC) with exactly
/// this subject.
pub(crate) fn sent_messages_query(subject: &str, since: Timestamp) -> Vec<(&'static str, String)> {
    let since = since.strftime("%Y-%m-%dT%H:%M:%SZ");
    vec![
        (
            "$filter",
            format!(
                "sentDateTime ge {since} and subject eq {}",
                odata_literal(subject)
            ),
        ),
        ("$select", SENT_SELECT.to_owned()),
        ("$top", "50".to_owned()),
    ]
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRecipient {
    #[serde(default)]
    email_address: Option<RawAddress>,
}

#[derive(Deserialize)]
struct RawAddress {
    #[serde(default)]
    address: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMessage {
    id: String,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    sent_date_time: Option<Timestamp>,
    #[serde(default)]
    to_recipients: Option<Vec<RawRecipient>>,
}

impl From<RawMessage> for SentMessage {
    fn from(raw: RawMessage) -> SentMessage {
        SentMessage {
            id: raw.id,
            subject: raw.subject.unwrap_or_default(),
            sent_date_time: raw.sent_date_time,
            to: raw
                .to_recipients
                .unwrap_or_default()
                .into_iter()
                .filter_map(|r| r.email_address.and_then(|a| a.address))
                .collect(),
        }
    }
}

impl GraphClient {
    /// Sends a plain-text email from `sender`'s mailbox (a user id or user principal name) and saves
    /// it to its Sent Items: `POST /users/{sender}/sendMail`, alone. Graph answers 202 with no body;
    /// the answer's status and request id come back as a [`WriteResponse`]. Any other answer is
    /// [`Error::Graph`] with Graph's status, code (`ErrorInvalidUser`, `MailboxNotEnabledForRESTAPI`,
    /// `ErrorAccessDenied`, …), message and request id. A 429 waits `Retry-After` and is sent again; a
    /// 5xx or a dropped connection is not (the message may have gone out). Needs Mail.Send.
    pub async fn send_mail(&self, sender: &str, message: &MailMessage) -> Result<WriteResponse> {
        if sender.trim().is_empty() {
            return Err(Error::InvalidInput(
                "No sender mailbox: set the address (or user id) of the mailbox that sends the emails."
                    .into(),
            ));
        }
        if message.to.is_empty() {
            return Err(Error::InvalidInput(format!(
                "The email \"{}\" has no recipient.",
                message.subject
            )));
        }
        if let Some((address, _)) = message.to.iter().find(|(a, _)| a.trim().is_empty()) {
            return Err(Error::InvalidInput(format!(
                "The email \"{}\" has a recipient without an address ({address:?}).",
                message.subject
            )));
        }
        let url = self.url(&format!("users/{}/sendMail", encode_segment(sender)), &[])?;
        let client_request_id = uuid::Uuid::new_v4().to_string();
        let response = self
            .send_with(
                Method::POST,
                &url,
                Some(&send_mail_body(message)),
                &[("client-request-id", client_request_id.clone())],
                Repeat::Once,
            )
            .await?;
        let status = response.status().as_u16();
        let request_id = response
            .headers()
            .get("request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .unwrap_or(client_request_id);
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let bytes = response.bytes().await.map_err(|e| Error::Transport {
            url: url.to_string(),
            reason: format!("the answer could not be read ({e})"),
        })?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                json!({ "error": { "code": format!("HTTP{status}"),
                    "message": String::from_utf8_lossy(&bytes).chars().take(300).collect::<String>() } })
            })
        };
        let answer = WriteResponse {
            status,
            request_id: Some(request_id),
            body,
            retry_after,
        };
        match answer.error() {
            Some(error) => Err(error),
            None => Ok(answer),
        }
    }

    /// The messages of `sender`'s Sent Items sent at or after `since` (to the second) with exactly this
    /// subject (`GET /users/{sender}/mailFolders/sentitems/messages`, `$top=50`, every page). Needs
    /// Mail.ReadBasic.All; without it [`Error::Graph`] 403 `ErrorAccessDenied`.
    pub async fn sent_messages(
        &self,
        sender: &str,
        subject: &str,
        since: Timestamp,
    ) -> Result<Vec<SentMessage>> {
        let url = self.url(
            &format!(
                "users/{}/mailFolders/sentitems/messages",
                encode_segment(sender)
            ),
            &sent_messages_query(subject, since),
        )?;
        let raw = self.page::<RawMessage>(&url).await?.all().await?;
        Ok(raw.into_iter().map(SentMessage::from).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_plain_text_saved_to_sent_items() {
        let body = send_mail_body(&MailMessage {
            to: vec![
                ("m@x.example".into(), Some("Mary Manager".into())),
                ("n@x.example".into(), None),
            ],
            subject: "Ada's account".into(),
            body: "Line 1\nLine 2".into(),
        });
        assert_eq!(
            body,
            json!({
                "message": {
                    "subject": "Ada's account",
                    "body": { "contentType": "Text", "content": "Line 1\nLine 2" },
                    "toRecipients": [
                        { "emailAddress": { "address": "m@x.example", "name": "Mary Manager" } },
                        { "emailAddress": { "address": "n@x.example" } }
                    ]
                },
                "saveToSentItems": true
            })
        );
    }

    #[test]
    fn the_sent_items_filter_is_utc_to_the_second_with_the_subject_quoted() {
        let since: Timestamp = "2026-11-23T14:05:09.987654321+01:00".parse().unwrap();
        let query = sent_messages_query("Ada O'Brien's account is disabled", since);
        assert_eq!(
            query,
            vec![
                (
                    "$filter",
                    "sentDateTime ge 2026-11-23T13:05:09Z and subject eq 'Ada O''Brien''s account is disabled'"
                        .to_owned()
                ),
                ("$select", "id,subject,sentDateTime,toRecipients".to_owned()),
                ("$top", "50".to_owned()),
            ]
        );
    }

    #[test]
    fn a_sent_message_reads_its_recipients() {
        let raw: RawMessage = serde_json::from_value(json!({
            "id": "m1",
            "subject": null,
            "sentDateTime": "2026-11-23T13:05:09Z",
            "toRecipients": [
                { "emailAddress": { "address": "m@x.example", "name": "M" } },
                { "emailAddress": { "name": "no address" } }
            ]
        }))
        .unwrap();
        let m = SentMessage::from(raw);
        assert_eq!(m.subject, "");
        assert_eq!(m.to, vec!["m@x.example".to_owned()]);
        assert_eq!(
            m.sent_date_time,
            Some("2026-11-23T13:05:09Z".parse().unwrap())
        );
    }
}
