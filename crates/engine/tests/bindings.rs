//! The TypeScript bindings in `ui/src/lib/ipc/bindings/` must match the Rust DTOs.
//!
//! Regenerate them after changing a DTO with:
//!
//! ```sh
//! UPDATE_BINDINGS=1 cargo test -p okta365-engine --test bindings
//! ```

use std::{collections::BTreeMap, path::PathBuf};

use okta365_engine::dto::*;
use ts_rs::{Config, TS};

/// Every type exported to TypeScript, by file stem.
fn rendered() -> BTreeMap<String, String> {
    fn render<T: TS + 'static>(cfg: &Config, out: &mut BTreeMap<String, String>) {
        let code = T::export_to_string(cfg).expect("ts-rs renders every DTO");
        out.insert(T::ident(cfg), code);
    }
    let cfg = Config::new();
    let mut out = BTreeMap::new();
    render::<BuildKind>(&cfg, &mut out);
    render::<StepId>(&cfg, &mut out);
    render::<ProfileKind>(&cfg, &mut out);
    render::<AppInfo>(&cfg, &mut out);
    render::<Profile>(&cfg, &mut out);
    render::<CreateSandboxProfileRequest>(&cfg, &mut out);
    render::<ErrorCode>(&cfg, &mut out);
    render::<ApiError>(&cfg, &mut out);
    render::<Progress>(&cfg, &mut out);

    let mut index = String::from(
        "// Generated from crates/engine/src/dto.rs by crates/engine/tests/bindings.rs. Do not edit.\n",
    );
    for name in out.keys() {
        index.push_str(&format!("export type {{ {name} }} from \"./{name}\";\n"));
    }
    out.insert("index".to_owned(), index);
    out
}

fn bindings_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/lib/ipc/bindings")
}

#[test]
fn typescript_bindings_are_up_to_date() {
    let dir = bindings_dir();
    let expected = rendered();
    if std::env::var_os("UPDATE_BINDINGS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "ts") {
                std::fs::remove_file(path).unwrap();
            }
        }
        for (name, code) in &expected {
            std::fs::write(dir.join(format!("{name}.ts")), code).unwrap();
        }
        return;
    }

    let how = "Regenerate them with `UPDATE_BINDINGS=1 cargo test -p okta365-engine --test bindings` and commit ui/src/lib/ipc/bindings/.";
    for (name, code) in &expected {
        let path = dir.join(format!("{name}.ts"));
        let committed = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{} is missing ({e}). {how}", path.display()));
        assert!(
            committed == *code,
            "{} is stale: it differs from the Rust DTOs.\n{how}\n--- expected ---\n{code}\n--- committed ---\n{committed}",
            path.display()
        );
    }
    let mut stray = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.extension().is_some_and(|e| e == "ts") && !expected.contains_key(&stem) {
            stray.push(path.display().to_string());
        }
    }
    assert!(
        stray.is_empty(),
        "bindings without a Rust DTO: {stray:?}. {how}"
    );
}

#[test]
fn bindings_have_the_shapes_of_the_ipc_contract() {
    let all = rendered();
    assert!(all["StepId"].contains(r#"export type StepId = "welcome" | "microsoft" | "okta" | "groups" | "licenses" | "provisioning" | "imports" | "review" | "history" | "credentials";"#), "{}", all["StepId"]);
    assert!(all["ErrorCode"].contains(r#"export type ErrorCode = "invalid_input" | "not_found" | "already_exists" | "keychain_unavailable" | "sandbox_unavailable" | "internal";"#), "{}", all["ErrorCode"]);
    assert!(
        all["ApiError"].contains("details?: unknown"),
        "details is optional and unknown: {}",
        all["ApiError"]
    );
    assert!(
        all["Profile"].contains("msTenant: string | null"),
        "camelCase, nullable: {}",
        all["Profile"]
    );
    assert!(
        all["Profile"].contains("wizardStep: StepId"),
        "{}",
        all["Profile"]
    );
    assert!(
        all["Progress"].contains("done: number")
            && all["Progress"].contains("total: number | null")
            && all["Progress"].contains("operation: string")
            && all["Progress"].contains("step: string")
            && all["Progress"].contains("message: string"),
        "counts are plain numbers (not bigint), total is nullable: {}",
        all["Progress"]
    );
    assert!(
        all["AppInfo"].contains("activeProfileId: string | null"),
        "{}",
        all["AppInfo"]
    );
}
