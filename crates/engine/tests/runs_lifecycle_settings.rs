//! Lifecycle settings and manager emails against a real sandbox tenant on loopback, the real OS
//! keychain and a real SQLite file: the defaults, the round trip through the store, the validation
//! messages, every placeholder rendered, and the preview with and without a manager in Okta. Run inside
//! a D-Bus session with an unlocked gnome-keyring, as `scripts/test` does.

mod setup_common;

use okta365_engine::{ErrorCode, LifecycleSettings, MailPreviewRequest, MailStage, MailTemplate};
use setup_common::Env;

/// Isabella Singh, managed by Marcus Thompson.
const ISABELLA: &str = "00uvVcLmnVPr1nYuHcaj";
/// Marcus Thompson, who has no manager.
const MARCUS: &str = "00u7TWjsMmGyKyQJlbmW";

#[tokio::test]
async fn defaults_then_saved_settings_round_trip() {
    let env = Env::new().await;
    let id = env.profile.id.clone();
    let defaults = env.engine.lifecycle_settings(&id).await.unwrap();
    assert_eq!(defaults.delay_secs, 2_592_000, "30 days by default");
    assert!(defaults.revoke_sessions);
    assert_eq!(defaults.sender_mailbox, None, "no sender: no emails");
    assert!(
        defaults
            .templates
            .disabled
            .subject
            .contains("{{user.displayName}}")
            && defaults.templates.disabled.body.contains("{{dueAt}}")
            && defaults.templates.disabled.body.contains("{{licenses}}"),
        "the disabled email names the user, the licenses and the due date: {:?}",
        defaults.templates.disabled
    );

    let mut wanted = defaults.clone();
    wanted.delay_secs = 400 * 86_400;
    wanted.revoke_sessions = false;
    wanted.sender_mailbox = Some("  it-notices@contoso.example ".into());
    wanted.templates.activated.subject = "  {{user.login}} is back  ".into();
    let saved = env
        .engine
        .set_lifecycle_settings(&id, wanted)
        .await
        .unwrap();
    assert_eq!(saved.delay_secs, 400 * 86_400, "400 days is accepted");
    assert_eq!(
        saved.sender_mailbox.as_deref(),
        Some("it-notices@contoso.example"),
        "trimmed"
    );
    assert_eq!(saved.templates.activated.subject, "{{user.login}} is back");
    assert_eq!(
        env.engine
            .lifecycle_settings(&env.profile.name)
            .await
            .unwrap(),
        saved,
        "read back by name"
    );
    let stored = env
        .store()
        .lifecycle_settings(id.parse().unwrap())
        .unwrap()
        .expect("saved in SQLite");
    assert!(stored.contains("\"delaySecs\":34560000"), "{stored}");

    // A GUID sender is accepted too.
    let mut guid = saved.clone();
    guid.sender_mailbox = Some("6f1c4b8e-2a3d-4c5e-9f70-1a2b3c4d5e6f".into());
    env.engine.set_lifecycle_settings(&id, guid).await.unwrap();
}

#[tokio::test]
async fn invalid_settings_are_refused_with_what_to_fix_and_nothing_is_saved() {
    let env = Env::new().await;
    let id = env.profile.id.clone();
    let base = LifecycleSettings::defaults();

    let mut s = base.clone();
    s.templates.disabled.body = "Hello {{manager.nickname}}, {{user.displayName}} left.".into();
    let e = env.engine.set_lifecycle_settings(&id, s).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    let m = e.to_string();
    assert!(
        m.contains("{{manager.nickname}}") && m.contains("\"disabled\""),
        "names the unknown placeholder and the email: {m}"
    );
    for valid in [
        "{{user.displayName}}",
        "{{manager.email}}",
        "{{dueAt}}",
        "{{delay}}",
    ] {
        assert!(
            m.contains(valid),
            "lists the valid placeholders ({valid}): {m}"
        );
    }

    let mut s = base.clone();
    s.delay_secs = 0;
    let m = env
        .engine
        .set_lifecycle_settings(&id, s)
        .await
        .unwrap_err()
        .to_string();
    assert!(m.contains("at least 1 second"), "{m}");

    let mut s = base.clone();
    s.delay_secs = 10 * 365 * 86_400 + 1;
    let m = env
        .engine
        .set_lifecycle_settings(&id, s)
        .await
        .unwrap_err()
        .to_string();
    assert!(m.contains("maximum of 10 years"), "{m}");
    let mut s = base.clone();
    s.delay_secs = 10 * 365 * 86_400;
    env.engine
        .set_lifecycle_settings(&id, s)
        .await
        .expect("exactly 10 years is allowed");

    let mut s = base.clone();
    s.sender_mailbox = Some("it-notices".into());
    s.templates.licenses_removed.subject = "   ".into();
    let m = env
        .engine
        .set_lifecycle_settings(&id, s)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        m.contains("\"it-notices\"") && m.contains("email address") && m.contains("GUID"),
        "{m}"
    );
    assert!(
        m.contains("subject of the \"licensesRemoved\" email is empty"),
        "every problem at once: {m}"
    );
    assert_eq!(
        env.engine.lifecycle_settings(&id).await.unwrap().delay_secs,
        10 * 365 * 86_400,
        "the refused settings saved nothing"
    );
}

fn every_placeholder() -> MailTemplate {
    MailTemplate {
        subject: "{{ user.displayName }} / {{stage}}".into(),
        body: [
            "dn={{user.displayName}}",
            "fn={{user.firstName}}",
            "ln={{user.lastName}}",
            "em={{user.email}}",
            "lg={{user.login}}",
            "mdn={{manager.displayName}}",
            "mfn={{manager.firstName}}",
            "mem={{manager.email}}",
            "st={{stage}}",
            "da={{disabledAt}}",
            "du={{dueAt}}",
            "lr={{licensesRemovedAt}}",
            "aa={{activatedAt}}",
            "li={{licenses}}",
            "de={{delay}}",
        ]
        .join("\n"),
    }
}

fn line<'a>(body: &'a str, key: &str) -> &'a str {
    body.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= line in {body}"))
}

#[tokio::test]
async fn every_placeholder_renders_and_the_preview_names_the_manager() {
    let env = Env::new().await;
    let id = env.profile.id.clone();
    let mut settings = LifecycleSettings::defaults();
    settings.sender_mailbox = Some("it-notices@contoso.example".into());
    settings.delay_secs = 400 * 86_400;
    env.engine
        .set_lifecycle_settings(&id, settings)
        .await
        .unwrap();

    let p = env
        .engine
        .preview_manager_email(MailPreviewRequest {
            profile_id: id.clone(),
            stage: MailStage::Disabled,
            okta_user_id: Some(ISABELLA.into()),
            template: Some(every_placeholder()),
        })
        .await
        .unwrap();
    assert_eq!(p.to.as_deref(), Some("marcus.thompson@corp.example"));
    assert_eq!(p.from.as_deref(), Some("it-notices@contoso.example"));
    assert_eq!(p.problem, None, "manager and sender: the email goes out");
    assert_eq!(p.subject, "Isabella Singh / account disabled");
    let b = &p.body;
    assert_eq!(line(b, "dn"), "Isabella Singh");
    assert_eq!(line(b, "fn"), "Isabella");
    assert_eq!(line(b, "ln"), "Singh");
    assert_eq!(line(b, "em"), "isabella.singh@corp.example");
    assert_eq!(line(b, "lg"), "isabella.singh@corp.example");
    assert_eq!(line(b, "mdn"), "Marcus Thompson");
    assert_eq!(line(b, "mfn"), "Marcus");
    assert_eq!(line(b, "mem"), "marcus.thompson@corp.example");
    assert_eq!(line(b, "st"), "account disabled");
    assert_eq!(line(b, "de"), "400 days");
    let date = |s: &str| {
        let ok = s.len() == 20
            && s.ends_with(" UTC")
            && jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M", &s[..16]).is_ok();
        assert!(ok, "a date as 2026-11-23 14:05 UTC, not {s:?}");
        jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M", &s[..16]).unwrap()
    };
    let disabled = date(line(b, "da"));
    let due = date(line(b, "du"));
    assert_eq!(
        disabled
            .to_zoned(jiff::tz::TimeZone::UTC)
            .unwrap()
            .timestamp()
            .as_second()
            + 400 * 86_400,
        due.to_zoned(jiff::tz::TimeZone::UTC)
            .unwrap()
            .timestamp()
            .as_second(),
        "due = disabled + the delay"
    );
    assert!(!line(b, "li").is_empty(), "licenses in words: {b}");
    assert!(!b.contains("{{"), "nothing left unrendered: {b}");

    // The saved template of another stage, for a user without a manager.
    let p = env
        .engine
        .preview_manager_email(MailPreviewRequest {
            profile_id: id.clone(),
            stage: MailStage::Activated,
            okta_user_id: Some(MARCUS.into()),
            template: None,
        })
        .await
        .unwrap();
    assert_eq!(p.to, None);
    assert_eq!(
        p.subject,
        "Marcus Thompson's Microsoft 365 account is active again"
    );
    assert!(
        p.problem
            .as_deref()
            .is_some_and(|m| m.contains("No manager in Okta (managerId is empty)")),
        "{:?}",
        p.problem
    );
    assert!(
        p.body.contains("marcus.thompson@corp.example"),
        "{}",
        p.body
    );

    // No sender: said so; an unknown placeholder in an unsaved edit is refused.
    env.engine
        .set_lifecycle_settings(&id, LifecycleSettings::defaults())
        .await
        .unwrap();
    let p = env
        .engine
        .preview_manager_email(MailPreviewRequest {
            profile_id: id.clone(),
            stage: MailStage::LicensesRemoved,
            okta_user_id: Some(ISABELLA.into()),
            template: None,
        })
        .await
        .unwrap();
    assert!(
        p.problem
            .as_deref()
            .is_some_and(|m| m.contains("No sender mailbox")),
        "{:?}",
        p.problem
    );
    let e = env
        .engine
        .preview_manager_email(MailPreviewRequest {
            profile_id: id.clone(),
            stage: MailStage::Disabled,
            okta_user_id: Some(ISABELLA.into()),
            template: Some(MailTemplate {
                subject: "Hi {{boss}}".into(),
                body: String::new(),
            }),
        })
        .await
        .unwrap_err();
    assert!(e.to_string().contains("{{boss}}"), "{e}");
    let e = env
        .engine
        .preview_manager_email(MailPreviewRequest {
            profile_id: id.clone(),
            stage: MailStage::Disabled,
            okta_user_id: Some("nobody@corp.example".into()),
            template: None,
        })
        .await
        .unwrap_err();
    assert!(e.to_string().contains("nobody@corp.example"), "{e}");
}

#[tokio::test]
async fn a_manager_given_by_login_or_missing_in_okta_is_handled() {
    let env = Env::new().await;
    let id = env.profile.id.clone();
    // managerId as a login.
    env.okta(
        reqwest::Method::POST,
        &format!("api/v1/users/{ISABELLA}"),
        Some(serde_json::json!({ "profile": { "managerId": "marcus.thompson@corp.example" } })),
    )
    .await;
    let p = env
        .engine
        .preview_manager_email(MailPreviewRequest {
            profile_id: id.clone(),
            stage: MailStage::Disabled,
            okta_user_id: Some(ISABELLA.into()),
            template: None,
        })
        .await
        .unwrap();
    assert_eq!(p.to.as_deref(), Some("marcus.thompson@corp.example"));
    assert!(p.body.contains("Marcus"), "{}", p.body);
    // A managerId that is nobody.
    env.okta(
        reqwest::Method::POST,
        &format!("api/v1/users/{ISABELLA}"),
        Some(serde_json::json!({ "profile": { "managerId": "00uNOBODYNOBODYNOBODY" } })),
    )
    .await;
    let p = env
        .engine
        .preview_manager_email(MailPreviewRequest {
            profile_id: id.clone(),
            stage: MailStage::Disabled,
            okta_user_id: Some(ISABELLA.into()),
            template: None,
        })
        .await
        .unwrap();
    assert_eq!(p.to, None);
    assert!(
        p.problem
            .as_deref()
            .is_some_and(|m| m.contains("00uNOBODYNOBODYNOBODY") && m.contains("nobody is emailed")),
        "{:?}",
        p.problem
    );
}
