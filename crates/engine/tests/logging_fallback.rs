//! When the log dir cannot be used (or the data dir is unknown), `logging::init_or_stderr` still logs,
//! to stderr, and says why. A subscriber is process-wide, so each case runs this test binary again as a
//! child process and reads what the child wrote on stderr.

use std::{path::Path, process::Command};

use okta365_engine::{Paths, logging};

const CHILD_ENV: &str = "OKTA365_LOGGING_FALLBACK_CHILD";

/// Runs the test `name` of this binary in a child process with `CHILD_ENV=value`; returns its stderr.
fn run_child(name: &str, value: &str) -> String {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, value)
        .env_remove(logging::LOG_ENV)
        .output()
        .expect("the test binary runs again as a child");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "the child test {name} passes; stderr:\n{stderr}"
    );
    stderr
}

/// In the child: install logging for `paths`, which must fall back to stderr, and log two lines.
fn child(paths: Option<&Paths>) {
    let guard = logging::init_or_stderr(paths, "okta365-app");
    assert!(guard.is_none(), "no log file can be written here");
    tracing::info!("a line after the fallback");
    tracing::info!(authorization = "SSWS 00secret-token-value", "calling Okta");
}

#[test]
fn an_unusable_log_dir_falls_back_to_stderr() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        return child(Some(&Paths::at(Path::new(&dir))));
    }
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::write(&logs, "a file where the log folder should be").unwrap();

    let stderr = run_child(
        "an_unusable_log_dir_falls_back_to_stderr",
        dir.path().to_str().unwrap(),
    );
    assert!(
        stderr.contains(&format!(
            "logging to stderr only, no log file: {} is a file, but okta365 needs a folder there",
            logs.display()
        )),
        "the first line says why there is no log file, naming the folder:\n{stderr}"
    );
    assert!(
        stderr.contains("okta365-app starting") && stderr.contains("a line after the fallback"),
        "later lines still reach stderr:\n{stderr}"
    );
    assert!(
        stderr.contains("SSWS <redacted>") && !stderr.contains("00secret-token-value"),
        "stderr is redacted like the file:\n{stderr}"
    );
    assert!(logs.is_file(), "the file in the way was left alone");
}

#[test]
fn an_unknown_data_dir_logs_to_stderr() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return child(None);
    }
    let stderr = run_child("an_unknown_data_dir_logs_to_stderr", "none");
    assert!(
        stderr.contains("logging to stderr only, no log file: the data dir is not known"),
        "{stderr}"
    );
    assert!(stderr.contains("a line after the fallback"), "{stderr}");
}
