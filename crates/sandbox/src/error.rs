//! The sandbox crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong starting, finding or talking to a sandbox tenant.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The requested loopback port could not be bound.
    #[error(
        "Could not listen on 127.0.0.1:{port}: {source}. Choose another port, or leave the port out to let the system pick a free one."
    )]
    Bind {
        /// The port asked for (0 = any).
        port: u16,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A seed file could not be read.
    #[error("Could not read the sandbox seed file {path}: {source}")]
    SeedRead {
        /// The seed file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A seed file was read but is not a valid seed.
    #[error(
        "The sandbox seed file {path} is not valid: {message}. Start from crates/sandbox/seed/demo.json and keep its layout."
    )]
    SeedInvalid {
        /// The seed file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The state file exists but could not be read.
    #[error("Could not read the sandbox state file {path}: {source}")]
    StateRead {
        /// The state file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The state file is not a sandbox state.
    #[error(
        "The sandbox state file {path} is damaged ({message}). Run `okta365 sandbox reset` to restore the seed; this discards the sandbox tenant's changes."
    )]
    StateCorrupt {
        /// The state file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The state file could not be written.
    #[error(
        "Could not save the sandbox state to {path}: {source}. Check that the data dir is writable and the disk is not full."
    )]
    StateWrite {
        /// The state file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The sandbox directory (or a file in it) could not be used.
    #[error(
        "Could not use the sandbox directory {path}: {source}. Check that the data dir exists and is writable."
    )]
    Dir {
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// Another process holds the sandbox lock but never published a healthy server.
    #[error(
        "Another okta365 process holds {lock} but its sandbox server did not answer within {waited_secs} s. Quit the other okta365 app or `okta365 sandbox serve` process using this data dir, then try again."
    )]
    Busy {
        /// The lock file.
        lock: PathBuf,
        /// How long we waited.
        waited_secs: u64,
    },
    /// `reset_local` refused because a server is running for the directory.
    #[error(
        "The sandbox in {dir} is being served by another process{server}. Quit that okta365 app or `okta365 sandbox serve` first, or reset the running server with POST {{base}}/_sandbox/reset."
    )]
    InUse {
        /// The sandbox directory.
        dir: PathBuf,
        /// " (pid N at URL)" when known.
        server: String,
    },
    /// [`serve_local`](crate::serve_local) found the directory served by another process.
    #[error(
        "The sandbox of this data dir ({dir}) is already served by another okta365 process{}. Use that one, \
         or stop it (quit the app, or Ctrl-C that `okta365 sandbox serve`) and try again.",
        url.as_ref().map(|u| format!(" at {u}")).unwrap_or_default()
    )]
    AlreadyServed {
        /// The sandbox directory.
        dir: PathBuf,
        /// The base URL of the other server, when it published one.
        url: Option<String>,
    },
    /// [`serve_local`](crate::serve_local) was given a seed for a directory that already has state.
    #[error(
        "The sandbox in {dir} already has state, so --seed would be ignored. Add --reset to discard that state \
         (including its minted credentials) and start from the seed file."
    )]
    SeedIgnored {
        /// The sandbox directory.
        dir: PathBuf,
    },
    /// An HTTP call to a sandbox server failed.
    #[error(
        "The sandbox server at {url} could not be reached: {message}. Check that it is still running."
    )]
    Unreachable {
        /// The URL called.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// A sandbox server answered with an unexpected status or body.
    #[error("The sandbox server at {url} answered {status}: {message}")]
    BadAnswer {
        /// The URL called.
        url: String,
        /// The HTTP status.
        status: u16,
        /// A short description of the body.
        message: String,
    },
    /// The sandbox's signing key could not be created or loaded.
    #[error(
        "The sandbox token signing key is unusable ({0}). Run `okta365 sandbox reset` to create a new one."
    )]
    SigningKey(String),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
