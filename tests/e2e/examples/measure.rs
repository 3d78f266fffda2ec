//! Start-up time and memory of the desktop app, for `./scripts/measure`.
//!
//! Launches the app in `OKTA365_APP_BIN` through tauri-driver (on `DISPLAY`) twice on one fresh data
//! dir: a first run (empty data dir, Welcome) and a second run (profile kept). For each it prints
//! the time from the WebDriver new-session request to `app-ready` being visible, which includes
//! WebKitWebDriver launching the binary and attaching to it, so it is an upper bound on the app's own
//! start-to-first-screen time; and the RSS of the app process and every process below it
//! (WebKitWebProcess, WebKitNetworkProcess, …) read from /proc once the first screen is up.

use std::fs;
use std::time::Instant;

use okta365_e2e::{Harness, READY_TIMEOUT, STEP_TIMEOUT};

/// `(pid, name, rss in KiB)` for `pid` and all its descendants.
fn process_tree(root: u32) -> Vec<(u32, String, u64)> {
    let mut parents = Vec::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for pid in entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok()) {
            let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // The command name is in parentheses and may hold spaces: the ppid is the 2nd field after ')'.
            let Some(ppid) = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
            else {
                continue;
            };
            parents.push((pid, ppid));
        }
    }
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let p = tree[i];
        tree.extend(parents.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    tree.into_iter()
        .map(|pid| {
            let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let field = |key: &str| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix(key))
                    .map(|v| v.trim().to_string())
                    .unwrap_or_default()
            };
            let rss = field("VmRSS:")
                .trim_end_matches(" kB")
                .trim()
                .parse()
                .unwrap_or(0);
            (pid, field("Name:"), rss)
        })
        .collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let harness = Harness::from_env()?;
    println!("app: {}", harness.app_bin().display());
    let scenario = harness.scenario("measure")?;
    for run in ["first run (empty data dir)", "second run (profile kept)"] {
        let app = scenario.launch().await?;
        app.wait_for("app-ready", READY_TIMEOUT).await?;
        let ready = Instant::now().duration_since(app.started());
        println!(
            "{run}: first screen (app-ready) after {} ms",
            ready.as_millis()
        );
        // Let the web process settle after first paint before reading memory.
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        let pids = app.pids();
        anyhow::ensure!(
            pids.len() == 1,
            "expected one app process on the data dir, found {pids:?}"
        );
        let tree = process_tree(pids[0]);
        let total: u64 = tree.iter().map(|(_, _, rss)| rss).sum();
        for (pid, name, rss) in &tree {
            println!(
                "  rss {:>7.1} MiB  {name} (pid {pid})",
                *rss as f64 / 1024.0
            );
        }
        println!("  rss {:>7.1} MiB  total", total as f64 / 1024.0);
        if run.starts_with("first") {
            app.click("welcome-use-sandbox").await?;
            app.wait_for("step-microsoft", STEP_TIMEOUT).await?;
        }
        app.close().await?;
    }
    Ok(())
}
