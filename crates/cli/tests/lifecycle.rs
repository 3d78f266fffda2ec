//! The licensing lifecycle from the command line, end to end, with the real `okta365` binary, a real
//! data dir, the real OS keychain and the data dir's sandbox served by `okta365 sandbox serve`:
//! `lifecycle settings` (saved, refused with the reason), `lifecycle preview-email`, `run licenses`,
//! a staged deactivation whose license removal comes due 400 days later on the sandbox's clock and is
//! run, late, by `watch --once`, `stages cancel`, `runs undo` of the deactivation and `licenses history`.
//! Every effect is read back from the sandbox over HTTP (Graph as the demo app, the outbox, the Okta
//! API), not only from the CLI's own output. Run inside a D-Bus session with an unlocked
//! gnome-keyring, as `scripts/test` does.

mod common;

use common::*;
use serde_json::{Value, json};

const AALIYAH: &str = "aaliyah.hughes@corp.example";
const EXO: &str = "EXCHANGESTANDARD";
const DAY: i64 = 86_400;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The Entra id of the account a member-accounts plan linked or created for this Okta user.
fn entra_of(serve: &Serve, plan: &Value, okta_id: &str) -> String {
    let upn = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["oktaUserId"] == okta_id)
        .and_then(|c| c["target"].as_str())
        .unwrap_or_else(|| panic!("a member account for {okta_id}: {plan}"))
        .to_owned();
    serve.user(&upn)["id"].as_str().unwrap().to_owned()
}

fn sku_id_of(serve: &Serve, part: &str) -> String {
    let skus = serve.graph(reqwest::Method::GET, "subscribedSkus", None);
    skus["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["skuPartNumber"] == part)
        .and_then(|s| s["skuId"].as_str())
        .unwrap()
        .to_ascii_lowercase()
}

#[test]
fn the_licensing_lifecycle_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let serve = Serve::start(data);
    ok_json(data, &["profile", "add-sandbox", "Lifecycle", "--json"]);

    // ---- Settings: saved and read back; refusals say what is wrong and change nothing.
    let defaults = ok_json(data, &["lifecycle", "settings", "--json"]);
    assert_eq!(defaults["delaySecs"], 30 * DAY, "{defaults}");
    assert_eq!(defaults["senderMailbox"], Value::Null);
    let saved = ok_json(
        data,
        &[
            "lifecycle",
            "settings",
            "--delay",
            "400d",
            "--sender",
            SENDER,
            "--subject",
            "disabled=Leaver: {{ user.displayName }}",
            "--json",
        ],
    );
    assert_eq!(saved["delaySecs"], 400 * DAY, "not capped at 30 days");
    assert_eq!(saved["senderMailbox"], SENDER);
    assert_eq!(
        saved["templates"]["disabled"]["subject"],
        "Leaver: {{ user.displayName }}"
    );
    assert_eq!(saved["revokeSessions"], true);
    assert_eq!(
        saved["templates"]["activated"], defaults["templates"]["activated"],
        "the other templates are kept"
    );
    assert_eq!(ok_json(data, &["lifecycle", "settings", "--json"]), saved);

    let unknown = run(
        data,
        &[
            "lifecycle",
            "settings",
            "--subject",
            "activated={{user.nickname}} is back",
        ],
    );
    assert_ne!(unknown.status.code(), Some(0));
    let text = stderr(&unknown);
    assert!(
        text.contains("user.nickname") && text.contains("user.displayName"),
        "names the unknown placeholder and lists the valid ones: {text}"
    );
    let weeks = run(data, &["lifecycle", "settings", "--delay", "3w"]);
    assert_ne!(weeks.status.code(), Some(0));
    assert!(
        stderr(&weeks).contains("\"w\" is not a duration unit; use s, m, h or d"),
        "{}",
        stderr(&weeks)
    );
    assert_eq!(
        ok_json(data, &["lifecycle", "settings", "--json"]),
        saved,
        "nothing saved by the refusals"
    );

    // ---- The preview names the manager from Okta.
    let preview = ok_json(
        data,
        &[
            "lifecycle",
            "preview-email",
            "--stage",
            "disabled",
            "--user",
            ISABELLA,
            "--json",
        ],
    );
    assert_eq!(preview["to"], MANAGER, "{preview}");
    assert_eq!(preview["from"], SENDER);
    assert_eq!(preview["subject"], "Leaver: Isabella Singh");
    assert!(
        preview["body"].as_str().unwrap().contains("Marcus"),
        "the manager's first name in the body: {preview}"
    );
    assert_eq!(preview["problem"], Value::Null);

    // ---- Licenses: the assignments group gets Exchange Online (Plan 1), unused in the seed.
    ok_json(data, &["licenses", "sync", "--json"]);
    let mapped = ok_json(data, &["licenses", "assign", "assignments", EXO, "--json"]);
    assert_eq!(
        mapped["assignments"].as_array().unwrap().len(),
        1,
        "{mapped}"
    );
    let exo = sku_id_of(&serve, EXO);
    let group = serve.group_id("Office 365 Assignments");
    let isabella = serve.okta_id(ISABELLA);
    let aaliyah = serve.okta_id(AALIYAH);
    let accounts = ok_json(
        data,
        &[
            "run",
            "member-accounts",
            "--user",
            ISABELLA,
            "--user",
            AALIYAH,
            "--yes",
            "--json",
        ],
    );
    assert_eq!(accounts["result"]["status"], "succeeded", "{accounts}");
    let isabella_entra = entra_of(&serve, &accounts["plan"], &isabella);
    let aaliyah_entra = entra_of(&serve, &accounts["plan"], &aaliyah);
    let exo_before = serve.seats()[&exo].0;

    let planned = ok_json(data, &["run", "licenses", "--plan", "--json"]);
    let assigns: Vec<&Value> = planned["plan"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "assignLicense")
        .collect();
    assert_eq!(assigns.len(), 2, "one per linked member: {planned}");
    for a in &assigns {
        assert_eq!(a["detail"]["add"][0]["skuPartNumber"], EXO, "{a}");
        assert_eq!(a["detail"]["source"], "mapping");
    }
    assert!(
        planned["plan"]["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["warning"]
                .as_str()
                .is_some_and(|w| w.contains("No Microsoft account yet"))),
        "members without an account are reported"
    );
    assert_eq!(serve.seats()[&exo].0, exo_before, "--plan writes nothing");
    let licensed = ok_json(data, &["run", "licenses", "--yes", "--json"]);
    assert_eq!(licensed["result"]["status"], "succeeded", "{licensed}");
    assert_eq!(serve.seats()[&exo].0, exo_before + 2);
    for entra in [&isabella_entra, &aaliyah_entra] {
        assert!(
            direct(&serve.user(entra))
                .iter()
                .any(|(sku, _)| *sku == exo),
            "{entra} holds Exchange Online directly"
        );
    }
    let isabella_licenses = direct(&serve.user(&isabella_entra));
    let aaliyah_licenses = direct(&serve.user(&aaliyah_entra));
    let seats_licensed = serve.seats();

    // ---- Stage 1 for two leavers: removed from the group through the Okta API.
    serve.set_member(&group, &isabella, false);
    serve.set_member(&group, &aaliyah, false);
    let stage1 = ok_json(
        data,
        &["run", "deactivation", "--user", ISABELLA, "--yes", "--json"],
    );
    assert_eq!(stage1["result"]["status"], "succeeded", "{stage1}");
    let deactivation_run = stage1["result"]["runId"].as_str().unwrap().to_owned();
    let applied_at = serve.now();
    let others = ok_json(data, &["run", "deactivation", "--yes", "--json"]);
    assert_eq!(others["result"]["status"], "succeeded", "{others}");
    assert!(
        others["plan"]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["oktaUserId"] == aaliyah.as_str()),
        "Isabella is not deactivated twice: {}",
        others["plan"]
    );
    for entra in [&isabella_entra, &aaliyah_entra] {
        assert_eq!(
            serve.user(entra)["accountEnabled"],
            false,
            "{entra} disabled"
        );
    }
    assert_eq!(
        direct(&serve.user(&isabella_entra)),
        isabella_licenses,
        "stage 1 keeps the licenses"
    );
    let mails = serve.mails();
    assert_eq!(mails.len(), 2, "one email per leaver: {mails:?}");
    assert!(
        mails
            .iter()
            .any(|m| m["subject"] == "Leaver: Isabella Singh" && m["to"] == json!([MANAGER])),
        "the saved subject is used: {mails:?}"
    );

    let pending = ok_json(data, &["stages", "list", "--json"]);
    let pending = pending.as_array().unwrap();
    assert_eq!(pending.len(), 2, "{pending:?}");
    let stage_of = |okta: &str| -> Value {
        pending
            .iter()
            .find(|s| s["oktaUserId"] == okta)
            .cloned()
            .unwrap_or_else(|| panic!("a stage for {okta}: {pending:?}"))
    };
    let isabella_stage = stage_of(&isabella);
    assert_eq!(isabella_stage["status"], "pending");
    assert_eq!(isabella_stage["kind"], "removeLicenses");
    let due: jiff::Timestamp = isabella_stage["dueAt"].as_str().unwrap().parse().unwrap();
    let in_secs = due.as_second() - applied_at.as_second();
    assert!(
        (400 * DAY - 120..=400 * DAY + 5).contains(&in_secs),
        "due about 400 days after the run on the sandbox's clock: {in_secs} s"
    );
    let isabella_stage_id = isabella_stage["id"].as_i64().unwrap();
    let aaliyah_stage_id = stage_of(&aaliyah)["id"].as_i64().unwrap().to_string();

    let nothing_due = ok_json(data, &["stages", "run-due", "--json"]);
    assert_eq!(nothing_due["ran"], json!([]), "{nothing_due}");
    assert_eq!(
        direct(&serve.user(&isabella_entra)),
        isabella_licenses,
        "nothing removed before its time"
    );

    // ---- Another leaver's stage is cancelled: she keeps her licenses.
    let cancelled = ok_json(data, &["stages", "cancel", &aaliyah_stage_id, "--json"]);
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    let again = run(data, &["stages", "cancel", &aaliyah_stage_id]);
    assert_eq!(
        again.status.code(),
        Some(1),
        "only a pending stage is cancelled"
    );
    let left = ok_json(data, &["stages", "list", "--json"]);
    assert_eq!(left.as_array().unwrap().len(), 1, "{left}");
    assert_eq!(left[0]["id"], isabella_stage_id);

    // ---- A watch round before the due time runs nothing (and saves where the System Log is).
    let early = run(data, &["watch", "--once", "--json"]);
    assert!(early.status.success(), "{}", stderr(&early));
    let rounds = json_lines(&early);
    assert_eq!(rounds.len(), 1, "{rounds:?}");
    assert_eq!(rounds[0]["stages"], json!([]), "{rounds:?}");
    assert_eq!(rounds[0]["late"], json!([]), "{rounds:?}");

    // ---- 400 days and 2 minutes later on the sandbox's clock, the next round runs it, late.
    serve.advance_clock(400 * DAY + 120);
    let watched = run(data, &["watch", "--once", "--json"]);
    assert!(watched.status.success(), "{}", stderr(&watched));
    let rounds = json_lines(&watched);
    assert_eq!(rounds.len(), 1, "{rounds:?}");
    let ran = rounds[0]["stages"].as_array().unwrap();
    assert_eq!(ran.len(), 1, "the due stage ran: {rounds:?}");
    assert_eq!(ran[0]["status"], "succeeded", "{:?}", ran[0]);
    assert_eq!(ran[0]["trigger"], "schedule");
    let late = rounds[0]["late"].as_array().unwrap();
    assert_eq!(late.len(), 1, "{rounds:?}");
    assert_eq!(late[0]["id"], isabella_stage_id);
    assert!(
        late[0]["lateSecs"].as_i64().unwrap() >= 120,
        "late by at least the 2 minutes: {}",
        late[0]
    );
    assert!(
        stderr(&watched).contains("late"),
        "the round says so: {}",
        stderr(&watched)
    );
    assert!(
        direct(&serve.user(&isabella_entra)).is_empty(),
        "her licenses are removed"
    );
    assert_eq!(
        direct(&serve.user(&aaliyah_entra)),
        aaliyah_licenses,
        "the cancelled stage removed nothing"
    );
    for (sku, _) in &isabella_licenses {
        assert_eq!(serve.seats()[sku].0, seats_licensed[sku].0 - 1, "{sku}");
    }
    assert_eq!(
        serve.mails().len(),
        3,
        "the second email of her deactivation"
    );
    let done = ok_json(data, &["stages", "list", "--all", "--json"]);
    let done: Vec<&Value> = done.as_array().unwrap().iter().collect();
    assert!(
        done.iter()
            .any(|s| s["id"] == isabella_stage_id && s["status"] == "done"),
        "{done:?}"
    );
    let again = ok_json(data, &["stages", "run-due", "--json"]);
    assert_eq!(again["ran"], json!([]), "a stage runs once");

    // ---- Undo of the deactivation: enabled again, the licenses given back.
    let undo = ok_json(
        data,
        &["runs", "undo", &deactivation_run, "--yes", "--json"],
    );
    assert_eq!(undo["result"]["status"], "succeeded", "{undo}");
    assert_eq!(undo["plan"]["undoOf"], deactivation_run.as_str());
    assert!(
        undo["plan"]["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["kind"] == "emailManager"),
        "an email is not undone: {}",
        undo["plan"]
    );
    let user = serve.user(&isabella_entra);
    assert_eq!(user["accountEnabled"], true, "{user}");
    assert_eq!(
        direct(&user),
        isabella_licenses,
        "the same licenses with the same disabled plans"
    );
    assert_eq!(
        serve.seats(),
        seats_licensed,
        "seats as before the deactivation"
    );
    let twice = run(data, &["runs", "undo", &deactivation_run, "--plan"]);
    assert_eq!(twice.status.code(), Some(1), "a run is undone once");
    let runs = ok_json(data, &["runs", "list", "--json"]);
    let undone = runs
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["runId"] == deactivation_run.as_str())
        .unwrap();
    assert_eq!(undone["undoneBy"], undo["result"]["runId"], "{undone}");

    // ---- Seats over time: a point per SKU after each licensing run.
    let history = ok_json(data, &["licenses", "history", "--json"]);
    let points = history.as_array().unwrap();
    let exo_points: Vec<&Value> = points
        .iter()
        .filter(|p| p["skuPartNumber"] == EXO)
        .collect();
    assert!(
        exo_points.len() >= 4,
        "licenses, stage 1, stage 2, undo: {points:?}"
    );
    let consumed: Vec<i64> = exo_points
        .iter()
        .map(|p| p["consumed"].as_i64().unwrap())
        .collect();
    assert!(consumed.contains(&(exo_before + 2)), "{consumed:?}");
    assert!(
        consumed.contains(&(exo_before + 1)),
        "after the removal: {consumed:?}"
    );
    let newest = exo_points
        .iter()
        .max_by_key(|p| {
            p["takenAt"]
                .as_str()
                .unwrap()
                .parse::<jiff::Timestamp>()
                .unwrap()
        })
        .unwrap();
    assert_eq!(
        newest["consumed"].as_i64().unwrap(),
        serve.seats()[&exo].0,
        "the newest point is the tenant's count"
    );
}

/// `okta365 watch --once` run for the first time after the stage came due: the round starts reading
/// the System Log at the tenant's now (on a sandbox, its clock, moved 400 days on) and runs the stage.
#[test]
fn a_first_watch_round_after_the_sandbox_clock_moved_on_runs_the_due_stage() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let serve = Serve::start(data);
    ok_json(data, &["profile", "add-sandbox", "Late", "--json"]);
    ok_json(
        data,
        &[
            "lifecycle",
            "settings",
            "--delay",
            "400d",
            "--sender",
            SENDER,
            "--json",
        ],
    );
    ok_json(
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
    let entra = serve.user(ISABELLA_UPN)["id"].as_str().unwrap().to_owned();
    assert!(
        !direct(&serve.user(&entra)).is_empty(),
        "she holds a license"
    );
    let group = serve.group_id("Office 365 Assignments");
    serve.set_member(&group, &serve.okta_id(ISABELLA), false);
    let stage1 = ok_json(data, &["run", "deactivation", "--yes", "--json"]);
    assert_eq!(stage1["result"]["status"], "succeeded", "{stage1}");
    serve.advance_clock(400 * DAY + 120);

    let watched = run(data, &["watch", "--once", "--json"]);
    assert!(
        watched.status.success(),
        "the first round after the clock moved: {}",
        stderr(&watched)
    );
    let rounds = json_lines(&watched);
    assert_eq!(
        rounds[0]["stages"].as_array().map(Vec::len),
        Some(1),
        "{rounds:?}"
    );
    assert!(
        rounds[0]["late"][0]["lateSecs"].as_i64().unwrap_or(0) >= 120,
        "{rounds:?}"
    );
    assert!(
        direct(&serve.user(&entra)).is_empty(),
        "her licenses are removed"
    );
}
