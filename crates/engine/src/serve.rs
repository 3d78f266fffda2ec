//! Serving the data dir's sandbox in the foreground with a chosen port and seed (`okta365 sandbox serve`).
//!
//! [`okta365_sandbox::ensure_local`] covers the common case (attach, or start with the demo seed on the
//! previous port) but takes no port or seed, so this module follows the same data-dir protocol from
//! docs/architecture.md itself: hold `sandbox/server.lock` (an OS file lock) for as long as the server
//! runs, publish `sandbox/server.json` (`{pid, port, baseUrl, startedAt}`, atomically) once it listens,
//! and remove it on shutdown. The state file is named by its canonical path, as `ensure_local` expects
//! in the health check, so the app and other commands attach to this server.

use std::{
    fs::{File, OpenOptions, TryLockError},
    io::Write,
    path::{Path, PathBuf},
};

use okta365_sandbox::{Sandbox, SandboxConfig, SandboxUrls, Seed, StateLocation};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

const STATE_FILE: &str = "state.json";
const SERVER_FILE: &str = "server.json";
const LOCK_FILE: &str = "server.lock";

/// How to serve the data dir's sandbox.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// The loopback port; `None` prefers the previous port when free, else any free port.
    pub port: Option<u16>,
    /// A seed file to start from when the data dir has no sandbox state yet (or with `reset`);
    /// `None` means the demo seed.
    pub seed: Option<PathBuf>,
    /// Discard the current sandbox state (including minted credentials) and start from the seed.
    pub reset: bool,
}

/// `sandbox/server.json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServerInfo {
    pid: u32,
    port: u16,
    base_url: String,
    started_at: String,
}

/// The data dir's sandbox served by this process; [`Served::shutdown`] stops it and frees the directory.
#[derive(Debug)]
pub(crate) struct Served {
    sandbox: Sandbox,
    dir: PathBuf,
    lock: File,
}

impl Served {
    pub(crate) fn urls(&self) -> &SandboxUrls {
        self.sandbox.urls()
    }

    pub(crate) async fn shutdown(self) {
        let port = self.sandbox.urls().base.port();
        self.sandbox.shutdown().await;
        let server_file = self.dir.join(SERVER_FILE);
        if read_server_info(&server_file)
            .is_some_and(|i| i.pid == std::process::id() && Some(i.port) == port)
        {
            let _ = std::fs::remove_file(&server_file);
        }
        let _ = self.lock.unlock();
    }
}

/// Takes the data dir's sandbox and serves it in this process, or fails with
/// [`Error::SandboxAlreadyServed`] when another process serves it. Without an explicit port it prefers
/// the port of a previous server that did not shut down cleanly, then `usual_port` (where the profiles on
/// it point), then any free port.
pub(crate) async fn serve(
    sandbox_dir: &Path,
    options: &ServeOptions,
    usual_port: Option<u16>,
) -> Result<Served> {
    // Read the seed first: a bad file is the user's to fix, before anything changes on disk.
    let seed = match &options.seed {
        Some(path) => Seed::from_file(path)?,
        None => Seed::demo(),
    };
    std::fs::create_dir_all(sandbox_dir).map_err(|source| Error::Dir {
        path: sandbox_dir.to_owned(),
        source,
    })?;
    let dir = sandbox_dir.canonicalize().map_err(|source| Error::Dir {
        path: sandbox_dir.to_owned(),
        source,
    })?;
    let server_file = dir.join(SERVER_FILE);
    let state_file = dir.join(STATE_FILE);
    let lock_path = dir.join(LOCK_FILE);
    let previous = read_server_info(&server_file);

    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|source| Error::Dir {
            path: lock_path.clone(),
            source,
        })?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let url = read_server_info(&server_file).map(|i| i.base_url);
            return Err(Error::SandboxAlreadyServed {
                dir: dir.clone(),
                url,
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
                tracing::info!(state = %state_file.display(), "discarded the sandbox state (--reset)")
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(Error::Dir {
                    path: state_file,
                    source,
                });
            }
        }
    }
    if options.seed.is_some() && !options.reset && state_file.exists() {
        let _ = lock.unlock();
        return Err(Error::invalid(format!(
            "The sandbox in {} already has state, so --seed would be ignored. Add --reset to discard that state \
             (including its minted credentials) and start from the seed file.",
            dir.display()
        )));
    }
    let config = |port| SandboxConfig {
        port,
        state: StateLocation::File(state_file.clone()),
        seed: seed.clone(),
    };
    let preferred = previous.map(|i| i.port).or(usual_port).filter(|p| *p != 0);
    let sandbox = match (options.port, preferred) {
        (Some(port), _) => Sandbox::start(config(Some(port))).await?,
        // Keep the previous port when free so profile URLs stay the same; else any free port.
        (None, Some(previous)) => match Sandbox::start(config(Some(previous))).await {
            Ok(sandbox) => sandbox,
            Err(okta365_sandbox::Error::Bind { .. }) => Sandbox::start(config(None)).await?,
            Err(e) => return Err(e.into()),
        },
        (None, None) => Sandbox::start(config(None)).await?,
    };

    let info = ServerInfo {
        pid: std::process::id(),
        port: sandbox.urls().base.port().unwrap_or_default(),
        base_url: sandbox.urls().base.to_string(),
        started_at: jiff::Timestamp::now().to_string(),
    };
    let bytes = serde_json::to_vec_pretty(&info).expect("server info serializes");
    if let Err(source) = write_atomically(&server_file, &bytes) {
        sandbox.shutdown().await;
        return Err(Error::Dir {
            path: server_file,
            source,
        });
    }
    tracing::info!(base = %info.base_url, dir = %dir.display(), "serving the data dir's sandbox");
    Ok(Served { sandbox, dir, lock })
}

fn read_server_info(path: &Path) -> Option<ServerInfo> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".{}.{}.tmp", SERVER_FILE, std::process::id()));
    let result = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
