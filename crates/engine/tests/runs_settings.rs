//! Provisioning settings and the username preview against a real sandbox tenant on loopback, the real
//! OS keychain and a real SQLite file: defaults from the tenant's live default domain, the round trip
//! through the store (also across an engine restart), validation messages, and the preview naming a
//! domain the tenant has not verified and two Okta users on one sign-in name. Run inside a D-Bus session
//! with an unlocked gnome-keyring, as `scripts/test` does.

mod setup_common;

use okta365_engine::{
    AttributeMapping, Engine, ErrorCode, GuestRemoval, Paths, ProvisioningSettings, UsernameFormat,
};
use serde_json::json;
use setup_common::Env;

const ASSIGNMENTS: &str = "00gGRqfkJbifL01lbl0b";
const VERIFIED: [&str; 3] = [
    "contoso.example",
    "contoso-sandbox.onmicrosoft.com",
    "fabrikam.example",
];

fn local_part(domain: &str) -> UsernameFormat {
    UsernameFormat::EmailLocalPart {
        domain: domain.into(),
    }
}

#[tokio::test]
async fn defaults_follow_the_tenant_and_saved_settings_round_trip() {
    let env = Env::new().await;
    let defaults = env
        .engine
        .provisioning_settings(&env.profile.id)
        .await
        .unwrap();
    assert_eq!(
        defaults,
        ProvisioningSettings::defaults("contoso.example"),
        "never saved: the contract's defaults with the tenant's default verified domain"
    );
    assert_eq!(defaults.attributes.len(), 9);
    assert_eq!(defaults.guest_redirect_url, "https://myapps.microsoft.com");

    let mut wanted = defaults.clone();
    wanted.username = local_part(" Fabrikam.EXAMPLE ");
    wanted.attributes.push(AttributeMapping {
        okta: "employeeNumber".into(),
        graph: "employeeid".into(),
    });
    wanted.guest_send_invitation = false;
    wanted.guest_removal = GuestRemoval::DisableThenDelete;
    wanted.guard_max_users = 3;
    wanted.guard_max_percent = 20;
    wanted.poll_interval_secs = 30;
    wanted.reconcile_every_mins = Some(60);
    let saved = env
        .engine
        .set_provisioning_settings(&env.profile.id, wanted)
        .await
        .unwrap();
    assert_eq!(
        saved.username,
        local_part("fabrikam.example"),
        "the domain is trimmed and lower-cased"
    );
    assert_eq!(
        saved.attributes.last().unwrap().graph,
        "employeeId",
        "Graph's spelling of the property"
    );
    assert_eq!(
        env.engine
            .provisioning_settings(&env.profile.name)
            .await
            .unwrap(),
        saved,
        "read back by name"
    );

    // A new engine on the same data dir (the CLI, or the app after a restart) reads the same settings,
    // without the network: the sandbox is gone.
    let Env {
        dir,
        engine,
        sandbox,
        profile,
        ..
    } = env;
    sandbox.shutdown().await;
    drop(engine);
    let again = Engine::open(Paths::at(dir.path())).await.unwrap();
    assert_eq!(
        again.provisioning_settings(&profile.id).await.unwrap(),
        saved
    );
}

#[tokio::test]
async fn invalid_settings_are_refused_with_what_to_fix_and_nothing_is_saved() {
    let env = Env::new().await;
    let id = env.profile.id.clone();
    let base = env.engine.provisioning_settings(&id).await.unwrap();

    let mut s = base.clone();
    s.attributes.push(AttributeMapping {
        okta: "manager".into(),
        graph: "managerName".into(),
    });
    s.poll_interval_secs = 5;
    s.guard_max_percent = 200;
    let e = env
        .engine
        .set_provisioning_settings(&id, s)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    let m = e.to_string();
    for part in [
        "Unknown Graph property \"managerName\"",
        "jobTitle",
        "between 10 and 3600 seconds",
        "between 0 and 100",
    ] {
        assert!(m.contains(part), "the message names {part:?}: {m}");
    }

    let mut s = base.clone();
    s.username = local_part("corp.example");
    let m = env
        .engine
        .set_provisioning_settings(&id, s)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        m.contains("corp.example is not a verified domain"),
        "the domain is checked live: {m}"
    );
    for d in VERIFIED {
        assert!(m.contains(d), "the verified domain {d} is named: {m}");
    }

    assert_eq!(
        env.engine.provisioning_settings(&id).await.unwrap(),
        base,
        "refused settings leave the defaults"
    );
    let e = env
        .engine
        .provisioning_settings("no such profile")
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
}

#[tokio::test]
async fn the_preview_names_unverified_domains_and_collisions() {
    let env = Env::new().await;
    let id = env.profile.id.clone();

    // The Okta logins are in corp.example, which the tenant has not verified.
    let preview = env
        .engine
        .preview_usernames(&id, UsernameFormat::OktaLogin)
        .await
        .unwrap();
    assert_eq!(preview.domains, VERIFIED, "default domain first");
    assert_eq!(
        preview.rows.len(),
        40,
        "every member of the group (under 50)"
    );
    for row in &preview.rows {
        assert_eq!(row.upn.as_deref(), Some(row.login.as_str()));
        assert!(!row.verified_domain, "{} is not verified", row.login);
        let problem = row.problem.as_deref().unwrap_or_default();
        assert!(
            problem.contains("corp.example is not a verified domain")
                && problem.contains("contoso.example, contoso-sandbox.onmicrosoft.com"),
            "the problem names the domain and the verified ones: {problem}"
        );
    }

    // A second Okta user whose email maps to marcus.thompson@contoso.example as well.
    let twin = env
        .okta(
            reqwest::Method::POST,
            "api/v1/users?activate=true",
            Some(json!({
                "profile": {
                    "login": "m.thompson@partner.example",
                    "email": "Marcus.Thompson+ops@partner.example",
                    "firstName": "Marcus", "lastName": "Thompson"
                },
                "groupIds": [ASSIGNMENTS]
            })),
        )
        .await;
    let twin_id = twin["id"].as_str().unwrap().to_owned();
    let preview = env
        .engine
        .preview_usernames(&id, local_part("contoso.example"))
        .await
        .unwrap();
    assert_eq!(preview.rows.len(), 41);
    let problems: Vec<_> = preview
        .rows
        .iter()
        .filter(|r| r.problem.is_some())
        .collect();
    assert_eq!(
        problems.len(),
        2,
        "exactly the two users on one sign-in name: {problems:#?}"
    );
    for row in &problems {
        assert_eq!(row.upn.as_deref(), Some("marcus.thompson@contoso.example"));
        assert!(row.verified_domain);
    }
    let twin_row = problems.iter().find(|r| r.okta_user_id == twin_id).unwrap();
    assert!(
        twin_row
            .problem
            .as_deref()
            .unwrap()
            .contains("marcus.thompson@corp.example"),
        "the twin's problem names the other login: {:?}",
        twin_row.problem
    );
    let ok = preview
        .rows
        .iter()
        .find(|r| r.login == "finn.novak@corp.example")
        .unwrap();
    assert_eq!(ok.upn.as_deref(), Some("finn.novak@contoso.example"));
    assert_eq!(ok.email, "finn.novak@corp.example");
    assert!(ok.verified_domain && ok.problem.is_none());

    // The preview writes nothing: the settings are still the defaults.
    assert_eq!(
        env.engine.provisioning_settings(&id).await.unwrap(),
        ProvisioningSettings::defaults("contoso.example")
    );
}
