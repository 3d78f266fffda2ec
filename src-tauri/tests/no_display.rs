//! Started where there is no graphical display (a server, CI, an SSH session), the app must say so
//! and point to the CLI, not panic inside GTK.

use std::process::Command;

#[test]
#[cfg(all(unix, not(target_os = "macos")))]
fn without_a_display_the_app_explains_and_exits_with_2() {
    let data_dir = tempfile::tempdir().expect("a temp dir for OKTA365_DATA_DIR");
    let output = Command::new(env!("CARGO_BIN_EXE_okta365-app"))
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("OKTA365_DATA_DIR", data_dir.path())
        .output()
        .expect("the okta365-app binary runs");

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(2),
        "no display is exit code 2; stderr was:\n{stderr}"
    );
    assert!(
        stderr.contains("okta365 needs a graphical display"),
        "says what is missing:\n{stderr}"
    );
    assert!(
        stderr.contains("`okta365 --help`"),
        "points to the CLI:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "no panic:\n{stderr}");
    assert!(
        std::fs::read_dir(data_dir.path())
            .expect("the temp dir still exists")
            .next()
            .is_none(),
        "nothing is written to the data dir before the display check"
    );
}

#[test]
#[cfg(all(unix, not(target_os = "macos")))]
fn an_empty_display_variable_counts_as_no_display() {
    let data_dir = tempfile::tempdir().expect("a temp dir for OKTA365_DATA_DIR");
    let output = Command::new(env!("CARGO_BIN_EXE_okta365-app"))
        .env("DISPLAY", "")
        .env_remove("WAYLAND_DISPLAY")
        .env("OKTA365_DATA_DIR", data_dir.path())
        .output()
        .expect("the okta365-app binary runs");
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
