//! Test connection: the checks of docs/connections.md, each a [`CheckStep`]. The clients own the vendor
//! error tables (AADSTS, Graph and Okta codes); this module turns their explanations into steps with a
//! detail, a fix and a link.

use jiff::Timestamp;
use okta365_graph::{
    APPLICATION_READ_ROLES, ClientCertificate, ClientId, EntraCredential, GraphClient, TenantId,
    TokenProvider,
};
use okta365_secrets::CredentialKind as SecretKind;
use okta365_store::ProfileRecord;
use tracing::instrument;
use url::Url;

use super::{
    EXPIRY_WARNING_DAYS, days_left, ms_credential_kind, operations,
    requirements::{either, missing_roles},
};
use crate::{
    dto::{
        CheckStatus, CheckStep, ConnectionTarget, ConnectionTest, MicrosoftCredentialKind,
        OperationId,
    },
    engine::Engine,
    error::{Error, Result},
    progress::{ProgressSink, Steps},
};

mod okta;

/// The Entra admin center page of an app registration, e.g. `CallAnAPI` (API permissions) or
/// `Credentials` (Certificates & secrets).
pub(crate) fn entra_app_page(page: &str, client_id: &str) -> String {
    format!(
        "https://entra.microsoft.com/#view/Microsoft_AAD_RegisteredApps/ApplicationMenuBlade/~/{page}/appId/{client_id}"
    )
}

const ENTRA_APP_LIST: &str =
    "https://entra.microsoft.com/#view/Microsoft_AAD_RegisteredApps/ApplicationsListBlade";

impl CheckStep {
    pub(crate) fn ok(id: impl Into<String>, label: impl Into<String>, detail: String) -> CheckStep {
        CheckStep {
            id: id.into(),
            label: label.into(),
            status: CheckStatus::Ok,
            detail: Some(detail),
            fix: None,
            link: None,
        }
    }

    pub(crate) fn failed(
        id: impl Into<String>,
        label: impl Into<String>,
        detail: String,
        fix: Option<String>,
        link: Option<String>,
    ) -> CheckStep {
        CheckStep {
            id: id.into(),
            label: label.into(),
            status: CheckStatus::Failed,
            detail: Some(detail),
            fix,
            link,
        }
    }

    pub(crate) fn skipped(
        id: impl Into<String>,
        label: impl Into<String>,
        detail: impl Into<String>,
    ) -> CheckStep {
        CheckStep {
            id: id.into(),
            label: label.into(),
            status: CheckStatus::Skipped,
            detail: Some(detail.into()),
            fix: None,
            link: None,
        }
    }

    fn with(mut self, status: CheckStatus) -> CheckStep {
        self.status = status;
        self
    }
}

/// The finished test: ok unless a check failed.
pub(crate) fn finish(target: ConnectionTarget, steps: Vec<CheckStep>) -> ConnectionTest {
    ConnectionTest {
        target,
        ok: steps.iter().all(|s| s.status != CheckStatus::Failed),
        steps,
        tested_at: Timestamp::now().to_string(),
    }
}

/// The operations whose Graph permissions Test connection checks (imports need none).
fn graph_operations(record: &ProfileRecord) -> Result<Vec<OperationId>> {
    Ok(operations(record)?
        .into_iter()
        .filter(|op| !super::requirements(*op).graph_roles.is_empty())
        .collect())
}

impl Engine {
    /// Tests a profile's Microsoft connection: `token` (a client-credentials token), `tenant`
    /// (`GET /organization`), `permissions:{operation}` per enabled operation (the token's roles
    /// against the requirement table), and `expiry` (the credential's end date, read from the app
    /// registration when the app may, and stored). Reports each check to `progress` (operation
    /// `test_microsoft`, one step per check). Fails only when the profile has nothing to test.
    #[instrument(skip(self, progress), err)]
    pub async fn test_microsoft(
        &self,
        profile_id: &str,
        progress: &dyn ProgressSink,
    ) -> Result<ConnectionTest> {
        self.resumed().await;
        let record = self.find(profile_id).await?;
        let (Some(tenant), Some(client_id)) =
            (record.ms_tenant.clone(), record.ms_client_id.clone())
        else {
            return Err(Error::invalid(format!(
                "Profile \"{}\" has no Microsoft connection yet. Save the tenant, the client id and a \
                 client secret or certificate first.",
                record.name
            )));
        };
        let Some(kind) = ms_credential_kind(&record)? else {
            return Err(Error::invalid(format!(
                "Profile \"{}\" has no client secret or certificate stored. Save one on the Microsoft \
                 step first.",
                record.name
            )));
        };
        let secret_kind = match kind {
            MicrosoftCredentialKind::Secret => SecretKind::EntraClientSecret,
            MicrosoftCredentialKind::Certificate => SecretKind::EntraClientCertificate,
        };
        let ops = graph_operations(&record)?;
        let mut steps = Steps::new(progress, "test_microsoft", 3 + ops.len() as u32);
        let mut done: Vec<CheckStep> = Vec::new();
        let skip_rest = |done: &mut Vec<CheckStep>, steps: &mut Steps<'_>, why: &str| {
            steps.start("tenant", "Reading the tenant");
            done.push(CheckStep::skipped("tenant", "Tenant", why));
            for op in &ops {
                let id = format!("permissions:{op}");
                steps.start(&id, format!("Checking the permissions for {}", op.label()));
                done.push(CheckStep::skipped(
                    id,
                    format!("Permissions for {}", op.label()),
                    why,
                ));
            }
            steps.start("expiry", "Checking the credential's end date");
            done.push(CheckStep::skipped("expiry", expiry_label(kind), why));
        };

        // token
        steps.start("token", "Signing in to Microsoft as the app");
        let id = record.id;
        let stored = self
            .db(move |store| store.credential(id, secret_kind.as_str()))
            .await?;
        let stored_expiry = stored.as_ref().and_then(|c| c.expires_at);
        let secret = match self
            .inner
            .keychain
            .get(&record.id.to_string(), secret_kind)
            .await
        {
            Ok(Some(secret)) => secret,
            Ok(None) => {
                done.push(CheckStep::failed(
                    "token",
                    "Sign-in",
                    format!("The {} is not in the OS keychain.", secret_kind.label()),
                    Some("Enter it again on the Microsoft step and save.".into()),
                    None,
                ));
                skip_rest(&mut done, &mut steps, "Skipped: there is no token.");
                steps.finish("Microsoft connection tested");
                return Ok(finish(ConnectionTarget::Microsoft, done));
            }
            Err(e) => return Err(e.into()),
        };
        let certificate = match kind {
            MicrosoftCredentialKind::Certificate => {
                match ClientCertificate::from_pem(secret.expose()) {
                    Ok(c) => Some(c),
                    Err(e) => {
                        done.push(CheckStep::failed(
                            "token",
                            "Sign-in",
                            format!("The stored certificate cannot be used: {e}"),
                            Some("Save the certificate again on the Microsoft step.".into()),
                            None,
                        ));
                        skip_rest(&mut done, &mut steps, "Skipped: there is no token.");
                        steps.finish("Microsoft connection tested");
                        return Ok(finish(ConnectionTarget::Microsoft, done));
                    }
                }
            }
            MicrosoftCredentialKind::Secret => None,
        };
        let credential = match &certificate {
            Some(c) => EntraCredential::Certificate(c.clone()),
            None => EntraCredential::ClientSecret(secret.clone()),
        };
        let graph = match self.graph_client(&record, &tenant, &client_id, credential) {
            Ok(graph) => graph.with_expiry(stored_expiry),
            Err(e) => {
                done.push(CheckStep::failed(
                    "token",
                    "Sign-in",
                    e,
                    Some("Correct the tenant, client id or URLs on the Microsoft step.".into()),
                    None,
                ));
                skip_rest(&mut done, &mut steps, "Skipped: there is no token.");
                steps.finish("Microsoft connection tested");
                return Ok(finish(ConnectionTarget::Microsoft, done));
            }
        };
        let claims = match graph.provider().token().await {
            Ok(token) => {
                let kind_str = secret_kind.as_str();
                self.db(move |store| store.touch_credential(id, kind_str))
                    .await?;
                done.push(CheckStep::ok(
                    "token",
                    "Sign-in",
                    format!(
                        "Signed in as app {client_id} with its {}.",
                        match kind {
                            MicrosoftCredentialKind::Secret => "client secret",
                            MicrosoftCredentialKind::Certificate => "certificate",
                        }
                    ),
                ));
                token.claims().clone()
            }
            Err(e) => {
                let explained = e.explanation();
                let link = match e.aadsts() {
                    Some(7000215 | 7000222 | 700027 | 7000218 | 7000112) => {
                        entra_app_page("Credentials", &client_id)
                    }
                    Some(700016 | 90002 | 90023) => ENTRA_APP_LIST.to_owned(),
                    Some(65001 | 500011) => entra_app_page("CallAnAPI", &client_id),
                    _ => entra_app_page("Overview", &client_id),
                };
                done.push(CheckStep::failed(
                    "token",
                    "Sign-in",
                    with_code(&explained.summary, explained.code.as_deref()),
                    explained.fix,
                    Some(link),
                ));
                skip_rest(&mut done, &mut steps, "Skipped: there is no token.");
                steps.finish("Microsoft connection tested");
                return Ok(finish(ConnectionTarget::Microsoft, done));
            }
        };

        // tenant
        steps.start("tenant", "Reading the tenant");
        done.push(match graph.organization().get().await {
            Ok(org) => {
                let domains: Vec<String> = org
                    .verified_domains
                    .iter()
                    .map(|d| {
                        if d.is_default {
                            format!("{} (default)", d.name)
                        } else {
                            d.name.clone()
                        }
                    })
                    .collect();
                CheckStep::ok(
                    "tenant",
                    "Tenant",
                    format!(
                        "{} — verified domains: {}.",
                        org.display_name.as_deref().unwrap_or(&org.id),
                        if domains.is_empty() {
                            "none".to_owned()
                        } else {
                            domains.join(", ")
                        }
                    ),
                )
            }
            Err(e) => {
                let explained = e.explanation();
                CheckStep::failed(
                    "tenant",
                    "Tenant",
                    with_code(&explained.summary, explained.code.as_deref()),
                    explained.fix,
                    Some(entra_app_page("CallAnAPI", &client_id)),
                )
            }
        });

        // permissions:{operation}
        for op in &ops {
            let id = format!("permissions:{op}");
            steps.start(&id, format!("Checking the permissions for {}", op.label()));
            done.push(permission_step(*op, &claims.roles, &client_id));
        }

        // expiry
        steps.start("expiry", "Checking the credential's end date");
        let can_read_app = APPLICATION_READ_ROLES.iter().any(|r| claims.has_role(r));
        let read = if can_read_app {
            let app_id = ClientId::parse(&client_id).map_err(|e| Error::invalid(e.to_string()))?;
            match graph.applications().by_app_id(&app_id).await {
                Ok(Some(app)) => {
                    let end = match &certificate {
                        Some(c) => app.certificate(c).map(|k| k.end_date_time),
                        None => app
                            .secrets_matching(secret.expose())
                            .first()
                            .map(|p| p.end_date_time),
                    };
                    match end {
                        Some(Some(end)) => ExpiryRead::Found(end),
                        Some(None) => ExpiryRead::NotFound(
                            "The app registration lists this credential without an end date."
                                .into(),
                        ),
                        None => ExpiryRead::NotFound(format!(
                            "The app registration does not list this {} (by its {}).",
                            match kind {
                                MicrosoftCredentialKind::Secret => "client secret",
                                MicrosoftCredentialKind::Certificate => "certificate",
                            },
                            match kind {
                                MicrosoftCredentialKind::Secret => "first 3 characters",
                                MicrosoftCredentialKind::Certificate => "thumbprint",
                            }
                        )),
                    }
                }
                Ok(None) => ExpiryRead::NotFound(format!(
                    "Microsoft Graph found no app registration with the client id {client_id}."
                )),
                Err(e) => ExpiryRead::NotFound(e.explanation().summary),
            }
        } else {
            ExpiryRead::NoRole
        };
        let now = Timestamp::now();
        let step = match read {
            ExpiryRead::Found(end) => {
                let kind_str = secret_kind.as_str();
                self.db(move |store| store.set_credential_expiry(id, kind_str, Some(end)))
                    .await?;
                expiry_step(kind, end, now, "read from the app registration", &client_id)
            }
            other => {
                let why = match other {
                    ExpiryRead::NotFound(why) => why,
                    _ => format!(
                        "okta365 cannot read the app registration (it has none of {}).",
                        APPLICATION_READ_ROLES.join(", ")
                    ),
                };
                match stored_expiry {
                    Some(end) => {
                        let source = match kind {
                            MicrosoftCredentialKind::Certificate => "from the certificate",
                            MicrosoftCredentialKind::Secret => "as entered",
                        };
                        expiry_step(kind, end, now, source, &client_id)
                    }
                    None => CheckStep {
                        id: "expiry".into(),
                        label: expiry_label(kind).into(),
                        status: CheckStatus::Warning,
                        detail: Some(format!("The end date is unknown. {why}")),
                        fix: Some(
                            "Enter the end date shown under Certificates & secrets → Expires on the \
                             Credentials screen, or add the Application.Read.All application \
                             permission (with admin consent) so okta365 reads it."
                                .into(),
                        ),
                        link: Some(entra_app_page("Credentials", &client_id)),
                    },
                }
            }
        };
        done.push(step);
        steps.finish("Microsoft connection tested");
        let test = finish(ConnectionTarget::Microsoft, done);
        tracing::info!(profile_id = %record.id, ok = test.ok, "tested the Microsoft connection");
        Ok(test)
    }

    fn graph_client(
        &self,
        record: &ProfileRecord,
        tenant: &str,
        client_id: &str,
        credential: EntraCredential,
    ) -> std::result::Result<MicrosoftClient, String> {
        let login = parse_url(&record.entra_login_url, "login")?;
        let graph = parse_url(&record.graph_url, "Graph")?;
        let message = |e: okta365_graph::Error| e.to_string();
        let provider = TokenProvider::new(
            &login,
            TenantId::parse(tenant).map_err(message)?,
            ClientId::parse(client_id).map_err(message)?,
            credential,
            self.inner.vendor.for_url(&login),
        )
        .map_err(message)?;
        Ok(MicrosoftClient {
            http: self.inner.vendor.for_url(&graph),
            graph_url: graph,
            provider,
        })
    }
}

/// A token provider waiting for the stored expiry before it becomes a Graph client.
struct MicrosoftClient {
    graph_url: Url,
    provider: TokenProvider,
    http: reqwest::Client,
}

impl MicrosoftClient {
    fn with_expiry(self, expiry: Option<Timestamp>) -> GraphClient {
        let provider = self.provider.with_credential_expiry(expiry);
        GraphClient::new(&self.graph_url, provider, self.http)
            .expect("the Graph URL was checked when the provider was built")
    }
}

fn parse_url(value: &str, what: &str) -> std::result::Result<Url, String> {
    Url::parse(value)
        .map_err(|_| format!("The profile's Microsoft {what} URL \"{value}\" is not a valid URL."))
}

enum ExpiryRead {
    Found(Timestamp),
    NotFound(String),
    NoRole,
}

fn expiry_label(kind: MicrosoftCredentialKind) -> &'static str {
    match kind {
        MicrosoftCredentialKind::Secret => "Client secret expiry",
        MicrosoftCredentialKind::Certificate => "Certificate expiry",
    }
}

fn expiry_step(
    kind: MicrosoftCredentialKind,
    end: Timestamp,
    now: Timestamp,
    source: &str,
    client_id: &str,
) -> CheckStep {
    let days = days_left(end, now);
    let date = end.strftime("%Y-%m-%d").to_string();
    let what = match kind {
        MicrosoftCredentialKind::Secret => "client secret",
        MicrosoftCredentialKind::Certificate => "certificate",
    };
    let step = CheckStep::ok(
        "expiry",
        expiry_label(kind),
        if days < 0 {
            format!("The {what} expired on {date} ({source}).")
        } else {
            format!("The {what} expires on {date}, in {days} days ({source}).")
        },
    );
    if days < 0 {
        CheckStep {
            fix: Some(format!(
                "Create a new {what} under Certificates & secrets and save it on the Microsoft step."
            )),
            link: Some(entra_app_page("Credentials", client_id)),
            ..step.with(CheckStatus::Failed)
        }
    } else if days < EXPIRY_WARNING_DAYS {
        CheckStep {
            fix: Some(format!(
                "Create a new {what} under Certificates & secrets before {date} and save it on the \
                 Microsoft step."
            )),
            link: Some(entra_app_page("Credentials", client_id)),
            ..step.with(CheckStatus::Warning)
        }
    } else {
        step
    }
}

/// `permissions:{op}`: the token's roles against the table.
pub(crate) fn permission_step(op: OperationId, granted: &[String], client_id: &str) -> CheckStep {
    let id = format!("permissions:{op}");
    let label = format!("Permissions for {}", op.label());
    let missing = missing_roles(op, granted);
    if missing.is_empty() {
        let have: Vec<&str> = super::requirements(op)
            .graph_roles
            .iter()
            .flat_map(|group| group.iter().copied())
            .filter(|role| granted.iter().any(|g| g == role))
            .collect();
        return CheckStep::ok(id, label, format!("Granted: {}.", have.join(", ")));
    }
    let names: Vec<String> = missing.iter().map(|g| either(g)).collect();
    let fixes: Vec<String> = missing
        .iter()
        .map(|group| {
            let choice = if group.len() == 1 {
                group[0].to_owned()
            } else {
                format!("{} (or {})", group[0], group[1..].join(" or "))
            };
            format!(
                "API permissions → Add a permission → Microsoft Graph → Application permissions → \
                 {choice} → Grant admin consent"
            )
        })
        .collect();
    CheckStep::failed(
        id,
        label,
        format!(
            "Missing: {}. The app's token carries {}.",
            names.join("; "),
            if granted.is_empty() {
                "no application permissions".to_owned()
            } else {
                granted.join(", ")
            }
        ),
        Some(fixes.join(". ") + "."),
        Some(entra_app_page("CallAnAPI", client_id)),
    )
}

/// The summary with its vendor code, e.g. "… (AADSTS7000215)".
pub(crate) fn with_code(summary: &str, code: Option<&str>) -> String {
    match code {
        Some(code) if !summary.contains(code) => format!("{summary} ({code})"),
        _ => summary.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_permission_names_the_role_the_fix_and_the_page() {
        let step = permission_step(
            OperationId::Guests,
            &["User.ReadWrite.All".to_owned()],
            "7c1e4b52-93d8-4f0a-b6e1-2d5a9c83f417",
        );
        assert_eq!(step.status, CheckStatus::Failed);
        assert_eq!(step.id, "permissions:guests");
        assert!(
            step.detail
                .as_deref()
                .unwrap()
                .starts_with("Missing: User.Invite.All."),
            "{:?}",
            step.detail
        );
        assert_eq!(
            step.fix.as_deref(),
            Some(
                "API permissions → Add a permission → Microsoft Graph → Application permissions → \
                 User.Invite.All → Grant admin consent."
            )
        );
        assert_eq!(
            step.link.as_deref(),
            Some(
                "https://entra.microsoft.com/#view/Microsoft_AAD_RegisteredApps/ApplicationMenuBlade/~/CallAnAPI/appId/7c1e4b52-93d8-4f0a-b6e1-2d5a9c83f417"
            )
        );
        let alternatives = permission_step(OperationId::Licenses, &[], "c");
        assert!(
            alternatives
                .fix
                .unwrap()
                .contains("→ Organization.Read.All (or Directory.Read.All) →"),
            "a group of alternatives names the least-privileged role first"
        );
        let ok = permission_step(
            OperationId::Deactivation,
            &["Directory.Read.All".into(), "User.ReadWrite.All".into()],
            "c",
        );
        assert_eq!(ok.status, CheckStatus::Ok);
        assert_eq!(
            ok.detail.as_deref(),
            Some("Granted: User.ReadWrite.All, Directory.Read.All.")
        );
    }

    #[test]
    fn expiry_warns_from_thirty_days() {
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        let far = expiry_step(
            MicrosoftCredentialKind::Secret,
            at("2026-06-01T00:00:00Z"),
            now,
            "read",
            "c",
        );
        assert_eq!(far.status, CheckStatus::Ok);
        assert_eq!(
            far.detail.as_deref(),
            Some("The client secret expires on 2026-06-01, in 151 days (read).")
        );
        let soon = expiry_step(
            MicrosoftCredentialKind::Certificate,
            at("2026-01-20T00:00:00Z"),
            now,
            "read",
            "c",
        );
        assert_eq!(soon.status, CheckStatus::Warning);
        assert!(soon.fix.unwrap().contains("before 2026-01-20"));
        let past = expiry_step(
            MicrosoftCredentialKind::Secret,
            at("2025-12-01T00:00:00Z"),
            now,
            "read",
            "c",
        );
        assert_eq!(past.status, CheckStatus::Failed);
    }
}
