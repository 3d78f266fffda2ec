//! The [`Engine`] facade: the one entry point the desktop app, the CLI and the tests call.

use std::{future::Future, sync::Arc, time::Duration};

use jiff::Timestamp;
use okta365_sandbox::{LocalSandbox, SandboxUrls, ServeOptions};
use okta365_secrets::{CredentialKind, Keychain, Secret};
use okta365_store::{CredentialRecord, ProfileRecord, Store};
use tracing::instrument;
use url::Url;
use uuid::Uuid;

use crate::{
    dto::{AppInfo, BuildKind, CreateSandboxProfileRequest, Profile, ProfileKind, StepId},
    error::{Error, Result},
    paths::Paths,
    progress::{ProgressSink, Steps},
    transport::Transport,
    urls::validate_sandbox_url,
};

/// The longest profile name, in characters.
pub const MAX_PROFILE_NAME_CHARS: usize = 64;

/// The name a sandbox profile gets when none is given ("Sandbox 2", "Sandbox 3", … when taken).
pub const DEFAULT_SANDBOX_PROFILE_NAME: &str = "Sandbox";

const SANDBOX_HEALTH_TIMEOUT: Duration = Duration::from_secs(5);

/// The engine: store, keychain and sandbox supervisor behind one cheap-to-clone handle.
///
/// `Clone` shares the same engine (an `Arc` inside); it is `Send + Sync`.
#[derive(Clone, Debug)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    paths: Paths,
    store: Arc<Store>,
    pub(crate) keychain: Keychain,
    /// Sandbox health checks (short timeout).
    http: Transport,
    /// Calls to Okta and Microsoft; loopback (the sandbox) direct, real tenants through the system
    /// proxy ([`Transport`]).
    pub(crate) vendor: Transport,
    /// The data dir's sandbox once this engine ensured or served it. An owned one runs in this process
    /// and is stopped by [`Engine::shutdown`].
    local_sandbox: tokio::sync::Mutex<Option<LocalSandbox>>,
    /// Held (write) while [`Engine::resume`] runs; calls that return profile URLs wait for it, so they
    /// never show the URLs of a sandbox port that is about to change.
    resume_gate: Arc<tokio::sync::RwLock<()>>,
    /// Delegated Microsoft sign-ins of the app setup (tokens in memory only, until they expire).
    pub(crate) ms_sign_ins: crate::setup::microsoft_app::SignIns,
}

impl Engine {
    /// Opens the engine on a data dir: creates the folders and opens (migrating) the store.
    #[instrument(skip_all, fields(data_dir = %paths.data_dir.display()), err)]
    pub async fn open(paths: Paths) -> Result<Engine> {
        paths.create_dirs()?;
        let db_path = paths.db_path.clone();
        let store = tokio::task::spawn_blocking(move || Store::open(&db_path)).await??;
        let http = Transport::new(|| reqwest::Client::builder().timeout(SANDBOX_HEALTH_TIMEOUT))?;
        let vendor = Transport::new(|| {
            reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .timeout(Duration::from_secs(60))
                .user_agent(concat!("okta365/", env!("CARGO_PKG_VERSION")))
        })?;
        Ok(Engine {
            inner: Arc::new(Inner {
                paths,
                store: Arc::new(store),
                keychain: Keychain::for_build(),
                http,
                vendor,
                local_sandbox: tokio::sync::Mutex::new(None),
                resume_gate: Arc::new(tokio::sync::RwLock::new(())),
                ms_sign_ins: Default::default(),
            }),
        })
    }

    /// The paths this engine uses.
    pub fn paths(&self) -> &Paths {
        &self.inner.paths
    }

    /// The OS keychain this engine stores secrets in.
    pub fn keychain(&self) -> &Keychain {
        &self.inner.keychain
    }

    /// Version, build kind, folders and the active profile.
    pub async fn app_info(&self) -> Result<AppInfo> {
        let active = self.db(|store| store.active_profile_id()).await?;
        let paths = self.paths();
        Ok(AppInfo {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            build_kind: BuildKind::current(),
            data_dir: paths.data_dir.display().to_string(),
            log_dir: paths.log_dir.display().to_string(),
            active_profile_id: active.map(|id| id.to_string()),
        })
    }

    /// Every profile, oldest first.
    pub async fn list_profiles(&self) -> Result<Vec<Profile>> {
        self.resumed().await;
        let records = self.db(|store| store.list_profiles()).await?;
        let mut profiles = Vec::with_capacity(records.len());
        for record in records {
            profiles.push(self.profile_out(record).await?);
        }
        Ok(profiles)
    }

    /// One profile, by id or by name (ignoring case).
    pub async fn profile(&self, id_or_name: &str) -> Result<Profile> {
        self.resumed().await;
        self.profile_out(self.find(id_or_name).await?).await
    }

    /// Creates a profile on a sandbox tenant and makes it the active one.
    ///
    /// With no URL it uses the data dir's own sandbox (starting it in this process if nobody serves it);
    /// with a URL it checks that a sandbox answers there. It then mints demo credentials, stores the Okta
    /// API token and the Entra client secret in the OS keychain, and saves the profile at the
    /// `microsoft` step. A `blank` request skips the demo credentials and the keychain: the profile has
    /// no Microsoft app and no Okta connection yet, for the automated setup (docs/setup.md).
    ///
    /// Reports those four steps (two when blank) to `progress` (operation `create_sandbox_profile`, steps `sandbox`,
    /// `credentials`, `keychain`, `profile`, then `done`); nothing is reported when the request is
    /// rejected before any work starts. Pass `&()` for no progress.
    #[instrument(skip(self, progress), err)]
    pub async fn create_sandbox_profile(
        &self,
        req: CreateSandboxProfileRequest,
        progress: &dyn ProgressSink,
    ) -> Result<Profile> {
        // Check everything the user typed before starting or calling anything.
        let name = match req.name.as_deref() {
            Some(name) => {
                let name = validate_profile_name(name)?;
                self.ensure_name_free(&name).await?;
                name
            }
            None => self.free_default_name().await?,
        };
        let external = req.url.as_deref().map(validate_sandbox_url).transpose()?;
        let blank = req.blank.unwrap_or(false);

        let mut steps = Steps::new(
            progress,
            "create_sandbox_profile",
            if blank { 2 } else { 4 },
        );
        let urls = match &external {
            Some(base) => {
                steps.start("sandbox", format!("Checking the sandbox tenant at {base}"));
                self.check_sandbox_health(base).await?;
                SandboxUrls {
                    base: base.clone(),
                    okta_org: base.clone(),
                    entra_login: base.clone(),
                    graph: base.clone(),
                }
            }
            None => {
                steps.start("sandbox", "Starting the built-in sandbox tenant");
                self.ensure_local_sandbox().await?
            }
        };
        let demo = if blank {
            None
        } else {
            steps.start(
                "credentials",
                "Creating demo credentials on the sandbox tenant",
            );
            Some(okta365_sandbox::mint_demo_credentials(&urls.base).await?)
        };

        let id = Uuid::new_v4();
        let now = Timestamp::now();
        let record = ProfileRecord {
            id,
            name,
            kind: okta365_store::ProfileKind::Sandbox,
            okta_org_url: urls.okta_org.to_string(),
            entra_login_url: urls.entra_login.to_string(),
            graph_url: urls.graph.to_string(),
            ms_tenant: demo.as_ref().map(|d| d.entra_tenant_id.clone()),
            ms_client_id: demo.as_ref().map(|d| d.entra_client_id.clone()),
            embedded_sandbox: external.is_none(),
            wizard_step: StepId::Microsoft.as_str().to_owned(),
            created_at: now,
            updated_at: now,
            ms_credential_kind: demo.as_ref().map(|_| crate::connect::MS_SECRET.to_owned()),
            okta_auth: demo
                .as_ref()
                .map(|_| crate::connect::OKTA_API_TOKEN.to_owned()),
            okta_client_id: None,
            okta_key_id: None,
            // A profile with the demo credentials imports into the demo seed's identity source.
            okta_identity_source_id: demo
                .as_ref()
                .map(|_| okta365_sandbox::DEMO_IDENTITY_SOURCE_ID.to_owned()),
            operations: crate::connect::default_operation_ids(),
        };
        let secrets: Vec<(CredentialKind, Secret)> = match demo {
            Some(demo) => vec![
                (
                    CredentialKind::OktaApiToken,
                    Secret::new(demo.okta_api_token),
                ),
                (
                    CredentialKind::EntraClientSecret,
                    Secret::new(demo.entra_client_secret),
                ),
            ],
            None => Vec::new(),
        };

        // Secrets first, then the rows that index them: a profile row never points at a missing secret.
        if !secrets.is_empty() {
            steps.start(
                "keychain",
                "Storing the Okta API token and the client secret in the OS keychain",
            );
        }
        let profile_key = id.to_string();
        for (stored, (kind, secret)) in secrets.iter().enumerate() {
            if let Err(e) = self.inner.keychain.set(&profile_key, *kind, secret).await {
                self.forget_secrets(&profile_key, secrets[..stored].iter().map(|(k, _)| *k))
                    .await;
                return Err(e.into());
            }
        }
        let credentials: Vec<CredentialRecord> = secrets
            .iter()
            .map(|(kind, secret)| CredentialRecord {
                profile_id: id,
                kind: kind.as_str().to_owned(),
                label: kind.label().to_owned(),
                // Microsoft's own hint for a client secret: its first 3 characters.
                hint: (*kind == CredentialKind::EntraClientSecret)
                    .then(|| secret.expose().chars().take(3).collect()),
                created_at: now,
                last_used_at: None,
                expires_at: None,
            })
            .collect();
        steps.start("profile", format!("Saving the profile \"{}\"", record.name));
        let saved = {
            let record = record.clone();
            self.db(move |store| store.create_profile(&record, &credentials, true))
                .await
        };
        if let Err(e) = saved {
            self.forget_secrets(&profile_key, secrets.iter().map(|(k, _)| *k))
                .await;
            return Err(match e {
                Error::Store(okta365_store::Error::NameTaken { name }) => {
                    Error::ProfileExists { name, id: None }
                }
                other => other,
            });
        }
        tracing::info!(profile_id = %id, name = %record.name, base = %urls.base, embedded = record.embedded_sandbox, "created sandbox profile");
        steps.finish(format!("The sandbox profile \"{}\" is ready", record.name));
        to_dto(record)
    }

    /// Makes a profile the active one. For a profile on the data dir's own sandbox, also makes sure that
    /// sandbox is served (and the profile's URLs follow its port).
    #[instrument(skip(self), err)]
    pub async fn select_profile(&self, id_or_name: &str) -> Result<Profile> {
        self.resumed().await;
        let mut record = self.find(id_or_name).await?;
        let id = record.id;
        self.db(move |store| store.set_active_profile_id(Some(id)))
            .await?;
        if record.embedded_sandbox {
            self.ensure_local_sandbox().await?;
            record = self.find_by_id(id).await?;
        }
        self.profile_out(record).await
    }

    /// Removes a profile and its secrets in the OS keychain.
    ///
    /// Secrets go first, each followed by its metadata row; if one cannot be deleted the profile is kept
    /// (still listing the secrets that remain) and the error says which one, so removing again finishes
    /// the job.
    #[instrument(skip(self), err)]
    pub async fn remove_profile(&self, id_or_name: &str) -> Result<()> {
        let record = self.find(id_or_name).await?;
        let id = record.id;
        let profile_key = id.to_string();
        let indexed = self.db(move |store| store.credentials(id)).await?;
        self.forget_import_source_secrets(&record)
            .await
            .map_err(|e| match e {
                Error::Keychain(source) => Error::SecretNotDeleted {
                    profile: record.name.clone(),
                    label: CredentialKind::ImportSourceSecret.label(),
                    source,
                },
                other => other,
            })?;

        // The index says what was stored; every known kind is tried too, in case a crash left an entry
        // the index never recorded.
        let mut kinds: Vec<(Option<CredentialKind>, String)> = Vec::new();
        for credential in &indexed {
            kinds.push((
                CredentialKind::parse(&credential.kind),
                credential.kind.clone(),
            ));
        }
        for kind in CredentialKind::ALL {
            if !kinds.iter().any(|(k, _)| *k == Some(kind)) {
                kinds.push((Some(kind), kind.as_str().to_owned()));
            }
        }
        let mut deleted = 0;
        for (kind, kind_str) in kinds {
            if let Some(kind) = kind {
                match self.inner.keychain.delete(&profile_key, kind).await {
                    Ok(existed) => deleted += usize::from(existed),
                    Err(source) => {
                        return Err(Error::SecretNotDeleted {
                            profile: record.name.clone(),
                            label: kind.label(),
                            source: Box::new(source),
                        });
                    }
                }
            } else {
                tracing::warn!(profile_id = %id, kind = %kind_str, "unknown credential kind in the store; dropping its record");
            }
            if indexed.iter().any(|c| c.kind == kind_str) {
                self.db(move |store| store.delete_credential(id, &kind_str))
                    .await?;
            }
        }
        self.db(move |store| store.delete_profile(id)).await?;
        tracing::info!(profile_id = %id, name = %record.name, secrets_deleted = deleted, "removed profile and its keychain entries");
        Ok(())
    }

    /// Records the wizard step a profile is at.
    #[instrument(skip(self), err)]
    pub async fn set_wizard_step(&self, id_or_name: &str, step: StepId) -> Result<Profile> {
        self.resumed().await;
        let id = self.find(id_or_name).await?.id;
        self.db(move |store| store.set_wizard_step(id, step.as_str()))
            .await?;
        self.profile_out(self.find_by_id(id).await?).await
    }

    /// Makes sure the data dir's own sandbox is served, by this process or another, and keeps the URLs of
    /// the profiles on it in step with its port. Returns its URLs.
    #[instrument(skip(self), err)]
    pub async fn ensure_local_sandbox(&self) -> Result<SandboxUrls> {
        let mut slot = self.inner.local_sandbox.lock().await;
        let urls = match slot.as_ref() {
            Some(LocalSandbox::Owned(sandbox)) => sandbox.urls().clone(),
            // Another process served it when we last looked; it may have gone since, so look again.
            Some(LocalSandbox::Attached(_)) | None => {
                let usual_port = self.usual_sandbox_port().await?;
                let local = okta365_sandbox::ensure_local_preferring(
                    &self.inner.paths.sandbox_dir,
                    usual_port,
                )
                .await?;
                let urls = local.urls().clone();
                if let LocalSandbox::Owned(_) = &local {
                    tracing::info!(base = %urls.base, "serving the data dir's sandbox in this process");
                }
                *slot = Some(local);
                urls
            }
        };
        drop(slot);
        self.follow_sandbox_port(&urls).await?;
        Ok(urls)
    }

    /// Serves the data dir's sandbox in this process with a chosen port and seed (what
    /// `okta365 sandbox serve` does) and points the profiles on it at its URLs. Fails with
    /// [`okta365_sandbox::Error::AlreadyServed`] when another process serves it. [`Engine::shutdown`]
    /// stops it.
    #[instrument(skip(self), err)]
    pub async fn serve_local_sandbox(&self, mut options: ServeOptions) -> Result<SandboxUrls> {
        let mut slot = self.inner.local_sandbox.lock().await;
        let urls = match slot.as_ref() {
            Some(LocalSandbox::Owned(sandbox)) => sandbox.urls().clone(),
            Some(LocalSandbox::Attached(_)) | None => {
                if options.usual_port.is_none() {
                    options.usual_port = self.usual_sandbox_port().await?;
                }
                let sandbox =
                    okta365_sandbox::serve_local(&self.inner.paths.sandbox_dir, options).await?;
                let urls = sandbox.urls().clone();
                tracing::info!(base = %urls.base, "serving the data dir's sandbox in this process");
                *slot = Some(LocalSandbox::Owned(sandbox));
                urls
            }
        };
        drop(slot);
        self.follow_sandbox_port(&urls).await?;
        Ok(urls)
    }

    /// Brings back what the active profile needs after a start: when it is on the data dir's own
    /// sandbox, makes sure that sandbox is served (starting it in this process if nobody serves it) and
    /// that the profiles on it point at its port. Returns the sandbox's URLs then, and `None` (doing
    /// nothing) when there is no active profile or it is not on the embedded sandbox.
    ///
    /// The desktop app runs this in the background right after it starts. [`Engine::list_profiles`],
    /// [`Engine::profile`] and [`Engine::set_wizard_step`] called after `resume()` wait for it, so they
    /// never answer with a port that is about to change: the wait starts when `resume()` is called, not
    /// when the future is first polled. A failure is logged and returned; it is not fatal, and the next
    /// call that needs the sandbox (selecting or creating a sandbox profile) tries again and reports it.
    pub fn resume(&self) -> impl Future<Output = Result<Option<SandboxUrls>>> + Send + 'static {
        let engine = self.clone();
        let held = self.inner.resume_gate.clone().try_write_owned().ok();
        async move {
            let _gate = match held {
                Some(gate) => gate,
                None => engine.inner.resume_gate.clone().write_owned().await,
            };
            let result = engine.resume_active_profile().await;
            match &result {
                Ok(Some(urls)) => {
                    tracing::info!(base = %urls.base, "resumed the sandbox of the active profile")
                }
                Ok(None) => {
                    tracing::debug!("the active profile needs nothing started")
                }
                Err(error) => tracing::warn!(
                    %error,
                    "could not start the sandbox of the active profile; it will be tried again when it is needed"
                ),
            }
            result
        }
    }

    async fn resume_active_profile(&self) -> Result<Option<SandboxUrls>> {
        let Some(active) = self.db(|store| store.active_profile_id()).await? else {
            return Ok(None);
        };
        let Some(record) = self.db(move |store| store.profile_by_id(active)).await? else {
            return Ok(None);
        };
        if !record.embedded_sandbox {
            return Ok(None);
        }
        self.ensure_local_sandbox().await.map(Some)
    }

    /// Waits until a [`Engine::resume`] in progress has finished.
    pub(crate) async fn resumed(&self) {
        drop(self.inner.resume_gate.read().await);
    }

    /// Stops the sandbox server this engine started, if any (releasing the data dir's sandbox lock).
    pub async fn shutdown(&self) {
        if let Some(LocalSandbox::Owned(sandbox)) = self.inner.local_sandbox.lock().await.take() {
            let base = sandbox.urls().base.clone();
            sandbox.shutdown().await;
            tracing::info!(%base, "stopped the data dir's sandbox");
        }
    }

    /// The port the profiles on the data dir's sandbox point at, worth keeping when the server restarts.
    async fn usual_sandbox_port(&self) -> Result<Option<u16>> {
        Ok(self
            .db(|store| store.list_profiles())
            .await?
            .into_iter()
            .filter(|p| p.embedded_sandbox)
            .find_map(|p| Url::parse(&p.okta_org_url).ok()?.port()))
    }

    /// Points the profiles on the data dir's sandbox at `urls` (its port may have changed).
    async fn follow_sandbox_port(&self, urls: &SandboxUrls) -> Result<()> {
        let (okta, entra, graph) = (
            urls.okta_org.to_string(),
            urls.entra_login.to_string(),
            urls.graph.to_string(),
        );
        let changed = self
            .db(move |store| store.update_embedded_sandbox_urls(&okta, &entra, &graph))
            .await?;
        if changed > 0 {
            tracing::info!(profiles = changed, base = %urls.base, "sandbox profiles now follow the sandbox's new port");
        }
        Ok(())
    }

    // ---- helpers ----

    /// Runs a store call on a blocking thread.
    pub(crate) async fn db<T: Send + 'static>(
        &self,
        call: impl FnOnce(&Store) -> okta365_store::Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = self.inner.store.clone();
        Ok(tokio::task::spawn_blocking(move || call(&store)).await??)
    }

    pub(crate) async fn find(&self, id_or_name: &str) -> Result<ProfileRecord> {
        let query = id_or_name.trim().to_owned();
        let not_found = || Error::ProfileNotFound {
            query: id_or_name.trim().to_owned(),
        };
        if query.is_empty() {
            return Err(not_found());
        }
        let found = self
            .db(move |store| match Uuid::parse_str(&query) {
                Ok(id) => match store.profile_by_id(id)? {
                    Some(found) => Ok(Some(found)),
                    None => store.profile_by_name(&query),
                },
                Err(_) => store.profile_by_name(&query),
            })
            .await?;
        match found {
            Some(record) => Ok(record),
            None => {
                // SQLite's NOCASE folds ASCII only; compare names the way people read them too.
                let wanted = id_or_name.trim().to_lowercase();
                let all = self.db(|store| store.list_profiles()).await?;
                all.into_iter()
                    .find(|p| p.name.to_lowercase() == wanted)
                    .ok_or_else(not_found)
            }
        }
    }

    pub(crate) async fn find_by_id(&self, id: Uuid) -> Result<ProfileRecord> {
        self.db(move |store| store.profile_by_id(id))
            .await?
            .ok_or_else(|| Error::ProfileNotFound {
                query: id.to_string(),
            })
    }

    pub(crate) async fn ensure_name_free(&self, name: &str) -> Result<()> {
        let wanted = name.to_lowercase();
        let all = self.db(|store| store.list_profiles()).await?;
        match all.into_iter().find(|p| p.name.to_lowercase() == wanted) {
            Some(existing) => Err(Error::ProfileExists {
                name: existing.name,
                id: Some(existing.id.to_string()),
            }),
            None => Ok(()),
        }
    }

    async fn free_default_name(&self) -> Result<String> {
        let taken: Vec<String> = self
            .db(|store| store.list_profiles())
            .await?
            .into_iter()
            .map(|p| p.name.to_lowercase())
            .collect();
        let name = (1..)
            .map(|n| {
                if n == 1 {
                    DEFAULT_SANDBOX_PROFILE_NAME.to_owned()
                } else {
                    format!("{DEFAULT_SANDBOX_PROFILE_NAME} {n}")
                }
            })
            .find(|candidate| !taken.contains(&candidate.to_lowercase()))
            .expect("an unbounded range always has a free name");
        Ok(name)
    }

    async fn check_sandbox_health(&self, base: &Url) -> Result<()> {
        let unreachable = |detail: String| Error::SandboxUnreachable {
            url: base.to_string(),
            detail,
        };
        let url = base
            .join("_sandbox/health")
            .map_err(|e| unreachable(e.to_string()))?;
        let response = self
            .inner
            .http
            .for_url(&url)
            .get(url)
            .send()
            .await
            .map_err(|e| {
                unreachable(if e.is_timeout() {
                    format!(
                        "it did not answer within {} s",
                        SANDBOX_HEALTH_TIMEOUT.as_secs()
                    )
                } else if e.is_connect() {
                    "nothing is listening there".to_owned()
                } else {
                    e.to_string()
                })
            })?;
        let status = response.status();
        if !status.is_success() {
            return Err(unreachable(format!(
                "its health check answered HTTP {}",
                status.as_u16()
            )));
        }
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|_| unreachable("its health check did not answer JSON".to_owned()))?;
        if body.get("ok").and_then(|ok| ok.as_bool()) != Some(true) {
            return Err(unreachable("its health check did not report ok".to_owned()));
        }
        Ok(())
    }

    /// Best-effort cleanup of secrets stored for a profile whose creation then failed.
    async fn forget_secrets(&self, profile_key: &str, kinds: impl Iterator<Item = CredentialKind>) {
        for kind in kinds {
            if let Err(e) = self.inner.keychain.delete(profile_key, kind).await {
                tracing::warn!(profile_id = profile_key, kind = kind.as_str(), error = %e, "could not clean up a keychain entry");
            }
        }
    }
}

/// Checks a profile name and returns it trimmed: 1–64 characters, no control characters.
pub fn validate_profile_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::invalid("A profile name cannot be empty."));
    }
    let chars = name.chars().count();
    if chars > MAX_PROFILE_NAME_CHARS {
        return Err(Error::invalid(format!(
            "A profile name can be at most {MAX_PROFILE_NAME_CHARS} characters; this one has {chars}."
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid(
            "A profile name cannot contain control characters such as tabs or line breaks.",
        ));
    }
    Ok(name.to_owned())
}

pub(crate) fn to_dto(record: ProfileRecord) -> Result<Profile> {
    let wizard_step = StepId::parse(&record.wizard_step).ok_or_else(|| {
        Error::Store(okta365_store::Error::Corrupt {
            column: "profiles.wizard_step",
            value: record.wizard_step.clone(),
        })
    })?;
    let connections = crate::connect::connections_of(&record)?;
    Ok(Profile {
        id: record.id.to_string(),
        name: record.name,
        kind: match record.kind {
            okta365_store::ProfileKind::Sandbox => ProfileKind::Sandbox,
            okta365_store::ProfileKind::Tenant => ProfileKind::Tenant,
        },
        okta_org_url: record.okta_org_url,
        entra_login_url: record.entra_login_url,
        graph_url: record.graph_url,
        ms_tenant: record.ms_tenant,
        ms_client_id: record.ms_client_id,
        embedded_sandbox: record.embedded_sandbox,
        wizard_step,
        created_at: record.created_at.to_string(),
        microsoft: connections.microsoft,
        okta: connections.okta,
        operations: connections.operations,
        groups: crate::setup::groups::default_group_settings(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_names_are_checked() {
        assert_eq!(
            validate_profile_name("  Prod  ").unwrap(),
            "Prod",
            "names are trimmed"
        );
        assert_eq!(
            validate_profile_name(" ").unwrap_err().to_string(),
            "A profile name cannot be empty."
        );
        assert_eq!(
            validate_profile_name(&"x".repeat(65))
                .unwrap_err()
                .to_string(),
            "A profile name can be at most 64 characters; this one has 65."
        );
        assert!(
            validate_profile_name(&"é".repeat(64)).is_ok(),
            "the limit counts characters, not bytes"
        );
        assert_eq!(
            validate_profile_name("a\tb").unwrap_err().to_string(),
            "A profile name cannot contain control characters such as tabs or line breaks."
        );
    }
}
