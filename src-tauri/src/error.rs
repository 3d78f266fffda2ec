//! Why the desktop app could not start. Errors from commands never come here: they cross IPC as
//! [`okta365_engine::ApiError`]; so does an engine that could not open (see [`crate::AppState`]).

/// A start-up failure, reported on stderr by `main` with [`Error::exit_code`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Linux/BSD without X11 or Wayland: a webview cannot open, the CLI can still do the work.
    #[error(
        "okta365 needs a graphical display, and none was found (neither DISPLAY nor WAYLAND_DISPLAY is set).\n\
         Start it from a desktop session (or over SSH with X forwarding, `ssh -X`).\n\
         On a server, use the command-line tool: `okta365 --help`"
    )]
    NoDisplay,

    /// Tauri could not create the window or the webview.
    #[error("okta365 could not open its window: {0}")]
    Tauri(Box<tauri::Error>),
}

// Boxed: tauri's error is large, and this error only travels once, from `run` to `main`.
impl From<tauri::Error> for Error {
    fn from(error: tauri::Error) -> Self {
        Error::Tauri(Box::new(error))
    }
}

impl Error {
    /// The process exit code: 2 when there is no display (a usage problem, as for a CLI), 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::NoDisplay => 2,
            _ => 1,
        }
    }
}

/// This crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
