//! What the CLI prints on stdout: JSON with `--json`, text otherwise.

use okta365_engine::{
    AppInfo, CheckStatus, ConnectionTarget, ConnectionTest, CredentialInfo, GeneratedKey, Profile,
    ProfileKind, SandboxUrls,
};
use okta365_sandbox::DemoCredentials;
use serde::Serialize;

fn print_json(value: &impl Serialize) {
    // Serializing our own DTOs cannot fail.
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("DTOs serialize")
    );
}

/// `okta365 info`.
pub fn info(json: bool, info: &AppInfo) {
    if json {
        return print_json(info);
    }
    println!("version:        {}", info.version);
    println!(
        "build:          {}",
        serde_json::to_value(info.build_kind)
            .unwrap()
            .as_str()
            .unwrap_or_default()
    );
    println!("data dir:       {}", info.data_dir);
    println!("log dir:        {}", info.log_dir);
    println!(
        "active profile: {}",
        info.active_profile_id.as_deref().unwrap_or("(none)")
    );
}

fn kind(profile: &Profile) -> &'static str {
    match (profile.kind, profile.embedded_sandbox) {
        (ProfileKind::Sandbox, true) => "sandbox (this data dir's)",
        (ProfileKind::Sandbox, false) => "sandbox",
        (ProfileKind::Tenant, _) => "tenant",
    }
}

/// One profile, as a JSON object or `key: value` lines.
pub fn profile(json: bool, profile: &Profile, active_id: Option<&str>) {
    if json {
        return print_json(profile);
    }
    let active = active_id == Some(profile.id.as_str());
    println!(
        "name:            {}{}",
        profile.name,
        if active { " (active)" } else { "" }
    );
    println!("id:              {}", profile.id);
    println!("kind:            {}", kind(profile));
    println!("okta org url:    {}", profile.okta_org_url);
    println!("entra login url: {}", profile.entra_login_url);
    println!("graph url:       {}", profile.graph_url);
    println!(
        "ms tenant:       {}",
        profile.ms_tenant.as_deref().unwrap_or("(not set)")
    );
    println!(
        "ms client id:    {}",
        profile.ms_client_id.as_deref().unwrap_or("(not set)")
    );
    if let Some(ms) = &profile.microsoft {
        println!(
            "ms credential:   {}",
            match ms.credential_kind {
                Some(okta365_engine::MicrosoftCredentialKind::Secret) => "client secret",
                Some(okta365_engine::MicrosoftCredentialKind::Certificate) => "certificate",
                None => "(none stored)",
            }
        );
    }
    println!(
        "okta auth:       {}",
        match profile.okta.auth {
            Some(okta365_engine::OktaAuthKind::ApiToken) => "API token".to_owned(),
            Some(okta365_engine::OktaAuthKind::ServiceApp) => format!(
                "API service app {}{}",
                profile.okta.client_id.as_deref().unwrap_or("?"),
                profile
                    .okta
                    .key_id
                    .as_deref()
                    .map(|k| format!(" (key {k})"))
                    .unwrap_or_default()
            ),
            None => "(not set)".to_owned(),
        }
    );
    if let Some(source) = &profile.okta.identity_source_id {
        println!("identity source: {source}");
    }
    let operations: Vec<&str> = profile.operations.iter().map(|o| o.as_str()).collect();
    println!(
        "operations:      {}",
        if operations.is_empty() {
            "(none)".to_owned()
        } else {
            operations.join(", ")
        }
    );
    println!("wizard step:     {}", profile.wizard_step);
    println!("created:         {}", profile.created_at);
}

/// `okta365 connect okta`: the profile saved and, with --generate-key, the public JWK to paste.
pub fn okta_saved(json: bool, profile: Option<&Profile>, key: Option<&GeneratedKey>) {
    if json {
        return print_json(&serde_json::json!({ "profile": profile, "generatedKey": key }));
    }
    if let Some(profile) = profile {
        self::profile(false, profile, Some(&profile.id));
    }
    if let Some(key) = key {
        println!();
        println!(
            "Generated a key pair (key id {}); the private key is in the OS keychain.",
            key.key_id
        );
        println!(
            "In the Okta Admin Console, open the API service app → General → Client Credentials → \
             Public keys → Add key, and paste this public JWK:"
        );
        println!("{}", key.public_jwk);
    }
}

/// `okta365 connect test`: every check with ✓/✗, its detail, fix and link.
pub fn connection_tests(json: bool, tests: &[ConnectionTest]) {
    if json {
        return print_json(&tests);
    }
    for (i, test) in tests.iter().enumerate() {
        if i > 0 {
            println!();
        }
        let target = match test.target {
            ConnectionTarget::Microsoft => "Microsoft",
            ConnectionTarget::Okta => "Okta",
        };
        println!(
            "{target}: {}",
            if test.ok {
                "connected"
            } else {
                "a check failed"
            }
        );
        for step in &test.steps {
            let mark = match step.status {
                CheckStatus::Ok => "✓",
                CheckStatus::Failed => "✗",
                CheckStatus::Warning => "!",
                CheckStatus::Skipped => "-",
            };
            println!("  {mark} {} [{}]", step.label, step.id);
            if let Some(detail) = &step.detail {
                println!("      {detail}");
            }
            if let Some(fix) = &step.fix {
                println!("      fix: {fix}");
            }
            if let Some(link) = &step.link {
                println!("      {link}");
            }
        }
    }
}

/// `okta365 credentials list`: a table (never a value).
pub fn credentials(json: bool, list: &[CredentialInfo]) {
    if json {
        return print_json(&list);
    }
    if list.is_empty() {
        println!("No credentials are stored.");
        return;
    }
    let day = |t: &str| t.get(..10).unwrap_or(t).to_owned();
    let rows: Vec<[String; 6]> = list
        .iter()
        .map(|c| {
            [
                c.profile_name.clone(),
                c.kind.as_str().to_owned(),
                c.hint
                    .clone()
                    .map(|h| format!("••••{h}"))
                    .unwrap_or_default(),
                day(&c.created_at),
                c.last_used_at.as_deref().map(day).unwrap_or("never".into()),
                match (&c.expires_at, c.days_left) {
                    (Some(at), Some(days)) => format!(
                        "{} ({days} days){}",
                        day(at),
                        if c.expiry_warning { " !" } else { "" }
                    ),
                    _ => "unknown".into(),
                },
            ]
        })
        .collect();
    let header = ["PROFILE", "KIND", "HINT", "CREATED", "LAST USED", "EXPIRES"].map(String::from);
    let mut widths = [0usize; 6];
    for row in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
}

/// Every profile, as a JSON array or a table.
pub fn profiles(json: bool, profiles: &[Profile], active_id: Option<&str>) {
    if json {
        return print_json(&profiles);
    }
    if profiles.is_empty() {
        println!("No profiles yet. Create one with `okta365 profile add-sandbox`.");
        return;
    }
    let rows: Vec<[String; 6]> = profiles
        .iter()
        .map(|p| {
            [
                if active_id == Some(p.id.as_str()) {
                    "*".into()
                } else {
                    String::new()
                },
                p.name.clone(),
                kind(p).into(),
                p.okta_org_url.clone(),
                p.wizard_step.to_string(),
                p.id.clone(),
            ]
        })
        .collect();
    let header = ["", "NAME", "KIND", "OKTA ORG URL", "STEP", "ID"].map(String::from);
    let mut widths = [0usize; 6];
    for row in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
}

/// `okta365 profile remove`.
pub fn removed(json: bool, profile: &Profile) {
    if json {
        return print_json(
            &serde_json::json!({ "removed": { "id": profile.id, "name": profile.name } }),
        );
    }
    println!(
        "Removed profile \"{}\" ({}) and its secrets in the OS keychain.",
        profile.name, profile.id
    );
}

/// A confirmation for commands that return no data.
pub fn done(json: bool, message: &str) {
    if json {
        return print_json(&serde_json::json!({ "ok": true, "message": message }));
    }
    println!("{message}");
}

/// The one JSON line of `okta365 sandbox serve` (snake_case keys, on one line so scripts can read it).
#[derive(Serialize)]
struct Serving<'a> {
    okta_org_url: &'a str,
    entra_login_url: &'a str,
    graph_url: &'a str,
    control_url: String,
    okta_api_token: &'a str,
    entra_tenant_id: &'a str,
    entra_tenant_domain: &'a str,
    entra_client_id: &'a str,
    entra_client_secret: &'a str,
}

/// Prints the serve line and flushes stdout so a parent process reading it sees it at once.
pub fn serving(urls: &SandboxUrls, demo: &DemoCredentials) {
    use std::io::Write;
    let line = Serving {
        okta_org_url: urls.okta_org.as_str(),
        entra_login_url: urls.entra_login.as_str(),
        graph_url: urls.graph.as_str(),
        control_url: format!("{}_sandbox/", urls.base),
        okta_api_token: &demo.okta_api_token,
        entra_tenant_id: &demo.entra_tenant_id,
        entra_tenant_domain: &demo.entra_tenant_domain,
        entra_client_id: &demo.entra_client_id,
        entra_client_secret: &demo.entra_client_secret,
    };
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(
        stdout,
        "{}",
        serde_json::to_string(&line).expect("strings serialize")
    );
    let _ = stdout.flush();
}
