//! docs/connecting.md prints tables that live in code: the operation → requirement table
//! (`connect::requirements`), the AADSTS and Microsoft Graph error tables (`okta365_graph`) and the
//! Okta error tables (`okta365_okta::codes`). Each sits between `<!-- generated: NAME -->` and
//! `<!-- end: NAME -->`; these tests fail when the page and the code disagree.
//!
//! Rewrite the generated parts after changing a table with:
//!
//! ```sh
//! UPDATE_DOCS=1 cargo test -p okta365-engine --test connecting_doc
//! ```

use std::path::PathBuf;

use okta365_engine::connect::requirements::table;
use okta365_graph::{aadsts, graph_codes};
use okta365_okta::{OAuthErrorCode, OktaErrorCode};

fn doc_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/connecting.md")
}

/// A table cell: no line breaks, and a `|` cannot end the cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn code_list(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The operations, what they do, and what they need (the engine's table, in its order).
fn operations() -> String {
    let mut out = String::from(
        "| operation | what it does | Microsoft Graph application permissions | Okta API scopes |\n\
         |---|---|---|---|\n",
    );
    for row in table() {
        let graph = if row.graph_roles.is_empty() {
            "—".to_owned()
        } else {
            row.graph_roles
                .iter()
                .map(|group| {
                    group
                        .iter()
                        .map(|role| format!("`{role}`"))
                        .collect::<Vec<_>>()
                        .join(" or ")
                })
                .collect::<Vec<_>>()
                .join(" **and** ")
        };
        out.push_str(&format!(
            "| **{}** (`{}`) | {} | {} | {} |\n",
            cell(&row.label),
            row.operation,
            cell(&row.description),
            graph,
            code_list(&row.okta_scopes),
        ));
    }
    out
}

/// The AADSTS texts with their placeholders as the page shows them (the app fills in the real
/// values; the end date of an expired secret is added when known).
fn unfilled(text: &str) -> String {
    text.replace("{tenant}", "`{tenant}`")
        .replace("{client_id}", "`{client id}`")
        .replace("{expiry}", "")
}

fn aadsts_codes() -> String {
    let mut entries: Vec<_> = aadsts::TABLE.iter().collect();
    entries.sort_by_key(|e| e.code);
    let mut out = String::from("| code | what it means | what to do |\n|---|---|---|\n");
    for e in entries {
        out.push_str(&format!(
            "| AADSTS{} | {} | {} |\n",
            e.code,
            cell(&unfilled(e.summary)),
            cell(&unfilled(e.fix))
        ));
    }
    out
}

fn graph_error_codes() -> String {
    let mut out = String::from("| code | what it means | what to do |\n|---|---|---|\n");
    for e in graph_codes::TABLE {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            e.code,
            cell(e.summary),
            cell(e.fix)
        ));
    }
    out
}

/// Every `E0000…` code the Okta table names. Okta's codes are `E` and seven digits; the ones in use
/// are far below E0001000.
fn okta_codes() -> Vec<OktaErrorCode> {
    (0..1000)
        .map(|n| OktaErrorCode::parse(&format!("E{n:07}")))
        .filter(|code| !matches!(code, OktaErrorCode::Other(_)))
        .collect()
}

/// The OAuth `error` values okta365 could meet: RFC 6749 and 6750, RFC 9449 (DPoP) and the IANA
/// OAuth Extensions Error registry entries Okta documents. The table names those it explains.
const OAUTH_CANDIDATES: &[&str] = &[
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "access_denied",
    "unsupported_response_type",
    "server_error",
    "temporarily_unavailable",
    "invalid_token",
    "insufficient_scope",
    "invalid_dpop_proof",
    "use_dpop_nonce",
    "invalid_client_metadata",
    "invalid_redirect_uri",
    "login_required",
    "consent_required",
    "interaction_required",
    "invalid_authorization_details",
    "unsupported_token_type",
];

fn oauth_codes() -> Vec<OAuthErrorCode> {
    OAUTH_CANDIDATES
        .iter()
        .map(|c| OAuthErrorCode::parse(c))
        .filter(|code| !matches!(code, OAuthErrorCode::Other(_)))
        .collect()
}

fn okta_error_codes() -> String {
    let mut out = String::from("| code | what it means | what to do |\n|---|---|---|\n");
    for code in okta_codes() {
        let e = code.explain();
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            code.as_str(),
            cell(e.problem),
            cell(e.fix)
        ));
    }
    out
}

fn oauth_error_codes() -> String {
    let mut out = String::from("| `error` | what it means | what to do |\n|---|---|---|\n");
    for code in oauth_codes() {
        let e = code.explain();
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            code.as_str(),
            cell(e.problem),
            cell(e.fix)
        ));
    }
    out
}

/// Every generated part, by marker name.
fn sections() -> Vec<(&'static str, String)> {
    vec![
        ("operations", operations()),
        ("aadsts", aadsts_codes()),
        ("graph-codes", graph_error_codes()),
        ("okta-codes", okta_error_codes()),
        ("oauth-codes", oauth_error_codes()),
    ]
}

/// The text between a section's markers, and where it sits in `doc`.
fn section(doc: &str, name: &str) -> (usize, usize) {
    let begin = format!("<!-- generated: {name} -->\n");
    let end = format!("<!-- end: {name} -->");
    let start = doc
        .find(&begin)
        .unwrap_or_else(|| panic!("docs/connecting.md has no `{}` marker", begin.trim_end()))
        + begin.len();
    let stop = doc[start..]
        .find(&end)
        .unwrap_or_else(|| panic!("docs/connecting.md has no `{end}` marker after its start"))
        + start;
    (start, stop)
}

/// The page as committed, and as it should be: every generated part rendered from the code.
fn page() -> (String, String) {
    let path = doc_path();
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} cannot be read: {e}", path.display()));
    let mut expected = committed.clone();
    for (name, text) in sections() {
        let (start, stop) = section(&expected, name);
        expected.replace_range(start..stop, &text);
    }
    (committed, expected)
}

/// The page the other tests read: with `UPDATE_DOCS=1` the rewritten one, so they need not race the
/// test that writes it.
fn doc() -> String {
    let (committed, expected) = page();
    if updating() { expected } else { committed }
}

fn updating() -> bool {
    std::env::var_os("UPDATE_DOCS").is_some_and(|v| v == "1")
}

#[test]
fn generated_tables_match_the_code() {
    let (committed, expected) = page();
    if updating() {
        if committed != expected {
            std::fs::write(doc_path(), expected).unwrap();
        }
        return;
    }
    let stale: Vec<String> = sections()
        .into_iter()
        .filter_map(|(name, text)| {
            let (start, stop) = section(&committed, name);
            (committed[start..stop] != text).then(|| {
                format!(
                    "--- {name}: expected ---\n{text}--- {name}: in the page ---\n{}",
                    &committed[start..stop]
                )
            })
        })
        .collect();
    assert!(
        stale.is_empty(),
        "docs/connecting.md disagrees with the code. Rewrite its generated parts with \
         `UPDATE_DOCS=1 cargo test -p okta365-engine --test connecting_doc` and commit it.\n{}",
        stale.join("\n")
    );
}

/// The generated operations table, read back cell by cell, is the engine's table: this catches a
/// generator that drops a row or a column, which comparing text with itself would not.
#[test]
fn the_operations_table_reads_back_as_the_engine_table() {
    let doc = doc();
    let (start, stop) = section(&doc, "operations");
    let rows: Vec<Vec<String>> = doc[start..stop]
        .lines()
        .skip(2)
        .map(|line| {
            line.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_owned())
                .collect()
        })
        .collect();
    let engine = table();
    assert_eq!(rows.len(), engine.len(), "one row per operation");
    let names = |text: &str| -> Vec<String> {
        text.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    };
    for (row, want) in rows.iter().zip(&engine) {
        assert_eq!(row.len(), 4, "four columns: {row:?}");
        assert!(
            row[0].contains(&format!("**{}**", want.label))
                && row[0].contains(&format!("`{}`", want.operation)),
            "{row:?} is {}",
            want.operation
        );
        assert_eq!(row[1], want.description);
        let groups: Vec<Vec<String>> = if row[2] == "—" {
            Vec::new()
        } else {
            row[2].split(" **and** ").map(names).collect()
        };
        assert_eq!(
            groups, want.graph_roles,
            "{}: Graph permissions",
            want.operation
        );
        assert_eq!(
            names(&row[3]),
            want.okta_scopes,
            "{}: Okta scopes",
            want.operation
        );
    }
}

#[test]
fn every_mapped_code_is_on_the_page() {
    let doc = doc();
    for e in aadsts::TABLE {
        assert!(
            doc.contains(&format!("| AADSTS{} |", e.code)),
            "AADSTS{} is listed",
            e.code
        );
    }
    for e in graph_codes::TABLE {
        assert!(
            doc.contains(&format!("| `{}` |", e.code)),
            "{} is listed",
            e.code
        );
    }
    let okta = okta_codes();
    assert!(
        okta.len() >= 14,
        "the Okta table names at least the 14 codes it had when this page was written"
    );
    for code in okta {
        assert!(
            doc.contains(&format!("| {} |", code.as_str())),
            "{code} is listed"
        );
    }
    let oauth = oauth_codes();
    assert!(
        oauth.len() >= 11,
        "the OAuth table names at least the 11 values it had when this page was written"
    );
    for code in oauth {
        assert!(
            doc.contains(&format!("| `{}` |", code.as_str())),
            "{code} is listed"
        );
    }
}
