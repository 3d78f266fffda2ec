//! Test connection for Okta: `token`, then one harmless probe per scope the enabled operations need.

use okta365_okta::{
    AuthKind, ClientId, Error as OktaError, GroupQuery, IdentitySourceId, LogQuery, OAuthErrorCode,
    OktaAuth, OktaClient, OktaErrorCode, PrivateKey, codes::explain_access_denied,
};
use okta365_secrets::CredentialKind as SecretKind;
use okta365_store::ProfileRecord;
use tracing::instrument;

use super::{finish, with_code};
use crate::{
    connect::{fields::OKTA_DOMAINS, okta_auth, okta_scopes, operations},
    dto::{CheckStep, ConnectionTarget, ConnectionTest, OktaAuthKind},
    engine::Engine,
    error::{Error, Result},
    progress::{ProgressSink, Steps},
};

/// The probe that shows a scope works, as (method and path for people, label).
fn probe_label(scope: &str) -> (&'static str, &'static str) {
    match scope {
        "okta.groups.read" => ("GET /api/v1/groups?limit=1", "Read groups"),
        "okta.users.read" => ("GET /api/v1/users?limit=1", "Read users"),
        "okta.logs.read" => ("GET /api/v1/logs?limit=1", "Read the System Log"),
        "okta.identitySources.manage" => (
            "GET /api/v1/identity-sources/{id}/sessions",
            "Manage the identity source",
        ),
        _ => ("", "Scope"),
    }
}

/// The Okta Admin Console page of a service app (or the API tokens page), for orgs on Okta's own
/// domains; `None` for custom domains and the sandbox, whose admin console address is not derivable.
fn admin_link(org_url: &str, client_id: Option<&str>) -> Option<String> {
    let host = url::Url::parse(org_url).ok()?.host_str()?.to_owned();
    let base = OKTA_DOMAINS
        .iter()
        .find(|d| host.ends_with(&format!(".{d}")))?;
    let org = host.strip_suffix(&format!(".{base}"))?;
    if org.contains('.') {
        return None;
    }
    Some(match client_id {
        Some(id) => format!("https://{org}-admin.{base}/admin/app/oidc_client/instance/{id}"),
        None => format!("https://{org}-admin.{base}/admin/access/api/tokens"),
    })
}

/// An Okta error as a step's detail and fix. The okta crate's table says what each code means; a 403
/// on a service app gets the two usual causes.
fn explain(error: &OktaError) -> (String, Option<String>) {
    match error {
        OktaError::Api {
            status,
            code,
            summary,
            missing_scope,
            auth,
            error_id,
            ..
        } => {
            let mut okta = match error_id {
                Some(id) => format!("Okta answered {status} {code}: {summary} (errorId {id})."),
                None => format!("Okta answered {status} {code}: {summary}."),
            };
            if let Some(scope) = missing_scope {
                okta.push_str(&format!(" Okta says the access token lacks {scope}."));
            }
            let fix = match (code, auth) {
                // docs/connections.md: a 403 explains the two usual causes, whatever Okta hinted.
                (OktaErrorCode::AccessDenied, AuthKind::ServiceApp) => explain_access_denied(None),
                _ => {
                    let e = code.explain();
                    format!("{} {}", e.problem, e.fix)
                }
            };
            (okta, Some(fix))
        }
        OktaError::OAuth {
            status,
            error,
            description,
        } => {
            let e = error.explain();
            (
                with_code(
                    &format!("{} (Okta answered {status}: {description})", e.problem),
                    Some(error.as_str()),
                ),
                Some(e.fix.to_owned()),
            )
        }
        other => (other.to_string(), None),
    }
}

impl Engine {
    /// Tests a profile's Okta connection: `token` (a service app's `private_key_jwt` token for the
    /// scopes the enabled operations need — scopes Okta refuses with `invalid_scope` are named and the
    /// token is asked for again without them — with DPoP when the org requires it; or, for an API
    /// token, `GET /api/v1/users/me`), then one probe per scope (`scope:{scope}`). Reports each check
    /// to `progress` (operation `test_okta`). Fails only when the profile has nothing to test.
    #[instrument(skip(self, progress), err)]
    pub async fn test_okta(
        &self,
        profile_id: &str,
        progress: &dyn ProgressSink,
    ) -> Result<ConnectionTest> {
        self.resumed().await;
        let record = self.find(profile_id).await?;
        if record.okta_org_url.trim().is_empty() {
            return Err(Error::invalid(format!(
                "Profile \"{}\" has no Okta org yet. Save the org URL and a credential on the Okta \
                 step first.",
                record.name
            )));
        }
        let Some(auth) = okta_auth(&record)? else {
            return Err(Error::invalid(format!(
                "Profile \"{}\" has no Okta API token or service app key stored. Save one on the Okta \
                 step first.",
                record.name
            )));
        };
        let scopes: Vec<&'static str> = okta_scopes(&operations(&record)?);
        let mut steps = Steps::new(progress, "test_okta", 1 + scopes.len() as u32);
        let mut done = Vec::new();
        let secret_kind = match auth {
            OktaAuthKind::ApiToken => SecretKind::OktaApiToken,
            OktaAuthKind::ServiceApp => SecretKind::OktaPrivateKey,
        };
        let client_id = record.okta_client_id.clone();
        let link = admin_link(
            &record.okta_org_url,
            match auth {
                OktaAuthKind::ServiceApp => client_id.as_deref(),
                OktaAuthKind::ApiToken => None,
            },
        );

        steps.start("token", "Signing in to Okta");
        let secret = self
            .inner
            .keychain
            .get(&record.id.to_string(), secret_kind)
            .await?;
        let outcome = match secret {
            None => Err(CheckStep::failed(
                "token",
                "Sign-in",
                format!("The {} is not in the OS keychain.", secret_kind.label()),
                Some("Enter it again on the Okta step and save.".into()),
                None,
            )),
            Some(secret) => match auth {
                OktaAuthKind::ApiToken => {
                    self.okta_api_token_sign_in(&record, secret, link.clone())
                        .await
                }
                OktaAuthKind::ServiceApp => {
                    self.okta_service_app_sign_in(&record, secret, &scopes, link.clone())
                        .await
                }
            },
        };
        let (client, refused) = match outcome {
            Ok(SignedIn {
                client,
                step,
                refused,
            }) => {
                done.push(step);
                let id = record.id;
                let kind = secret_kind.as_str();
                self.db(move |store| store.touch_credential(id, kind))
                    .await?;
                (Some(client), refused)
            }
            Err(step) => {
                done.push(step);
                (None, Vec::new())
            }
        };

        for scope in &scopes {
            let id = format!("scope:{scope}");
            let (call, label) = probe_label(scope);
            steps.start(&id, format!("Checking {scope} ({call})"));
            let label = format!("{label} ({scope})");
            let Some(client) = client.as_ref() else {
                done.push(CheckStep::skipped(id, label, "Skipped: there is no token."));
                continue;
            };
            let not_granted = refused.iter().any(|s| s == scope);
            let result = match *scope {
                "okta.groups.read" => client
                    .groups()
                    .list(&GroupQuery::new().limit(1))
                    .await
                    .map(|_| ()),
                "okta.users.read" => client.users().list(Some(1)).await.map(|_| ()),
                "okta.logs.read" => client
                    .logs()
                    .list(&LogQuery::new().limit(1))
                    .await
                    .map(|_| ()),
                "okta.identitySources.manage" => {
                    let Some(source) = record.okta_identity_source_id.as_deref() else {
                        done.push(CheckStep {
                            fix: Some(
                                "Enter the identity source id (Okta Admin Console → Integrations → \
                                 Identity Sources) on the Okta step, then test again."
                                    .into(),
                            ),
                            ..CheckStep::skipped(
                                id,
                                label,
                                "Skipped: no identity source id is set for imports.",
                            )
                        });
                        continue;
                    };
                    client
                        .identity_sources()
                        .sessions(&IdentitySourceId::new(source))
                        .await
                        .map(|_| ())
                }
                _ => Ok(()),
            };
            done.push(match result {
                Ok(()) => CheckStep::ok(id, label, format!("{call} answered.")),
                Err(e) => {
                    let (mut detail, fix) = explain(&e);
                    if not_granted {
                        detail = format!(
                            "Okta did not grant {scope} to the app (invalid_scope), so the token \
                             lacks it. {detail}"
                        );
                    }
                    CheckStep::failed(id, label, detail, fix, link.clone())
                }
            });
        }
        steps.finish("Okta connection tested");
        let test = finish(ConnectionTarget::Okta, done);
        tracing::info!(profile_id = %record.id, ok = test.ok, "tested the Okta connection");
        Ok(test)
    }

    async fn okta_api_token_sign_in(
        &self,
        record: &ProfileRecord,
        token: okta365_secrets::Secret,
        link: Option<String>,
    ) -> std::result::Result<SignedIn, CheckStep> {
        let client = OktaClient::builder(record.okta_org_url.clone())
            .auth(OktaAuth::ApiToken(token))
            .http(self.inner.vendor.for_base(&record.okta_org_url))
            .build()
            .map_err(|e| build_failed(&e))?;
        match client.users().me().await {
            Ok(me) => {
                let who = me.profile.login.clone();
                Ok(SignedIn {
                    step: CheckStep::ok(
                        "token",
                        "Sign-in",
                        format!(
                            "The API token is accepted; it acts as {who} (GET /api/v1/users/me)."
                        ),
                    ),
                    client,
                    refused: Vec::new(),
                })
            }
            Err(e) => {
                let (detail, fix) = explain(&e);
                Err(CheckStep::failed("token", "Sign-in", detail, fix, link))
            }
        }
    }

    async fn okta_service_app_sign_in(
        &self,
        record: &ProfileRecord,
        key: okta365_secrets::Secret,
        scopes: &[&str],
        link: Option<String>,
    ) -> std::result::Result<SignedIn, CheckStep> {
        let client_id = record.okta_client_id.as_deref().unwrap_or_default();
        let client_id = ClientId::parse(client_id).map_err(|e| build_failed(&e))?;
        let key = PrivateKey::parse(key.expose(), record.okta_key_id.as_deref())
            .map_err(|e| build_failed(&e))?;
        let build = |scopes: Vec<String>| {
            OktaClient::builder(record.okta_org_url.clone())
                .auth(OktaAuth::ServiceApp {
                    client_id: client_id.clone(),
                    key: key.clone(),
                    scopes,
                })
                .http(self.inner.vendor.for_base(&record.okta_org_url))
                .build()
                .map_err(Box::new)
        };
        let mut wanted: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        let mut refused = Vec::new();
        loop {
            if wanted.is_empty() {
                return Err(CheckStep::failed(
                    "token",
                    "Sign-in",
                    format!(
                        "Okta granted none of the scopes okta365 needs ({}).",
                        refused.join(", ")
                    ),
                    Some(format!(
                        "Grant {} on the service app's Okta API Scopes tab, then test again.",
                        refused.join(", ")
                    )),
                    link,
                ));
            }
            let client = build(wanted.clone()).map_err(|e| build_failed(&e))?;
            match client.token_info().await {
                Ok(info) => {
                    let info = info.expect("a service app has a token");
                    let mut detail = format!(
                        "Got a {} access token for app {} with {}.",
                        info.token_type,
                        client_id.as_str(),
                        if info.scopes.is_empty() {
                            wanted.join(", ")
                        } else {
                            info.scopes.join(", ")
                        }
                    );
                    if info.dpop {
                        detail.push_str(if info.dpop_nonce_used {
                            " The org requires DPoP for this app: the token is bound to okta365's \
                             proof key (with Okta's nonce)."
                        } else {
                            " The org requires DPoP for this app: the token is bound to okta365's \
                             proof key."
                        });
                    }
                    if !refused.is_empty() {
                        detail.push_str(&format!(
                            " Okta refused {} (invalid_scope), so the token was asked for again \
                             without {}.",
                            refused.join(", "),
                            if refused.len() == 1 { "it" } else { "them" }
                        ));
                    }
                    return Ok(SignedIn {
                        client,
                        step: CheckStep::ok("token", "Sign-in", detail),
                        refused,
                    });
                }
                Err(e) if e.oauth_error() == Some(&OAuthErrorCode::InvalidScope) => {
                    let named = e.scopes_not_allowed();
                    let before = wanted.len();
                    wanted.retain(|s| !named.contains(s));
                    if wanted.len() == before {
                        // Okta did not say which; nothing sensible to drop.
                        let (detail, fix) = explain(&e);
                        return Err(CheckStep::failed("token", "Sign-in", detail, fix, link));
                    }
                    refused.extend(named.into_iter().filter(|s| scopes.contains(&s.as_str())));
                }
                Err(e) => {
                    let (detail, fix) = explain(&e);
                    return Err(CheckStep::failed("token", "Sign-in", detail, fix, link));
                }
            }
        }
    }
}

struct SignedIn {
    client: OktaClient,
    step: CheckStep,
    /// Scopes Okta refused with `invalid_scope`.
    refused: Vec<String>,
}

/// The client could not even be built (bad org URL, client id or key): the fix is on the Okta step.
fn build_failed(error: &OktaError) -> CheckStep {
    CheckStep::failed(
        "token",
        "Sign-in",
        error.to_string(),
        Some("Correct it on the Okta step and save, then test again.".into()),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_console_links_exist_only_for_okta_domains() {
        assert_eq!(
            admin_link("https://acme.okta.com", Some("0oa1b2c3d4e5f6g7h8i9")).as_deref(),
            Some("https://acme-admin.okta.com/admin/app/oidc_client/instance/0oa1b2c3d4e5f6g7h8i9")
        );
        assert_eq!(
            admin_link("https://acme.oktapreview.com/", None).as_deref(),
            Some("https://acme-admin.oktapreview.com/admin/access/api/tokens")
        );
        assert_eq!(admin_link("https://login.example.com", None), None);
        assert_eq!(admin_link("http://127.0.0.1:4100/", None), None);
    }

    #[test]
    fn a_403_on_a_service_app_explains_the_two_causes() {
        let e = OktaError::Api {
            status: 403,
            code: OktaErrorCode::AccessDenied,
            summary: "You do not have permission to perform the requested action".into(),
            causes: vec![],
            error_id: Some("oae1".into()),
            missing_scope: None,
            auth: AuthKind::ServiceApp,
        };
        let (detail, fix) = explain(&e);
        assert_eq!(
            detail,
            "Okta answered 403 E0000006: You do not have permission to perform the requested action (errorId oae1)."
        );
        let fix = fix.unwrap();
        assert!(
            fix.contains("Okta API Scopes") && fix.contains("admin role"),
            "{fix}"
        );
    }
}
