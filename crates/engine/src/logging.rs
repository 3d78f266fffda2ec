//! Tracing setup for the binaries (app and CLI): a daily rolling file `{log_dir}/okta365.log.YYYY-MM-DD`
//! plus stderr, filtered by `OKTA365_LOG` (an `EnvFilter` directive such as `debug` or
//! `info,okta365_engine=trace`; default `info`).
//!
//! Secrets are kept out of log lines twice over: [`okta365_secrets::Secret`] prints `<redacted>`, and
//! every formatted line goes through [`redact`], which masks token shapes (`SSWS …`, `Bearer …`,
//! `DPoP …`, JWTs, `client_secret=…`, `"access_token":"…"`, …) before it is written anywhere.
//!
//! Libraries never install a subscriber; only `main` of the app and the CLI call [`init`].

use std::{
    borrow::Cow,
    io::{self, Write},
    sync::LazyLock,
};

use regex::Regex;
use tracing_appender::{non_blocking::WorkerGuard, rolling};
use tracing_subscriber::{
    EnvFilter, Layer, fmt::MakeWriter, layer::SubscriberExt, util::SubscriberInitExt,
};

use crate::{
    error::{Error, Result},
    paths::Paths,
};

/// The environment variable holding the log filter.
pub const LOG_ENV: &str = "OKTA365_LOG";

/// The CLI's app name for [`init`].
pub const CLI_APP: &str = "okta365";

/// The log file prefix; files are named `okta365.log.YYYY-MM-DD`.
pub const LOG_FILE_PREFIX: &str = "okta365.log";

/// Keeps the log file writer alive; drop it last (at the end of `main`) so buffered lines are flushed.
#[must_use = "dropping the guard stops writing the log file"]
pub struct LogGuard {
    _file: WorkerGuard,
}

impl std::fmt::Debug for LogGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogGuard")
    }
}

/// Installs the global subscriber for the binary `app` (`"okta365"` for the CLI, `"okta365-app"` for the
/// desktop app).
///
/// The file gets everything `OKTA365_LOG` allows (default `info`). So does stderr for the app; for the
/// CLI, whose stdout and stderr are its interface, stderr gets log lines only when `OKTA365_LOG` is set.
pub fn init(paths: &Paths, app: &str) -> Result<LogGuard> {
    crate::paths::create_dir(&paths.log_dir)?;
    let file = rolling::Builder::new()
        .rotation(rolling::Rotation::DAILY)
        .filename_prefix(LOG_FILE_PREFIX)
        .build(&paths.log_dir)
        .map_err(|e| {
            Error::Logging(format!(
                "the log file in {} cannot be opened ({e})",
                paths.log_dir.display()
            ))
        })?;
    let (file, guard) = tracing_appender::non_blocking(file);

    let filters = Filters::from_env(app);
    // No ANSI colours: escape codes between a field name and its value would hide the value from redaction.
    let file_layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(Redacting(file))
        .with_filter(filters.file);
    let stderr_layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(Redacting(io::stderr))
        .with_filter(filters.stderr);
    tracing_subscriber::registry()
        .with(file_layer)
        .with(stderr_layer)
        .try_init()
        .map_err(|e| Error::Logging(format!("a logger is already installed ({e})")))?;

    if let Some(e) = filters.bad_spec {
        tracing::warn!("{LOG_ENV} is not a valid filter ({e}); logging at info instead");
    }
    tracing::info!(
        app,
        version = env!("CARGO_PKG_VERSION"),
        pid = std::process::id(),
        data_dir = %paths.data_dir.display(),
        "{app} starting"
    );
    Ok(LogGuard { _file: guard })
}

/// Like [`init`], but never stops a start-up: when `paths` is unknown (the data dir could not be
/// determined) or the log dir cannot be used, log lines go to stderr only, and the first one says why.
/// Returns the log file's guard when there is a file.
///
/// The desktop app uses this so that it can still open its window and show why it cannot work.
pub fn init_or_stderr(paths: Option<&Paths>, app: &str) -> Option<LogGuard> {
    let why = match paths {
        Some(paths) => match init(paths, app) {
            Ok(guard) => return Some(guard),
            Err(e) => e.to_string(),
        },
        None => "the data dir is not known".to_owned(),
    };
    // `init` fails before installing anything, except when a logger is installed already; then this
    // fails too and that logger stays.
    let filters = Filters::from_env(app);
    let stderr_layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(Redacting(io::stderr))
        .with_filter(filters.stderr);
    if tracing_subscriber::registry()
        .with(stderr_layer)
        .try_init()
        .is_ok()
    {
        tracing::warn!("logging to stderr only, no log file: {why}");
        tracing::info!(
            app,
            version = env!("CARGO_PKG_VERSION"),
            pid = std::process::id(),
            "{app} starting"
        );
    }
    None
}

/// The filters of the file and stderr layers, from `OKTA365_LOG`.
struct Filters {
    file: EnvFilter,
    stderr: EnvFilter,
    /// Why `OKTA365_LOG` was ignored, if it was.
    bad_spec: Option<String>,
}

impl Filters {
    fn from_env(app: &str) -> Filters {
        let spec = std::env::var(LOG_ENV).ok().filter(|s| !s.trim().is_empty());
        let (file, bad_spec) = match spec.as_deref().map(EnvFilter::try_new) {
            Some(Ok(filter)) => (filter, None),
            Some(Err(e)) => (EnvFilter::new("info"), Some(e.to_string())),
            None => (EnvFilter::new("info"), None),
        };
        // The CLI's stderr is part of its interface (it prints its own errors there), so it only carries
        // log lines when OKTA365_LOG asks for them.
        let stderr = match (&spec, &bad_spec) {
            (Some(spec), None) => EnvFilter::new(spec),
            _ if app == CLI_APP => EnvFilter::new("off"),
            _ => EnvFilter::new("info"),
        };
        Filters {
            file,
            stderr,
            bad_spec,
        }
    }
}

/// Masks secret-shaped substrings (auth headers, JWTs, `secret=`/`token=` values) in a formatted line.
pub fn redact(line: &str) -> Cow<'_, str> {
    static PATTERNS: LazyLock<[(Regex, &'static str); 3]> = LazyLock::new(|| {
        [
            // JWTs (access tokens, id tokens, client assertions, DPoP proofs): three base64url parts.
            (Regex::new(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*").unwrap(), "<redacted>"),
            // Authorization header values.
            (Regex::new(r"(?i)\b(SSWS|Bearer|DPoP|Basic)(\s+)[A-Za-z0-9._~+/=-]+").unwrap(), "$1$2<redacted>"),
            // key=value, key: value and "key":"value" for secret-ish keys (also inside escaped JSON).
            (
                Regex::new(
                    // Not after `::`: a module path such as `okta365_graph::token:` is not a key.
                    r#"(?i)((?:^|[^:\w])\w*(?:secret|token|password|assertion|api_?key)\\?["']?\s*[:=]\s*\\?["']?)([^\s"'&,;}\\<]+)"#,
                )
                .unwrap(),
                "$1<redacted>",
            ),
        ]
    });
    let mut out = Cow::Borrowed(line);
    for (pattern, replacement) in PATTERNS.iter() {
        if let Cow::Owned(replaced) = pattern.replace_all(&out, *replacement) {
            out = Cow::Owned(replaced);
        }
    }
    out
}

/// A [`MakeWriter`] whose writers redact each event before passing it on.
struct Redacting<M>(M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            inner: self.0.make_writer(),
            buffer: Vec::new(),
        }
    }
}

/// Buffers one event (the fmt layer makes one writer per event) and writes it redacted when dropped.
struct RedactingWriter<W: Write> {
    inner: W,
    buffer: Vec<u8>,
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.buffer.is_empty() {
            let text = String::from_utf8_lossy(&self.buffer);
            self.inner.write_all(redact(&text).as_bytes())?;
            self.buffer.clear();
        }
        self.inner.flush()
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn masks_token_shapes() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXBhcnQ";
        let cases = [
            (
                "Authorization: SSWS 00aBcD-efGh_ijkl",
                "Authorization: SSWS <redacted>",
            ),
            (
                &format!("authorization: Bearer {jwt}") as &str,
                "authorization: Bearer <redacted>",
            ),
            (&format!("DPoP {jwt}"), "DPoP <redacted>"),
            (&format!("token {jwt} end"), "token <redacted> end"),
            (
                "grant_type=client_credentials&client_secret=abc~DEF.123&scope=x",
                "grant_type=client_credentials&client_secret=<redacted>&scope=x",
            ),
            (
                r#"{"token_type":"Bearer","access_token":"opaque-value-1","expires_in":3599}"#,
                r#"{"token_type":"Bearer","access_token":"<redacted>","expires_in":3599}"#,
            ),
            (
                r#"body="{\"clientSecret\":\"s3cr3t\"}""#,
                r#"body="{\"clientSecret\":\"<redacted>\"}""#,
            ),
            (
                "okta_api_token: \"00tok\"",
                "okta_api_token: \"<redacted>\"",
            ),
            (
                "password=hunter2 user=jane",
                "password=<redacted> user=jane",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(redact(input), expected, "redacting {input:?}");
        }
    }

    #[test]
    fn leaves_ordinary_lines_alone() {
        for line in [
            "applied store migration version=1",
            "profile created name=Sandbox kind=sandbox token_type=none",
            "GET http://127.0.0.1:4567/api/v1/groups?limit=200 -> 200",
            "secret=<redacted>",
            "DEBUG okta365_graph::token: requesting an access token token_url=http://127.0.0.1:4100/t",
        ] {
            assert_eq!(redact(line), line, "nothing secret in {line:?}");
        }
    }
}
