//! What an operation plans and writes with: the profile, its Okta and Graph clients, its provisioning
//! settings, its links and the tenant's verified domains ([`RunContext`]), and the users a run is for
//! ([`Scope`]).

use std::collections::{BTreeMap, HashMap};

use okta365_graph::GraphClient;
use okta365_okta::OktaClient;
use okta365_store::{ProfileRecord, runs::LinkRecord};
use serde_json::Value;

use super::settings::{self, ProvisioningSettings, TenantDomains};
use crate::{
    engine::Engine,
    error::{Error, Result},
    setup::groups::GroupRole,
};

/// The Okta scopes provisioning reads with.
pub const OKTA_SCOPES: &[&str] = &["okta.groups.read", "okta.users.read"];

/// Which users a run is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every member of the operation's group (and, for removals, every linked user).
    All,
    /// Only these Okta user ids.
    Users(Vec<String>),
}

impl Scope {
    /// Whether the Okta user with this id is in scope.
    pub fn includes(&self, okta_user_id: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Users(ids) => ids.iter().any(|id| id == okta_user_id),
        }
    }

    /// The stored form: `None` for every member, else a JSON array of ids.
    pub fn to_json(&self) -> Option<String> {
        match self {
            Scope::All => None,
            Scope::Users(ids) => Some(serde_json::to_string(ids).expect("strings serialize")),
        }
    }

    /// Reads [`Scope::to_json`] back.
    pub fn from_json(value: Option<&str>) -> Scope {
        match value.and_then(|v| serde_json::from_str::<Vec<String>>(v).ok()) {
            Some(ids) => Scope::Users(ids),
            None => Scope::All,
        }
    }
}

/// Everything an operation plans and writes with. Built once per plan or apply.
#[derive(Debug)]
pub struct RunContext {
    /// The engine (store, keychain).
    pub(crate) engine: Engine,
    /// The profile.
    pub(crate) profile: ProfileRecord,
    /// The Okta client (groups and users read).
    pub(crate) okta: OktaClient,
    /// The Graph client (its write budget is shared by every write of the run).
    pub(crate) graph: GraphClient,
    /// The provisioning settings (saved, or the defaults).
    pub(crate) settings: ProvisioningSettings,
    /// The tenant's verified domains (`GET /domains`), with the federated ones.
    pub(crate) domains: TenantDomains,
    /// Links by Okta user id: members.
    pub(crate) member_links: HashMap<String, LinkRecord>,
    /// Links by Okta user id: guests.
    pub(crate) guest_links: HashMap<String, LinkRecord>,
    /// The profile's default usage location (the Licenses step), for users without a country code.
    pub(crate) default_usage_location: Option<String>,
    /// Manager-email steps of the run being resumed whose sending could not be checked (the sender's
    /// Sent Items unreadable): failed, never sent again.
    pub(crate) unverified_emails: std::sync::Mutex<std::collections::HashSet<u32>>,
    /// The run being applied or resumed (set by the journal; `None` while planning).
    pub(crate) run_id: Option<uuid::Uuid>,
    /// Managers looked up in Okta during this plan or apply, by `managerId`: many users share a
    /// manager, and each lookup is an Okta request under the org's rate limit.
    pub(crate) managers: std::sync::Mutex<
        HashMap<String, std::result::Result<crate::runs::lifecycle::Manager, String>>,
    >,
    /// What the steps of an import run share (its identity-source client and spool), set by the
    /// first import step.
    pub(crate) import: tokio::sync::OnceCell<super::ops::imports::ImportCtx>,
}

impl RunContext {
    /// Builds the context of a profile: clients, settings, domains, links.
    pub(crate) async fn load(engine: &Engine, profile: ProfileRecord) -> Result<RunContext> {
        let okta = engine.okta_client(&profile, OKTA_SCOPES).await?;
        let graph = engine.graph_client_for(&profile).await?;
        let domains = match domains_from_graph(&graph).await {
            Ok(d) => d,
            // An app without Domain.Read.All (not among the operation's required permissions), or a
            // tenant without GET /domains: the organization's verified domains, whose `type` says
            // Managed or Federated too.
            Err(e) if matches!(e.status(), Some(403 | 404)) => {
                settings::tenant_domains(&graph).await?
            }
            Err(e) => {
                return Err(graph_error(
                    "Reading the tenant's domains (GET /domains)",
                    e,
                ));
            }
        };
        let settings = match settings::load_saved(engine, &profile).await? {
            Some(saved) => saved,
            None => settings::defaults_for(&domains),
        };
        let id = profile.id;
        let (links, usage) = engine
            .db(move |store| Ok((store.links(id, None)?, store.usage_location(id)?)))
            .await?;
        let mut member_links = HashMap::new();
        let mut guest_links = HashMap::new();
        for link in links {
            match link.kind.as_str() {
                "guest" => guest_links.insert(link.okta_user_id.clone(), link),
                _ => member_links.insert(link.okta_user_id.clone(), link),
            };
        }
        Ok(RunContext {
            engine: engine.clone(),
            profile,
            okta,
            graph,
            settings,
            domains,
            member_links,
            guest_links,
            default_usage_location: usage,
            unverified_emails: Default::default(),
            run_id: None,
            managers: Default::default(),
            import: Default::default(),
        })
    }

    /// The context an operation's run is applied with: [`RunContext::load`], except for imports,
    /// which write only to Okta (through the identity source) and so need no Microsoft connection:
    /// their context has the profile's Graph client when it has one, else one that is never called.
    pub(crate) async fn load_for(
        engine: &Engine,
        profile: ProfileRecord,
        operation: crate::dto::OperationId,
    ) -> Result<RunContext> {
        if operation != crate::dto::OperationId::Imports {
            return RunContext::load(engine, profile).await;
        }
        let graph = match engine.graph_client_for(&profile).await {
            Ok(graph) => graph,
            Err(_) => unconnected_graph(&profile)?,
        };
        let okta = engine
            .okta_client(&profile, super::ops::imports::IMPORT_SCOPES)
            .await?;
        let domains = TenantDomains::default();
        Ok(RunContext {
            engine: engine.clone(),
            settings: settings::defaults_for(&domains),
            profile,
            okta,
            graph,
            domains,
            member_links: HashMap::new(),
            guest_links: HashMap::new(),
            default_usage_location: None,
            unverified_emails: Default::default(),
            run_id: None,
            managers: Default::default(),
            import: Default::default(),
        })
    }

    /// The members of a role's Okta group (all pages).
    pub(crate) async fn group_members(&self, role: GroupRole) -> Result<Vec<okta365_okta::User>> {
        settings::group_members(&self.engine, &self.profile, &self.okta, role).await
    }

    /// The mapped Graph properties of an Okta user: each mapping of the settings, with the contract's
    /// fallbacks (`displayName` → "first last", `usageLocation` → the profile's default usage
    /// location). An empty Okta value maps to `None`.
    pub(crate) fn mapped_attributes(
        &self,
        user: &okta365_okta::User,
    ) -> BTreeMap<String, Option<String>> {
        let mut out = BTreeMap::new();
        for mapping in &self.settings.attributes {
            let mut value = okta_attribute(user, &mapping.okta);
            if value.is_none() && mapping.graph == "displayName" {
                let name = [
                    user.profile.first_name.as_deref(),
                    user.profile.last_name.as_deref(),
                ]
                .into_iter()
                .flatten()
                .filter(|s| !s.trim().is_empty())
                .collect::<Vec<_>>()
                .join(" ");
                value = (!name.is_empty()).then_some(name);
            }
            if value.is_none() && mapping.graph == "usageLocation" {
                value = self.default_usage_location.clone();
            }
            out.insert(mapping.graph.clone(), value);
        }
        out
    }
}

/// One Okta profile attribute as text (`None` when absent or blank).
pub(crate) fn okta_attribute(user: &okta365_okta::User, name: &str) -> Option<String> {
    let p = &user.profile;
    let value = match name {
        "login" => Some(p.login.clone()),
        "email" => p.email.clone(),
        "firstName" => p.first_name.clone(),
        "lastName" => p.last_name.clone(),
        "displayName" => p.display_name.clone(),
        "department" => p.department.clone(),
        "managerId" => p.manager_id.clone(),
        "manager" => p.manager.clone(),
        other => match p.extra.get(other) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::Bool(b)) => Some(b.to_string()),
            _ => None,
        },
    };
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// A Graph client for a profile without a Microsoft connection (imports only): any call it made would
/// fail at the token; imports never make one.
fn unconnected_graph(profile: &ProfileRecord) -> Result<GraphClient> {
    use okta365_graph::{ClientId, EntraCredential, TenantId, TokenProvider};
    let unusable =
        |e: okta365_graph::Error| Error::invalid(format!("The profile's Microsoft URLs: {e}"));
    // The profile's URLs when they parse, else Microsoft's (the client is never called either way).
    let url = |value: &str, fallback: &str| {
        url::Url::parse(value)
            .or_else(|_| url::Url::parse(fallback))
            .map_err(|e| Error::invalid(format!("The Microsoft URL {fallback}: {e}")))
    };
    let nil = "00000000-0000-0000-0000-000000000000";
    let provider = TokenProvider::new(
        &url(
            &profile.entra_login_url,
            "https://login.microsoftonline.com",
        )?,
        TenantId::parse(nil).map_err(unusable)?,
        ClientId::parse(nil).map_err(unusable)?,
        EntraCredential::ClientSecret(okta365_secrets::Secret::new(String::new())),
        reqwest::Client::new(),
    )
    .map_err(unusable)?;
    GraphClient::new(
        &url(&profile.graph_url, "https://graph.microsoft.com")?,
        provider,
        reqwest::Client::new(),
    )
    .map_err(unusable)
}

async fn domains_from_graph(graph: &GraphClient) -> okta365_graph::Result<TenantDomains> {
    let mut domains: Vec<_> = graph
        .domains()
        .await?
        .into_iter()
        .filter(|d| d.is_verified)
        .collect();
    domains.sort_by_key(|d| (!d.is_default, d.id.to_ascii_lowercase()));
    Ok(TenantDomains {
        verified: domains.iter().map(|d| d.id.to_ascii_lowercase()).collect(),
        default: domains
            .iter()
            .find(|d| d.is_default)
            .or_else(|| domains.iter().find(|d| d.is_initial))
            .map(|d| d.id.to_ascii_lowercase()),
        federated: domains
            .iter()
            .filter(|d| d.is_federated())
            .map(|d| d.id.to_ascii_lowercase())
            .collect(),
    })
}

/// A Graph error met while `doing` something, as the engine's error: refusals name the permission.
pub(crate) fn graph_error(doing: &str, e: okta365_graph::Error) -> Error {
    let message = format!("{doing} failed: {}", e.explanation().sentence());
    match e.status() {
        Some(401 | 403) => Error::PermissionDenied {
            message: format!(
                "{message} okta365's app needs the Microsoft Graph application permissions \
                 User.ReadWrite.All and Domain.Read.All (or Directory.ReadWrite.All), with admin consent."
            ),
        },
        _ => Error::Vendor { message },
    }
}
