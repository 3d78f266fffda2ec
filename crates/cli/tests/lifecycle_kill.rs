//! A staged deactivation and an activation from the command line survive a kill at every journal
//! step: the real `okta365` binary is SIGKILLed where a debug-only hook paused it
//! (`OKTA365_TEST_PAUSE_BEFORE_STEP=n`: step n journaled `started`, its write not sent;
//! `OKTA365_TEST_PAUSE_AFTER_STEP=n`: the write made, its outcome not journaled), then finished by
//! `okta365 runs resume` (BEFORE cases) or by the next `okta365 run` (AFTER cases). Afterwards: the run
//! succeeded with every step done or superseded, no manager email sent twice, no license lost or
//! doubled (read back from the sandbox over HTTP: Graph as the demo app, the outbox, `subscribedSkus`).
//!
//! Covered, each case on its own fresh data dir and `okta365 sandbox serve`, one after the other:
//! - stage 1 (`okta365 run deactivation --user … --yes`): every step of its plan (disable, revoke,
//!   snapshot, email, schedule) at both hooks;
//! - stage 2 (`okta365 stages run-now ID`): every step (remove licenses, email) at both hooks;
//! - activation (`okta365 run activation --user … --yes` after the user is back in the group): every
//!   step (enable, restore the snapshot's licenses, email) at both hooks.
//!
//! A case whose command ends without pausing at its step (no hook there) fails: the kill at that step
//! was not tested. Each test runs all its cases and then reports every failed one. Run inside a D-Bus
//! session with an unlocked gnome-keyring, as `scripts/test` does; the hooks exist in debug builds only.

mod common;

use std::{
    collections::BTreeMap,
    panic::{AssertUnwindSafe, catch_unwind},
    path::Path,
    sync::Mutex,
};

use common::*;
use serde_json::{Value, json};

/// The cases run one after the other, also across the tests of this file (2 cores, shared).
static SERIAL: Mutex<()> = Mutex::new(());

const STAGE1: [&str; 5] = [
    "disableUser",
    "revokeSessions",
    "snapshotLicenses",
    "emailManager",
    "scheduleStage",
];
const STAGE2: [&str; 2] = ["removeLicenses", "emailManager"];
const ACTIVATION: [&str; 3] = ["enableUser", "assignLicense", "emailManager"];

/// One fresh data dir and sandbox: Isabella linked, holding E3 without one service plan, removed
/// from the assignments group; lifecycle settings with the sender and a 1 hour delay.
struct Base {
    dir: tempfile::TempDir,
    serve: Serve,
    group: String,
    okta: String,
    entra: String,
    /// Her direct licenses before the deactivation.
    before: Vec<(String, Vec<String>)>,
    /// Seats used and bought per SKU before the deactivation.
    seats: BTreeMap<String, (i64, i64)>,
}

impl Base {
    fn new() -> Base {
        let dir = tempfile::tempdir().unwrap();
        let serve = Serve::start(dir.path());
        let data = dir.path();
        ok_json(data, &["profile", "add-sandbox", "Kill", "--json"]);
        let settings = ok_json(
            data,
            &[
                "lifecycle",
                "settings",
                "--sender",
                SENDER,
                "--delay",
                "1h",
                "--json",
            ],
        );
        assert_eq!(settings["delaySecs"], 3600);
        let group = serve.group_id("Office 365 Assignments");
        let okta = serve.okta_id(ISABELLA);
        let entra = serve.user(ISABELLA_UPN)["id"].as_str().unwrap().to_owned();
        // E3 without one of its plans, so "the same disabled plans" is something to restore.
        let plans = serve.service_plans(E3);
        let plan = plans
            .iter()
            .find(|(name, _)| name.starts_with("TEAMS"))
            .or(plans.first())
            .expect("E3 has service plans")
            .1
            .to_ascii_lowercase();
        serve.graph(
            reqwest::Method::POST,
            &format!("users/{entra}/assignLicense"),
            Some(json!({"addLicenses": [{"skuId": E3, "disabledPlans": [plan]}], "removeLicenses": []})),
        );
        let linked = ok_json(
            data,
            &[
                "run",
                "member-accounts",
                "--user",
                ISABELLA,
                "--yes",
                "--json",
            ],
        );
        assert_eq!(linked["result"]["status"], "succeeded", "{linked}");
        let before = direct(&serve.user(&entra));
        assert!(
            before.contains(&(E3.to_owned(), vec![plan])),
            "E3 held directly without the plan: {before:?}"
        );
        let seats = serve.seats();
        serve.set_member(&group, &okta, false);
        Base {
            dir,
            serve,
            group,
            okta,
            entra,
            before,
            seats,
        }
    }

    fn data(&self) -> &Path {
        self.dir.path()
    }

    fn enabled(&self) -> bool {
        self.serve.user(&self.entra)["accountEnabled"]
            .as_bool()
            .expect("accountEnabled is served")
    }

    fn direct(&self) -> Vec<(String, Vec<String>)> {
        direct(&self.serve.user(&self.entra))
    }

    /// The stages of the profile, finished ones too.
    fn stages(&self) -> Vec<Value> {
        ok_json(self.data(), &["stages", "list", "--all", "--json"])
            .as_array()
            .cloned()
            .unwrap()
    }

    /// Stage 1 applied without interruption; the id of the pending stage it scheduled.
    fn deactivated(&self) -> i64 {
        let out = ok_json(
            self.data(),
            &["run", "deactivation", "--user", ISABELLA, "--yes", "--json"],
        );
        assert_eq!(out["result"]["status"], "succeeded", "{out}");
        let stages = self.stages();
        assert_eq!(stages.len(), 1, "{stages:?}");
        stages[0]["id"].as_i64().unwrap()
    }

    /// Finishes the killed run: `okta365 runs resume` after a BEFORE kill, the next `okta365 run
    /// OPERATION --user … --yes` after an AFTER kill (which must then have nothing left to do). The
    /// resumed run's summary.
    fn resume(&self, hook: Hook, operation: &str) -> Value {
        match hook {
            Hook::Before => {
                let resumed = ok_json(self.data(), &["runs", "resume", "--json"]);
                let resumed = resumed.as_array().unwrap();
                assert_eq!(resumed.len(), 1, "one run to resume: {resumed:?}");
                resumed[0].clone()
            }
            Hook::After => {
                let next = ok_json(
                    self.data(),
                    &["run", operation, "--user", ISABELLA, "--yes", "--json"],
                );
                let resumed = next["resumed"].as_array().unwrap();
                assert_eq!(
                    resumed.len(),
                    1,
                    "the next run resumes the killed one: {next}"
                );
                assert!(
                    next["plan"]["changes"].as_array().unwrap().is_empty(),
                    "after the resume nothing is left to do: {}",
                    next["plan"]
                );
                resumed[0].clone()
            }
        }
    }

    /// The resumed run succeeded with exactly these steps, each done or superseded; its steps.
    fn finished(&self, summary: &Value, kinds: &[&str]) -> Vec<Value> {
        assert_eq!(summary["status"], "succeeded", "{summary}");
        assert_eq!(summary["failed"], 0, "{summary}");
        let run_id = summary["runId"].as_str().unwrap();
        let shown = ok_json(self.data(), &["runs", "show", run_id, "--json"]);
        let steps = shown["steps"].as_array().cloned().unwrap();
        let got: Vec<&str> = steps.iter().map(|s| s["kind"].as_str().unwrap()).collect();
        assert_eq!(got, kinds, "{shown}");
        for s in &steps {
            assert!(
                s["status"] == "done" || s["status"] == "superseded",
                "every step done or superseded: {s}"
            );
        }
        steps
    }

    /// The manager emails of the outbox: each to the manager, about Isabella.
    fn mails(&self) -> Vec<Value> {
        let mails = self.serve.mails();
        for m in &mails {
            assert_eq!(m["to"], json!([MANAGER]), "{m}");
            assert!(
                m["subject"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("Isabella Singh"),
                "{m}"
            );
        }
        mails
    }

    fn seats_of(&self, sku: &str) -> i64 {
        self.serve.seats()[sku].0
    }
}

/// Runs each case (a fresh base, then `case(hook, step)`), catching its panic, and fails at the end
/// with every case that failed.
fn each(what: &str, steps: usize, case: impl Fn(Hook, u32) -> Result<(), String>) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut failed = Vec::new();
    for step in 1..=steps as u32 {
        for hook in [Hook::Before, Hook::After] {
            let started = std::time::Instant::now();
            let result = catch_unwind(AssertUnwindSafe(|| case(hook, step)));
            eprintln!(
                "{what}: step {step} {hook:?}: {} in {:.1} s",
                if matches!(result, Ok(Ok(()))) {
                    "ok"
                } else {
                    "FAILED"
                },
                started.elapsed().as_secs_f64()
            );
            match result {
                Ok(Ok(())) => {}
                Ok(Err(message)) => {
                    failed.push(format!("{what}, step {step}, {hook:?}: {message}"))
                }
                Err(panic) => failed.push(format!(
                    "{what}, step {step}, {hook:?}: {}",
                    panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                        .unwrap_or_default()
                )),
            }
        }
    }
    assert!(
        failed.is_empty(),
        "{} case(s) failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

#[test]
fn stage_one_killed_at_every_step_is_finished_with_one_email_one_stage_and_the_licenses_saved() {
    each("stage 1", STAGE1.len(), |hook, step| {
        let base = Base::new();
        if (step, hook) == (1, Hook::Before) {
            // The plan the cases walk through, read as a person would.
            let planned = ok_json(
                base.data(),
                &[
                    "run",
                    "deactivation",
                    "--user",
                    ISABELLA,
                    "--plan",
                    "--json",
                ],
            );
            let kinds: Vec<&str> = planned["plan"]["changes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["kind"].as_str().unwrap())
                .collect();
            assert_eq!(kinds, STAGE1, "{planned}");
            assert!(
                planned["plan"]["guard"].is_null(),
                "the guard allows one user"
            );
        }
        run_and_kill(
            base.data(),
            &["run", "deactivation", "--user", ISABELLA, "--yes", "--json"],
            hook,
            step,
        )?;
        // The kill came where it should: the write of the step sent after it, not before.
        let sent = hook == Hook::After;
        match STAGE1[step as usize - 1] {
            "disableUser" | "revokeSessions" => {
                assert_eq!(base.enabled(), !sent, "disabled iff sent")
            }
            "emailManager" => assert_eq!(base.mails().len(), usize::from(sent)),
            _ => {}
        }

        let summary = base.resume(hook, "deactivation");
        let steps = base.finished(&summary, &STAGE1);
        assert_eq!(summary["trigger"], "manual");
        assert_eq!(base.mails().len(), 1, "exactly one manager email");
        assert!(!base.enabled(), "the account is disabled");
        assert_eq!(base.direct(), base.before, "stage 1 keeps the licenses");
        let stages = base.stages();
        assert_eq!(stages.len(), 1, "exactly one stage: {stages:?}");
        assert_eq!(stages[0]["status"], "pending");
        assert_eq!(stages[0]["oktaUserId"], base.okta.as_str());
        assert_eq!(stages[0]["scheduledByRun"], summary["runId"]);
        let snapshot = &steps[2]["response"]["licenses"];
        assert_eq!(
            snapshot_licenses(snapshot),
            base.before,
            "the snapshot holds her licenses with their disabled plans: {}",
            steps[2]
        );
        Ok(())
    });
}

#[test]
fn stage_two_killed_at_every_step_removes_the_licenses_once_with_one_more_email() {
    each("stage 2", STAGE2.len(), |hook, step| {
        let base = Base::new();
        let stage = base.deactivated().to_string();
        assert_eq!(base.mails().len(), 1);
        run_and_kill(
            base.data(),
            &["stages", "run-now", &stage, "--json"],
            hook,
            step,
        )?;
        let sent = hook == Hook::After;
        match STAGE2[step as usize - 1] {
            "removeLicenses" => assert_eq!(base.direct().is_empty(), sent, "removed iff sent"),
            "emailManager" => assert_eq!(base.mails().len(), 1 + usize::from(sent)),
            _ => {}
        }
        // A killed stage run leaves the stage running with its run.
        let stages = base.stages();
        assert_eq!(stages[0]["status"], "running", "{stages:?}");

        let summary = base.resume(hook, "deactivation");
        base.finished(&summary, &STAGE2);
        assert_eq!(summary["trigger"], "schedule");
        assert!(base.direct().is_empty(), "her direct licenses are removed");
        assert!(!base.enabled(), "still disabled");
        for (sku, _) in &base.before {
            assert_eq!(
                base.seats_of(sku),
                base.seats[sku].0 - 1,
                "one seat of {sku} freed, once"
            );
        }
        let mails = base.mails();
        assert_eq!(mails.len(), 2, "exactly two emails: {mails:?}");
        assert_ne!(mails[0]["subject"], mails[1]["subject"], "one per stage");
        let stages = base.stages();
        assert_eq!(stages.len(), 1, "{stages:?}");
        assert_eq!(
            stages[0]["status"], "done",
            "resuming the run finished the stage"
        );
        assert_eq!(stages[0]["runId"], summary["runId"]);
        Ok(())
    });
}

#[test]
fn activation_killed_at_every_step_restores_the_same_licenses_once_with_one_more_email() {
    each("activation", ACTIVATION.len(), |hook, step| {
        let base = Base::new();
        let stage = base.deactivated().to_string();
        let removed = ok_json(base.data(), &["stages", "run-now", &stage, "--json"]);
        assert_eq!(removed["status"], "succeeded", "{removed}");
        assert!(base.direct().is_empty());
        base.serve.set_member(&base.group, &base.okta, true);
        if (step, hook) == (1, Hook::Before) {
            let planned = ok_json(
                base.data(),
                &["run", "activation", "--user", ISABELLA, "--plan", "--json"],
            );
            let changes = planned["plan"]["changes"].as_array().unwrap();
            let kinds: Vec<&str> = changes
                .iter()
                .map(|c| c["kind"].as_str().unwrap())
                .collect();
            assert_eq!(kinds, ACTIVATION, "{planned}");
            assert_eq!(changes[1]["detail"]["source"], "snapshot");
        }
        run_and_kill(
            base.data(),
            &["run", "activation", "--user", ISABELLA, "--yes", "--json"],
            hook,
            step,
        )?;
        let sent = hook == Hook::After;
        match ACTIVATION[step as usize - 1] {
            "enableUser" => assert_eq!(base.enabled(), sent, "enabled iff sent"),
            "assignLicense" => assert_eq!(!base.direct().is_empty(), sent, "assigned iff sent"),
            "emailManager" => assert_eq!(base.mails().len(), 2 + usize::from(sent)),
            _ => {}
        }

        let summary = base.resume(hook, "activation");
        base.finished(&summary, &ACTIVATION);
        assert!(base.enabled(), "the account is enabled");
        assert_eq!(
            base.direct(),
            base.before,
            "the same SKUs with the same disabled plans"
        );
        assert_eq!(
            base.serve.seats(),
            base.seats,
            "every SKU's seats as before the deactivation: none doubled, none lost"
        );
        let mails = base.mails();
        assert_eq!(mails.len(), 3, "exactly three emails: {mails:?}");
        let subjects: std::collections::BTreeSet<String> =
            mails.iter().map(|m| m["subject"].to_string()).collect();
        assert_eq!(subjects.len(), 3, "one per stage: {mails:?}");
        let pending = ok_json(base.data(), &["stages", "list", "--json"]);
        assert_eq!(pending, json!([]), "no stage pending");
        Ok(())
    });
}
