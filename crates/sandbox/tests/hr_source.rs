//! The sample HR source of the sandbox (`/_sandbox/hr/users`), over real loopback HTTP: paging with
//! `next`, merge and replace, and the CSV export.

mod common;

use common::Env;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const COLUMNS: [&str; 15] = [
    "id",
    "active",
    "title",
    "first_name",
    "last_name",
    "street_number",
    "street_name",
    "city",
    "state",
    "country",
    "postcode",
    "email",
    "phone",
    "cell",
    "dob",
];

async fn get(env: &Env, url: &str) -> (StatusCode, Value) {
    let resp = env.http.get(url).send().await.unwrap();
    (resp.status(), resp.json().await.unwrap())
}

/// Every record, following `next` from the first page.
async fn all_records(env: &Env, first: &str) -> (Vec<Value>, usize) {
    let mut url = Some(env.url(first));
    let mut records = Vec::new();
    let mut pages = 0;
    while let Some(u) = url {
        let (status, page) = get(env, &u).await;
        assert_eq!(status, 200, "{page}");
        records.extend(page["data"].as_array().unwrap().iter().cloned());
        url = page["next"].as_str().map(str::to_owned);
        pages += 1;
        assert!(pages < 100, "next never ends");
    }
    (records, pages)
}

/// A small RFC 4180 reader: quoted fields with commas, doubled quotes and line breaks.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        field.is_empty() && row.is_empty(),
        "the CSV ends with a newline"
    );
    rows
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[tokio::test]
async fn the_hr_source_pages_100_seeded_records() {
    let env = Env::start().await;
    let (status, first) = get(&env, &env.url("/_sandbox/hr/users")).await;
    assert_eq!(status, 200);
    assert_eq!(first["data"].as_array().unwrap().len(), 50, "50 by default");
    assert_eq!(
        first["next"],
        env.url("/_sandbox/hr/users?page=2&size=50"),
        "an absolute next URL"
    );
    let (records, pages) = all_records(&env, "/_sandbox/hr/users?page=1&size=30").await;
    assert_eq!((records.len(), pages), (100, 4));
    let (_, last) = get(&env, &env.url("/_sandbox/hr/users?page=4&size=30")).await;
    assert_eq!(last["data"].as_array().unwrap().len(), 10);
    assert_eq!(last["next"], Value::Null);
    let (_, beyond) = get(&env, &env.url("/_sandbox/hr/users?page=9&size=30")).await;
    assert_eq!(beyond["data"], json!([]), "a page past the end is empty");

    let ids: std::collections::BTreeSet<String> = records.iter().map(|r| text(&r["id"])).collect();
    assert_eq!(ids.len(), 100, "unique ids");
    for r in &records {
        let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), COLUMNS.len(), "{r}");
        for c in COLUMNS {
            assert!(r.get(c).is_some(), "{c} missing in {r}");
        }
        assert!(r["active"].is_boolean() && r["id"].is_number(), "{r}");
        assert!(r["email"].as_str().unwrap().contains('@'));
    }
    let inactive = records.iter().filter(|r| r["active"] == false).count();
    assert_eq!(inactive, 10, "about a tenth are inactive");
    let non_ascii = records
        .iter()
        .filter(|r| !text(&r["first_name"]).is_ascii() || !text(&r["last_name"]).is_ascii())
        .count();
    assert!(non_ascii >= 30, "varied non-ASCII names: {non_ascii}");

    for bad in ["page=0", "size=0", "size=5000", "page=x"] {
        let resp = env
            .http
            .get(env.url(&format!("/_sandbox/hr/users?{bad}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{bad}");
        let body: Value = resp.json().await.unwrap();
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("must be a whole number")
        );
    }
}

#[tokio::test]
async fn the_csv_export_holds_the_same_records() {
    let env = Env::start().await;
    let resp = env
        .http
        .get(env.url("/_sandbox/hr/users.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = resp.text().await.unwrap();
    let rows = parse_csv(&csv);
    assert_eq!(rows[0], COLUMNS, "the header row");
    assert_eq!(rows.len(), 101);
    let (records, _) = all_records(&env, "/_sandbox/hr/users?size=100").await;
    for (row, record) in rows[1..].iter().zip(&records) {
        let expected: Vec<String> = COLUMNS.iter().map(|c| text(&record[*c])).collect();
        assert_eq!(row, &expected);
    }
    assert!(
        csv.contains("\"Manager, Payroll\""),
        "a title with a comma is quoted"
    );
    assert!(csv.contains(",true,") && csv.contains(",false,"));

    // Merged fields, extra columns, quotes and line breaks come through.
    let resp = env
        .http
        .put(env.url("/_sandbox/hr/users/1001"))
        .json(&json!({"title": "Director \"People\"", "notes": "line one\nline two"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let csv = env
        .http
        .get(env.url("/_sandbox/hr/users.csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let rows = parse_csv(&csv);
    assert_eq!(rows[0].last().map(String::as_str), Some("notes"));
    assert_eq!(rows[1][2], "Director \"People\"");
    assert_eq!(rows[1][15], "line one\nline two");
    assert_eq!(rows[2][15], "", "records without the column have it empty");
}

#[tokio::test]
async fn records_are_merged_replaced_and_reset() {
    let env = Env::start().await;
    let resp = env
        .http
        .put(env.url("/_sandbox/hr/users/1005"))
        .json(&json!({"title": "Head of Payroll", "active": false, "cell": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let merged: Value = resp.json().await.unwrap();
    assert_eq!(merged["title"], "Head of Payroll");
    assert_eq!(merged["active"], false);
    assert!(merged.get("cell").is_none(), "null removes a field");
    assert!(merged["email"].is_string(), "other fields are kept");
    let (records, _) = all_records(&env, "/_sandbox/hr/users").await;
    let again = records.iter().find(|r| r["id"] == 1005).unwrap();
    assert_eq!(again, &merged, "the change is kept");

    let missing = env
        .http
        .put(env.url("/_sandbox/hr/users/999999"))
        .json(&json!({"title": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let renamed = env
        .http
        .put(env.url("/_sandbox/hr/users/1005"))
        .json(&json!({"id": 2000}))
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), 400);
    let not_object = env
        .http
        .put(env.url("/_sandbox/hr/users/1005"))
        .json(&json!(["title"]))
        .send()
        .await
        .unwrap();
    assert_eq!(not_object.status(), 400);

    let replaced = env
        .control(
            Method::POST,
            "/_sandbox/hr/users",
            Some(json!({"records": [
                {"id": "A1", "active": "yes", "email": "a@corp.example"},
                {"id": "A2", "active": "no", "email": "b@corp.example", "address": {"city": "Oslo"}}
            ]})),
        )
        .await;
    assert_eq!(replaced, json!({"records": 2}));
    let (records, pages) = all_records(&env, "/_sandbox/hr/users").await;
    assert_eq!((records.len(), pages), (2, 1));
    assert_eq!(records[1]["address"]["city"], "Oslo", "kept as given");
    let resp = env
        .http
        .put(env.url("/_sandbox/hr/users/A2"))
        .json(&json!({"active": "yes"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "string ids are found too");
    let bad = env
        .http
        .post(env.url("/_sandbox/hr/users"))
        .json(&json!({"records": [1, 2]}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("records"),
        "{body}"
    );

    env.control(Method::POST, "/_sandbox/reset", None).await;
    let (records, _) = all_records(&env, "/_sandbox/hr/users").await;
    assert_eq!(records.len(), 100, "reset restores the seeded records");
    assert_ne!(
        records.iter().find(|r| r["id"] == 1005).unwrap()["title"],
        "Head of Payroll"
    );
}
