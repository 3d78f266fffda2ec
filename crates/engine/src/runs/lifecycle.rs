//! Lifecycle settings per profile (docs/licensing.md "Settings"): the delay between disabling an
//! account and removing its licenses, whether disabling revokes sessions, the sender mailbox and the
//! manager-email templates; their validation; the manager of an Okta user; rendering a template; and
//! the email preview.
//!
//! A profile that never saved settings gets the defaults. Saving refuses a delay out of range, an
//! unknown placeholder (named, with the valid ones), an empty subject and a sender that is neither an
//! address nor an object id.

use jiff::Timestamp;
use okta365_okta::{OktaClient, User};
use okta365_store::ProfileRecord;
use tracing::instrument;

use super::settings::{self, OKTA_READ_SCOPES};
use crate::{
    dto::{
        LifecycleSettings, MailPreview, MailPreviewRequest, MailStage, MailTemplate, MailTemplates,
        OperationId,
    },
    engine::Engine,
    error::{Error, Result},
    setup::groups::{GroupRole, okta_error},
};

/// The default delay: 30 days.
pub const DEFAULT_DELAY_SECS: u64 = 30 * 86_400;
/// The longest delay: 10 years (of 365 days).
pub const MAX_DELAY_SECS: u64 = 10 * 365 * 86_400;

/// Every placeholder a template may use.
pub const PLACEHOLDERS: &[&str] = &[
    "user.displayName",
    "user.firstName",
    "user.lastName",
    "user.email",
    "user.login",
    "manager.displayName",
    "manager.firstName",
    "manager.email",
    "stage",
    "disabledAt",
    "dueAt",
    "licensesRemovedAt",
    "activatedAt",
    "licenses",
    "delay",
];

impl MailTemplates {
    /// The default template of each stage.
    pub fn defaults() -> MailTemplates {
        MailTemplates {
            disabled: MailTemplate {
                subject: "{{user.displayName}}'s Microsoft 365 account is disabled".into(),
                body: "Hello {{manager.firstName}},\n\n\
                       {{user.displayName}} ({{user.email}}) left the Office 365 group in Okta, so their \
                       Microsoft 365 account is disabled: sign-in is blocked as of {{disabledAt}}.\n\n\
                       Their licenses ({{licenses}}) will be removed on {{dueAt}}, {{delay}} after the \
                       account was disabled. Their mailbox and files are kept until then.\n\n\
                       If this is a mistake, ask your Okta administrator to add {{user.displayName}} back \
                       to the group before {{dueAt}}: the account and its licenses are then restored.\n"
                    .into(),
            },
            licenses_removed: MailTemplate {
                subject: "{{user.displayName}}'s Microsoft 365 licenses were removed".into(),
                body: "Hello {{manager.firstName}},\n\n\
                       The Microsoft 365 account of {{user.displayName}} ({{user.email}}) was disabled on \
                       {{disabledAt}}. As announced, its licenses ({{licenses}}) were removed on \
                       {{licensesRemovedAt}}.\n\n\
                       If {{user.displayName}} needs the account again, ask your Okta administrator to add \
                       them back to the group: the account and its licenses are then restored.\n"
                    .into(),
            },
            activated: MailTemplate {
                subject: "{{user.displayName}}'s Microsoft 365 account is active again".into(),
                body: "Hello {{manager.firstName}},\n\n\
                       {{user.displayName}} ({{user.email}}) is back in the Office 365 group in Okta: their \
                       Microsoft 365 account was enabled again on {{activatedAt}}, with the licenses \
                       {{licenses}}.\n\n\
                       They can sign in as {{user.login}}.\n"
                    .into(),
            },
        }
    }

    /// The template of a stage.
    pub fn of(&self, stage: MailStage) -> &MailTemplate {
        match stage {
            MailStage::Disabled => &self.disabled,
            MailStage::LicensesRemoved => &self.licenses_removed,
            MailStage::Activated => &self.activated,
        }
    }
}

impl LifecycleSettings {
    /// The contract's defaults: 30 days, revoke sessions, no sender, the default templates.
    pub fn defaults() -> LifecycleSettings {
        LifecycleSettings {
            delay_secs: DEFAULT_DELAY_SECS,
            revoke_sessions: true,
            sender_mailbox: None,
            templates: MailTemplates::defaults(),
        }
    }

    /// The settings trimmed (sender, subjects) and checked; every problem is named with its fix.
    pub fn normalized(mut self) -> Result<LifecycleSettings> {
        let mut problems = Vec::new();
        if self.delay_secs == 0 {
            problems.push(
                "The delay before licenses are removed must be at least 1 second (it is 0)."
                    .to_owned(),
            );
        } else if self.delay_secs > MAX_DELAY_SECS {
            problems.push(format!(
                "The delay before licenses are removed is {}, longer than the maximum of 10 years \
                 ({MAX_DELAY_SECS} seconds).",
                delay_words(self.delay_secs)
            ));
        }
        self.sender_mailbox = self
            .sender_mailbox
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        if let Some(sender) = &self.sender_mailbox
            && !is_address(sender)
            && !is_guid(sender)
        {
            problems.push(format!(
                "The sender mailbox \"{sender}\" is neither an email address (e.g. it-notices@contoso.com) \
                 nor an Entra object id (a GUID). Enter the user principal name or object id of the \
                 mailbox that sends the manager emails, or leave it empty to send none."
            ));
        }
        for stage in MailStage::ALL {
            let template = match stage {
                MailStage::Disabled => &mut self.templates.disabled,
                MailStage::LicensesRemoved => &mut self.templates.licenses_removed,
                MailStage::Activated => &mut self.templates.activated,
            };
            template.subject = template.subject.trim().to_owned();
            if let Err(problem) = check_template(stage, template) {
                problems.push(problem);
            }
        }
        if problems.is_empty() {
            Ok(self)
        } else {
            Err(Error::invalid(problems.join(" ")))
        }
    }
}

/// Whether `value` looks like an email address (`local@domain.tld`, no spaces).
fn is_address(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !value
            .chars()
            .any(|c| c.is_whitespace() || c == ',' || c == ';')
}

/// Whether `value` is a GUID (`8-4-4-4-12` hex digits).
fn is_guid(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The placeholders of a text, as written between `{{` and `}}` (trimmed), in order.
fn placeholders(text: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = text[from..].find("{{").map(|i| i + from) {
        let Some(close) = text[open + 2..].find("}}").map(|i| i + open + 2) else {
            break;
        };
        out.push((open, close + 2, text[open + 2..close].trim().to_owned()));
        from = close + 2;
    }
    out
}

/// Checks one template: a subject, and only known placeholders.
pub(crate) fn check_template(
    stage: MailStage,
    template: &MailTemplate,
) -> std::result::Result<(), String> {
    let mut problems = Vec::new();
    if template.subject.trim().is_empty() {
        problems.push(format!(
            "The subject of the \"{}\" email is empty; write a subject.",
            stage.as_str()
        ));
    }
    let mut unknown: Vec<String> = Vec::new();
    for (_, _, name) in placeholders(&template.subject)
        .into_iter()
        .chain(placeholders(&template.body))
    {
        if !PLACEHOLDERS.contains(&name.as_str()) && !unknown.contains(&name) {
            unknown.push(name);
        }
    }
    if !unknown.is_empty() {
        let named: Vec<String> = unknown.iter().map(|n| format!("{{{{{n}}}}}")).collect();
        let valid: Vec<String> = PLACEHOLDERS
            .iter()
            .map(|n| format!("{{{{{n}}}}}"))
            .collect();
        problems.push(format!(
            "The \"{}\" email uses the unknown placeholder{} {}. The placeholders are: {}.",
            stage.as_str(),
            if unknown.len() == 1 { "" } else { "s" },
            named.join(", "),
            valid.join(" ")
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join(" "))
    }
}

/// A delay in words: "30 days", "90 minutes", "1 hour", "45 seconds".
pub fn delay_words(secs: u64) -> String {
    let (n, unit) = if secs > 0 && secs.is_multiple_of(86_400) {
        (secs / 86_400, "day")
    } else if secs > 0 && secs.is_multiple_of(3_600) {
        (secs / 3_600, "hour")
    } else if secs > 0 && secs.is_multiple_of(60) {
        (secs / 60, "minute")
    } else {
        (secs, "second")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// A time as the emails show it: `2026-11-23 14:05 UTC`.
pub fn mail_time(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// The profile's lifecycle settings: as saved, or the defaults when never saved.
pub(crate) async fn load_settings(
    engine: &Engine,
    profile: &ProfileRecord,
) -> Result<LifecycleSettings> {
    let id = profile.id;
    let Some(json) = engine.db(move |store| store.lifecycle_settings(id)).await? else {
        return Ok(LifecycleSettings::defaults());
    };
    serde_json::from_str(&json).map_err(|e| {
        Error::invalid(format!(
            "The saved lifecycle settings of profile \"{}\" cannot be read ({e}). Save the lifecycle \
             settings again (`okta365 lifecycle settings`) to replace them.",
            profile.name
        ))
    })
}

/// An Okta user's manager, with an address to email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Manager {
    /// The manager's Okta user id.
    pub okta_user_id: String,
    /// The manager's email.
    pub email: String,
    /// The manager's name (display name, else "first last", else the login).
    pub display_name: String,
    /// The manager's first name.
    pub first_name: Option<String>,
}

fn text(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// A user's name in words: the display name, else "first last", else the login.
pub(crate) fn display_name(user: &User) -> String {
    if let Some(name) = text(&user.profile.display_name) {
        return name;
    }
    let name = [
        text(&user.profile.first_name),
        text(&user.profile.last_name),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    if name.is_empty() {
        user.profile.login.clone()
    } else {
        name
    }
}

/// The manager of an Okta user: `profile.managerId` (an Okta user id or login) read with
/// `GET /api/v1/users/{managerId}`. `Ok(Err(problem))`: nobody can be emailed, in plain words; `Err`:
/// Okta could not be read.
pub(crate) async fn manager_of(
    okta: &OktaClient,
    user: &User,
) -> Result<std::result::Result<Manager, String>> {
    let Some(manager_id) = text(&user.profile.manager_id) else {
        return Ok(Err(
            "No manager in Okta (managerId is empty): nobody is emailed".to_owned(),
        ));
    };
    let manager = match okta.users().get(&manager_id).await {
        Ok(m) => m,
        Err(e) if e.status() == Some(404) => {
            return Ok(Err(format!(
                "The manager in Okta (managerId \"{manager_id}\") is not an Okta user: nobody is emailed"
            )));
        }
        Err(e) => {
            return Err(okta_error(
                &format!(
                    "Reading the manager \"{manager_id}\" of {}",
                    user.profile.login
                ),
                e,
                "okta.users.read",
            ));
        }
    };
    let name = display_name(&manager);
    let Some(email) = text(&manager.profile.email) else {
        return Ok(Err(format!(
            "The manager {name} has no email in Okta: nobody is emailed"
        )));
    };
    Ok(Ok(Manager {
        okta_user_id: manager.id.as_str().to_owned(),
        email,
        display_name: name,
        first_name: text(&manager.profile.first_name),
    }))
}

/// The values a manager email is rendered with.
#[derive(Debug, Clone)]
pub(crate) struct MailValues {
    /// The Okta user the email is about.
    pub user: User,
    /// The user's manager, when there is one.
    pub manager: Option<Manager>,
    /// Which email.
    pub stage: MailStage,
    /// When the account was disabled.
    pub disabled_at: Option<Timestamp>,
    /// When the licenses are (or were to be) removed.
    pub due_at: Option<Timestamp>,
    /// When the licenses were removed.
    pub licenses_removed_at: Option<Timestamp>,
    /// When the account was enabled again.
    pub activated_at: Option<Timestamp>,
    /// The licenses, by friendly name.
    pub licenses: Vec<String>,
    /// The settings' delay.
    pub delay_secs: u64,
}

/// The stage in words, for `{{stage}}`.
fn stage_words(stage: MailStage) -> &'static str {
    match stage {
        MailStage::Disabled => "account disabled",
        MailStage::LicensesRemoved => "licenses removed",
        MailStage::Activated => "account enabled again",
    }
}

fn value_of(name: &str, values: &MailValues) -> Option<String> {
    let user = &values.user.profile;
    let time = |t: Option<Timestamp>| t.map(mail_time).unwrap_or_default();
    Some(match name {
        "user.displayName" => display_name(&values.user),
        "user.firstName" => text(&user.first_name).unwrap_or_else(|| display_name(&values.user)),
        "user.lastName" => text(&user.last_name).unwrap_or_default(),
        "user.email" => text(&user.email).unwrap_or_default(),
        "user.login" => user.login.clone(),
        "manager.displayName" => values
            .manager
            .as_ref()
            .map(|m| m.display_name.clone())
            .unwrap_or_default(),
        "manager.firstName" => values
            .manager
            .as_ref()
            .map(|m| {
                m.first_name
                    .clone()
                    .unwrap_or_else(|| m.display_name.clone())
            })
            .unwrap_or_default(),
        "manager.email" => values
            .manager
            .as_ref()
            .map(|m| m.email.clone())
            .unwrap_or_default(),
        "stage" => stage_words(values.stage).to_owned(),
        "disabledAt" => time(values.disabled_at),
        "dueAt" => time(values.due_at),
        "licensesRemovedAt" => time(values.licenses_removed_at),
        "activatedAt" => time(values.activated_at),
        "licenses" => {
            if values.licenses.is_empty() {
                "none".to_owned()
            } else {
                values.licenses.join(", ")
            }
        }
        "delay" => delay_words(values.delay_secs),
        _ => return None,
    })
}

fn render_text(template: &str, values: &MailValues) -> String {
    let mut out = String::with_capacity(template.len());
    let mut last = 0;
    for (start, end, name) in placeholders(template) {
        out.push_str(&template[last..start]);
        match value_of(&name, values) {
            Some(v) => out.push_str(&v),
            // Unknown placeholders are refused on save; an unsaved one is left as written.
            None => out.push_str(&template[start..end]),
        }
        last = end;
    }
    out.push_str(&template[last..]);
    out
}

/// Renders a template: (subject, body). The subject is one line.
pub(crate) fn render(template: &MailTemplate, values: &MailValues) -> (String, String) {
    let subject = render_text(&template.subject, values)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (subject, render_text(&template.body, values))
}

/// The friendly names of the SKUs a role is licensed with (product name, else part number).
async fn mapped_license_names(engine: &Engine, profile: &ProfileRecord) -> Result<Vec<String>> {
    let view = engine.licenses_view(profile.id).await?;
    Ok(view
        .assignments
        .iter()
        .filter(|a| a.role == GroupRole::Assignments)
        .map(|a| {
            crate::setup::licenses::find_license(&view.licenses, &a.sku_id)
                .map(|l| {
                    l.product_name
                        .clone()
                        .unwrap_or_else(|| l.sku_part_number.clone())
                })
                .unwrap_or_else(|| a.sku_id.clone())
        })
        .collect())
}

impl Engine {
    /// The profile's lifecycle settings: as saved, or the defaults (30 days, revoke sessions, no
    /// sender, the default templates).
    #[instrument(skip(self), err)]
    pub async fn lifecycle_settings(&self, profile_id: &str) -> Result<LifecycleSettings> {
        let record = self.find(profile_id).await?;
        load_settings(self, &record).await
    }

    /// Validates and saves the profile's lifecycle settings; returns them as saved.
    #[instrument(skip(self, settings), err)]
    pub async fn set_lifecycle_settings(
        &self,
        profile_id: &str,
        settings: LifecycleSettings,
    ) -> Result<LifecycleSettings> {
        let record = self.find(profile_id).await?;
        let settings = settings.normalized()?;
        let json = serde_json::to_string(&settings).expect("settings serialize");
        let id = record.id;
        let saved = self
            .db(move |store| store.set_lifecycle_settings(id, &json))
            .await?;
        if !saved {
            return Err(Error::ProfileNotFound {
                query: profile_id.to_owned(),
            });
        }
        tracing::info!(profile_id = %id, "saved the lifecycle settings");
        Ok(settings)
    }

    /// Renders the manager email of a stage for one Okta user (the first member of the assignments
    /// group when none is given), with the saved template or an unsaved one. Sends nothing; `problem`
    /// says why the email would not be sent.
    #[instrument(skip(self, req), err)]
    pub async fn preview_manager_email(&self, req: MailPreviewRequest) -> Result<MailPreview> {
        let record = self.find(&req.profile_id).await?;
        let settings = load_settings(self, &record).await?;
        let template = match req.template {
            Some(t) => t,
            None => settings.templates.of(req.stage).clone(),
        };
        check_template(req.stage, &template).map_err(Error::invalid)?;
        let okta = self.okta_client(&record, OKTA_READ_SCOPES).await?;
        let user = match req
            .okta_user_id
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        {
            Some(id) => match okta.users().get(id).await {
                Ok(u) => u,
                Err(e) if e.status() == Some(404) => {
                    return Err(Error::invalid(format!(
                        "No Okta user has the login or id \"{id}\". Check the spelling (logins are usually \
                         email addresses)."
                    )));
                }
                Err(e) => {
                    return Err(okta_error(
                        &format!("Reading the Okta user \"{id}\""),
                        e,
                        "okta.users.read",
                    ));
                }
            },
            None => settings::group_members(self, &record, &okta, GroupRole::Assignments)
                .await?
                .into_iter()
                .next()
                .ok_or_else(|| {
                    Error::invalid(
                        "The assignments group has no members to preview the email with; name an Okta \
                         user, or add one to the group.",
                    )
                })?,
        };
        let manager = manager_of(&okta, &user).await?;
        let id = record.id;
        let okta_user_id = user.id.as_str().to_owned();
        let snapshot = self
            .db(move |store| store.snapshot(id, &okta_user_id))
            .await?;
        let licenses = match snapshot
            .and_then(|s| serde_json::from_str::<Vec<serde_json::Value>>(&s.licenses).ok())
            .filter(|l| !l.is_empty())
        {
            Some(list) => {
                let view = self.licenses_view(record.id).await?;
                list.iter()
                    .filter_map(|l| {
                        let sku = l.get("skuId").and_then(|v| v.as_str())?;
                        let part = l.get("skuPartNumber").and_then(|v| v.as_str());
                        Some(
                            crate::setup::licenses::find_license(&view.licenses, sku)
                                .and_then(|x| x.product_name.clone())
                                .or_else(|| {
                                    part.and_then(okta365_graph::product_name)
                                        .map(str::to_owned)
                                })
                                .or_else(|| part.map(str::to_owned))
                                .unwrap_or_else(|| sku.to_owned()),
                        )
                    })
                    .collect()
            }
            None => mapped_license_names(self, &record).await?,
        };
        let now = self
            .tenant_now(&record)
            .await
            .unwrap_or_else(|_| Timestamp::now());
        let later = |secs: u64| {
            now.checked_add(jiff::SignedDuration::from_secs(
                i64::try_from(secs).unwrap_or(i64::MAX / 2),
            ))
            .unwrap_or(now)
        };
        let (disabled_at, due_at, removed_at, activated_at) = match req.stage {
            MailStage::Disabled => (Some(now), Some(later(settings.delay_secs)), None, None),
            MailStage::LicensesRemoved => {
                let disabled = now
                    .checked_sub(jiff::SignedDuration::from_secs(
                        i64::try_from(settings.delay_secs).unwrap_or(0),
                    ))
                    .ok();
                (disabled, Some(now), Some(now), None)
            }
            MailStage::Activated => (None, None, None, Some(now)),
        };
        let mut problems = Vec::new();
        let (to, manager) = match manager {
            Ok(m) => (Some(m.email.clone()), Some(m)),
            Err(problem) => {
                problems.push(format!("{problem}."));
                (None, None)
            }
        };
        if settings.sender_mailbox.is_none() {
            problems.push(
                "No sender mailbox is set: no manager email is sent. Set one in the lifecycle settings."
                    .to_owned(),
            );
        }
        if !record
            .operations
            .iter()
            .any(|o| o == OperationId::ManagerEmail.as_str())
        {
            problems.push(
                "The operation \"Manager emails\" is not enabled on this profile: no manager email is sent."
                    .to_owned(),
            );
        }
        let values = MailValues {
            user,
            manager,
            stage: req.stage,
            disabled_at,
            due_at,
            licenses_removed_at: removed_at,
            activated_at,
            licenses,
            delay_secs: settings.delay_secs,
        };
        let (subject, body) = render(&template, &values);
        Ok(MailPreview {
            to,
            from: settings.sender_mailbox.clone(),
            subject,
            body,
            problem: (!problems.is_empty()).then(|| problems.join(" ")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_read_in_the_largest_whole_unit() {
        assert_eq!(delay_words(2_592_000), "30 days");
        assert_eq!(delay_words(86_400), "1 day");
        assert_eq!(delay_words(5_400), "90 minutes");
        assert_eq!(delay_words(7_200), "2 hours");
        assert_eq!(delay_words(61), "61 seconds");
    }

    #[test]
    fn senders_are_addresses_or_guids() {
        assert!(is_address("it@contoso.example"));
        assert!(is_guid("6f1c4b8e-2a3d-4c5e-9f70-1a2b3c4d5e6f"));
        for bad in [
            "it",
            "it@",
            "@contoso.example",
            "it@contoso",
            "a b@c.d",
            "6f1c4b8e",
        ] {
            assert!(!is_address(bad) && !is_guid(bad), "{bad}");
        }
    }

    #[test]
    fn the_defaults_are_valid_and_use_known_placeholders_only() {
        let s = LifecycleSettings::defaults().normalized().unwrap();
        assert_eq!(s.delay_secs, 2_592_000);
        assert!(s.templates.disabled.body.contains("{{dueAt}}"));
    }
}
