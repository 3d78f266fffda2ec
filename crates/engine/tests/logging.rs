//! The real subscriber writes to the daily log file, and secrets never reach it.

use okta365_engine::{Paths, logging};
use okta365_secrets::Secret;

#[test]
fn log_file_gets_lines_but_never_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::at(dir.path());
    let guard =
        logging::init(&paths, "okta365-app").expect("the first init in this process succeeds");

    let secret = Secret::new("my-client-secret-value-123");
    let jwt = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJhcHAiLCJyb2xlcyI6WyJVc2VyLlJlYWQuQWxsIl19.c2lnbmF0dXJlX2J5dGVz";
    tracing::info!(client_secret = %secret, debug_form = ?secret, "stored the Entra client secret");
    tracing::warn!(authorization = %format!("Bearer {jwt}"), "calling Graph");
    tracing::info!(
        "okta request header: Authorization: SSWS 00QCjAl4MlV-WPXM-ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    );
    tracing::info!(
        body = r#"{"token_type":"Bearer","access_token":"opaque-AT-42","expires_in":3599}"#,
        "token response"
    );
    assert!(
        logging::init(&paths, "okta365-app").is_err(),
        "a second init reports that a logger is installed"
    );
    drop(guard); // flushes the non-blocking writer

    let files: Vec<_> = std::fs::read_dir(&paths.log_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 1, "one daily file: {files:?}");
    let today = jiff::Zoned::now().strftime("%Y-%m-%d").to_string();
    let utc_today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
    assert!(
        files[0] == format!("okta365.log.{today}")
            || files[0] == format!("okta365.log.{utc_today}"),
        "the file is named okta365.log.YYYY-MM-DD: {files:?}"
    );
    let log = std::fs::read_to_string(paths.log_dir.join(&files[0])).unwrap();

    for needle in [
        "stored the Entra client secret",
        "calling Graph",
        "token response",
        "okta365-app starting",
    ] {
        assert!(
            log.contains(needle),
            "the log has the line {needle:?}:\n{log}"
        );
    }
    for leaked in [
        "my-client-secret-value-123",
        jwt,
        "eyJhbGci",
        "00QCjAl4MlV",
        "opaque-AT-42",
    ] {
        assert!(
            !log.contains(leaked),
            "the log must not contain {leaked:?}:\n{log}"
        );
    }
    assert!(
        log.contains("client_secret=<redacted>"),
        "the Secret prints <redacted>:\n{log}"
    );
    assert!(
        log.contains("Bearer <redacted>"),
        "the bearer token is masked:\n{log}"
    );
    assert!(
        log.contains("SSWS <redacted>"),
        "the Okta token is masked:\n{log}"
    );
}
