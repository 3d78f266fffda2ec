//! The data dir's own sandbox: one server per `sandbox/` directory, found again through `server.json`
//! and guarded by an OS lock on `server.lock`.
//!
//! What must stay true: only the process holding `server.lock` writes `state.json`; `server.json` is
//! written (atomically) only by that process after its server listens, and removed by it on shutdown.
//! A process that dies leaves a stale `server.json` but its lock is released by the OS, so the next
//! caller takes the lock and replaces it.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::{Sandbox, SandboxConfig, SandboxUrls, Seed, StateLocation};

const STATE_FILE: &str = "state.json";
const SERVER_FILE: &str = "server.json";
const LOCK_FILE: &str = "server.lock";
/// How long to wait for another process that holds the lock to publish a healthy server.
const WAIT_FOR_OWNER: Duration = Duration::from_secs(15);
const HEALTH_TIMEOUT: Duration = Duration::from_millis(1500);

/// The data dir's sandbox as [`ensure_local`] found it.
#[derive(Debug)]
pub enum LocalSandbox {
    /// Another process (the app or a CLI) serves it at these URLs.
    Attached(SandboxUrls),
    /// This process serves it; dropping or shutting down the server releases the directory.
    Owned(Sandbox),
}

impl LocalSandbox {
    /// The sandbox's base URLs, whoever serves it.
    pub fn urls(&self) -> &SandboxUrls {
        match self {
            LocalSandbox::Attached(urls) => urls,
            LocalSandbox::Owned(sandbox) => sandbox.urls(),
        }
    }
}

/// `sandbox/server.json`: who serves the directory and where.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ServerInfo {
    pub pid: u32,
    pub port: u16,
    pub base_url: String,
    pub started_at: String,
}

/// Held by the process serving a directory: the locked `server.lock`. Dropping it removes
/// `server.json` (if it is still ours) and releases the lock.
#[derive(Debug)]
pub(crate) struct Ownership {
    dir: PathBuf,
    port: u16,
    lock: File,
}

impl Drop for Ownership {
    fn drop(&mut self) {
        let server_file = self.dir.join(SERVER_FILE);
        if read_server_info(&server_file)
            .is_some_and(|i| i.pid == std::process::id() && i.port == self.port)
        {
            let _ = std::fs::remove_file(&server_file);
        }
        let _ = self.lock.unlock();
    }
}

/// The data dir's own sandbox: attach to the one already served for `sandbox_dir` (server.json + a
/// health check), or take `server.lock` and start one in this process. Safe when the app and the CLI race.
pub async fn ensure_local(sandbox_dir: &Path) -> Result<LocalSandbox> {
    ensure_local_preferring(sandbox_dir, None).await
}

/// [`ensure_local`], and when this process has to start the server, prefer the previous server's port,
/// then `usual_port` (such as the port the profiles on this sandbox point at), then any free port.
pub async fn ensure_local_preferring(
    sandbox_dir: &Path,
    usual_port: Option<u16>,
) -> Result<LocalSandbox> {
    let dir = prepare_dir(sandbox_dir)?;
    let state_file = dir.join(STATE_FILE);
    let server_file = dir.join(SERVER_FILE);
    let lock_path = dir.join(LOCK_FILE);
    let client = http_client(HEALTH_TIMEOUT);
    let started = Instant::now();
    loop {
        let info = read_server_info(&server_file);
        if let Some(info) = &info
            && let Some(urls) = healthy(&client, info, &state_file).await
        {
            return Ok(LocalSandbox::Attached(urls));
        }
        let lock = open_lock(&lock_path)?;
        match lock.try_lock() {
            Ok(()) => {
                // We own the directory now. Someone may have published a server between our health check
                // and the lock (and then exited); either way, what is in server.json is stale.
                let ports: Vec<u16> = info
                    .map(|i| i.port)
                    .into_iter()
                    .chain(usual_port)
                    .filter(|p| *p != 0)
                    .collect();
                let sandbox =
                    start_owned(&dir, &state_file, &ports, false, Seed::demo(), lock).await?;
                return Ok(LocalSandbox::Owned(sandbox));
            }
            Err(TryLockError::WouldBlock) => {
                if started.elapsed() > WAIT_FOR_OWNER {
                    return Err(Error::Busy {
                        lock: lock_path,
                        waited_secs: WAIT_FOR_OWNER.as_secs(),
                    });
                }
                // Another process owns it and is still starting; give it a moment to publish server.json.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(TryLockError::Error(source)) => {
                return Err(Error::Dir {
                    path: lock_path,
                    source,
                });
            }
        }
    }
}

/// How [`serve_local`] serves the data dir's sandbox (what `okta365 sandbox serve` asks for).
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// The loopback port. `None` prefers the port of the previous server (so profile URLs stay the
    /// same), then [`ServeOptions::usual_port`], then any free port.
    pub port: Option<u16>,
    /// A port worth keeping when free, such as the one the profiles on this sandbox point at.
    pub usual_port: Option<u16>,
    /// The seed to start from when the directory has no state yet (or with `reset`); `None` = the demo seed.
    pub seed: Option<Seed>,
    /// Discard the current state (including minted credentials) and start from the seed.
    pub reset: bool,
}

/// Takes the data dir's sandbox and serves it in this process, with a chosen port and seed. Fails with
/// [`Error::AlreadyServed`] when another process serves it, and with [`Error::SeedIgnored`] when a seed
/// is given for a directory that already has state and `reset` is not set.
pub async fn serve_local(sandbox_dir: &Path, options: ServeOptions) -> Result<Sandbox> {
    let dir = prepare_dir(sandbox_dir)?;
    let state_file = dir.join(STATE_FILE);
    let server_file = dir.join(SERVER_FILE);
    let lock_path = dir.join(LOCK_FILE);
    let previous = read_server_info(&server_file);
    let lock = open_lock(&lock_path)?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(Error::AlreadyServed {
                url: read_server_info(&server_file).map(|i| i.base_url),
                dir,
            });
        }
        Err(TryLockError::Error(source)) => {
            return Err(Error::Dir {
                path: lock_path,
                source,
            });
        }
    }
    if options.reset {
        match std::fs::remove_file(&state_file) {
            Ok(()) => {
                tracing::info!(state = %state_file.display(), "discarded the sandbox state (reset)")
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(Error::Dir {
                    path: state_file,
                    source,
                });
            }
        }
    } else if options.seed.is_some() && state_file.exists() {
        return Err(Error::SeedIgnored { dir });
    }
    let ports = match options.port {
        Some(port) => vec![port],
        None => previous
            .map(|i| i.port)
            .into_iter()
            .chain(options.usual_port)
            .filter(|p| *p != 0)
            .collect(),
    };
    let explicit = options.port.is_some();
    let seed = options.seed.unwrap_or_else(Seed::demo);
    start_owned(&dir, &state_file, &ports, explicit, seed, lock).await
}

/// Starts the directory's server in this process (the caller holds `lock`) on the first of `ports` that
/// is free (any free port when none is, unless `only_these` is set), and publishes `server.json`.
async fn start_owned(
    dir: &Path,
    state_file: &Path,
    ports: &[u16],
    only_these: bool,
    seed: Seed,
    lock: File,
) -> Result<Sandbox> {
    let config = |port| SandboxConfig {
        port,
        state: StateLocation::File(state_file.to_owned()),
        seed: seed.clone(),
    };
    let mut started = None;
    for &port in ports {
        match Sandbox::start(config(Some(port))).await {
            Ok(sandbox) => {
                started = Some(sandbox);
                break;
            }
            Err(e @ Error::Bind { .. }) if only_these => return Err(e),
            Err(Error::Bind { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    let mut sandbox = match started {
        Some(sandbox) => sandbox,
        None => Sandbox::start(config(None)).await?,
    };
    let port = sandbox.urls().base.port().unwrap_or_default();
    let info = ServerInfo {
        pid: std::process::id(),
        port,
        base_url: sandbox.urls().base.to_string(),
        started_at: jiff::Timestamp::now().to_string(),
    };
    let server_file = dir.join(SERVER_FILE);
    let bytes = serde_json::to_vec_pretty(&info).expect("server info serializes");
    if let Err(source) = crate::state::write_atomically(&server_file, &bytes) {
        sandbox.shutdown().await;
        return Err(Error::Dir {
            path: server_file,
            source,
        });
    }
    sandbox.owner = Some(Ownership {
        dir: dir.to_owned(),
        port,
        lock,
    });
    Ok(sandbox)
}

/// Creates the sandbox directory and returns its canonical path (the health check compares state-file
/// paths, so every process must name the directory the same way).
fn prepare_dir(sandbox_dir: &Path) -> Result<PathBuf> {
    let dir_error = |source| Error::Dir {
        path: sandbox_dir.to_owned(),
        source,
    };
    std::fs::create_dir_all(sandbox_dir).map_err(dir_error)?;
    sandbox_dir.canonicalize().map_err(dir_error)
}

/// Restores the seed in the data dir's sandbox (refuses while another process serves it).
pub fn reset_local(sandbox_dir: &Path) -> Result<()> {
    std::fs::create_dir_all(sandbox_dir).map_err(|source| Error::Dir {
        path: sandbox_dir.to_owned(),
        source,
    })?;
    let lock_path = sandbox_dir.join(LOCK_FILE);
    let lock = open_lock(&lock_path)?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let server = read_server_info(&sandbox_dir.join(SERVER_FILE))
                .map(|i| format!(" (pid {} at {})", i.pid, i.base_url))
                .unwrap_or_default();
            return Err(Error::InUse {
                dir: sandbox_dir.to_owned(),
                server,
            });
        }
        Err(TryLockError::Error(source)) => {
            return Err(Error::Dir {
                path: lock_path,
                source,
            });
        }
    }
    let state_file = sandbox_dir.join(STATE_FILE);
    let seed = Seed::demo();
    let state = match crate::state::State::load(&state_file) {
        Ok(mut state) => {
            state.reset_to(&seed);
            state
        }
        // A missing or damaged file is exactly what reset is for: start over from the seed.
        Err(_) => crate::state::State::from_seed(&seed),
    };
    let result = state.save(&state_file);
    let _ = lock.unlock();
    result
}

fn open_lock(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|source| Error::Dir {
            path: path.to_owned(),
            source,
        })
}

fn read_server_info(path: &Path) -> Option<ServerInfo> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// The URLs of the server in `info` if it answers and serves `state_file`.
async fn healthy(
    client: &reqwest::Client,
    info: &ServerInfo,
    state_file: &Path,
) -> Option<SandboxUrls> {
    let urls = SandboxUrls::for_port(info.port);
    let health: serde_json::Value = client
        .get(urls.base.join("_sandbox/health").ok()?)
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    let served = health.get("stateFile")?.as_str()?;
    (health.get("ok")?.as_bool()? && Path::new(served) == state_file).then_some(urls)
}

/// A plain HTTP client for loopback calls (no proxy: the sandbox is always local).
pub(crate) fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .expect("a reqwest client with only timeouts set always builds")
}
