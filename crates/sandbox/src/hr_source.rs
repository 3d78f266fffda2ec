//! The sample HR source: a source of truth Okta has no connector for, served by the sandbox for
//! Anything-as-a-Source imports. 100 seeded employee records (10 of them inactive, names in many
//! scripts), kept in the state:
//!
//! - `GET /_sandbox/hr/users?page=N&size=50` → `{"data": [records], "next": "<url of the next page>" | null}`
//!   (`page` from 1, `size` 1–1000);
//! - `PUT /_sandbox/hr/users/{id}` merges the body's fields into that record (`null` removes a field);
//! - `POST /_sandbox/hr/users` `{"records": [...]}` replaces all records;
//! - `GET /_sandbox/hr/users.csv`: the same records as CSV (RFC 4180 quoting, a header row);
//! - `PUT /_sandbox/hr/auth` `{"header": "X-Api-Key", "value": "…"}` makes the two reads above answer
//!   401 unless the request carries that header with that value (only its SHA-256 is kept);
//!   `DELETE /_sandbox/hr/auth` opens them again.
//!
//! A record: `id` (number), `active` (boolean), `title`, `first_name`, `last_name`, `street_number`
//! (number), `street_name`, `city`, `state`, `country` (ISO 3166 alpha-2), `postcode`, `email`, `phone`,
//! `cell`, `dob` (`YYYY-MM-DD`).

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::okta::Query;
use crate::server::Shared;
use crate::state::sha256_hex;

/// The columns of a record, in the order the CSV shows them.
pub(crate) const COLUMNS: [&str; 15] = [
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

/// The HR source's records.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct HrState {
    pub records: Vec<Map<String, Value>>,
    /// The header the reads require, when one is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<HrAuth>,
}

/// A header the HR reads require: its name and the SHA-256 of its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HrAuth {
    pub header: String,
    pub value_sha256: String,
}

impl Default for HrState {
    fn default() -> HrState {
        HrState::seeded()
    }
}

/// First names (as written, and in ASCII for the email address).
const FIRST: [(&str, &str); 30] = [
    ("Zoë", "zoe"),
    ("José", "jose"),
    ("Łukasz", "lukasz"),
    ("Søren", "soren"),
    ("François", "francois"),
    ("Björn", "bjoern"),
    ("Renée", "renee"),
    ("Chloé", "chloe"),
    ("İlkay", "ilkay"),
    ("Dávid", "david"),
    ("Małgorzata", "malgorzata"),
    ("Jürgen", "juergen"),
    ("Ólafur", "olafur"),
    ("Siân", "sian"),
    ("Thảo", "thao"),
    ("Nuño", "nuno"),
    ("Ana", "ana"),
    ("Kofi", "kofi"),
    ("Ananya", "ananya"),
    ("Aiko", "aiko"),
    ("Mateus", "mateus"),
    ("Astrid", "astrid"),
    ("Noé", "noe"),
    ("Zsófia", "zsofia"),
    ("Hélène", "helene"),
    ("Jiří", "jiri"),
    ("Dragoș", "dragos"),
    ("Åsa", "asa"),
    ("Ömer", "oemer"),
    ("Leilani", "leilani"),
];

/// Last names (as written, and in ASCII for the email address).
const LAST: [(&str, &str); 24] = [
    ("Müller", "mueller"),
    ("Øvrebø", "ovrebo"),
    ("Gómez", "gomez"),
    ("Nowak", "nowak"),
    ("Dąbrowski", "dabrowski"),
    ("Lefèvre", "lefevre"),
    ("O'Connor", "oconnor"),
    ("Núñez", "nunez"),
    ("Şahin", "sahin"),
    ("Đorđević", "djordjevic"),
    ("Ólafsdóttir", "olafsdottir"),
    ("Trần", "tran"),
    ("Kowalczyk", "kowalczyk"),
    ("Håkansson", "hakansson"),
    ("Papadopoulos", "papadopoulos"),
    ("Mbeki", "mbeki"),
    ("Tanaka", "tanaka"),
    ("Hernández", "hernandez"),
    ("Dvořák", "dvorak"),
    ("Jäger", "jaeger"),
    ("Ruiz-Ortega", "ruiz-ortega"),
    ("van der Berg", "vanderberg"),
    ("Çelik", "celik"),
    ("Szabó", "szabo"),
];

const TITLES: [&str; 12] = [
    "Software Engineer",
    "Senior Software Engineer",
    "Account Executive",
    "Manager, Payroll",
    "HR Business Partner",
    "Financial Analyst",
    "Help Desk Analyst",
    "Product Designer",
    "Operations Analyst",
    "Recruiter",
    "Data Scientist",
    "Customer Success Manager",
];

/// (street, city, state, country, postcode, dialling code).
const PLACES: [(&str, &str, &str, &str, &str, &str); 12] = [
    (
        "Rue de l'Église",
        "Paris",
        "Île-de-France",
        "FR",
        "75008",
        "+33",
    ),
    ("Königstraße", "München", "Bayern", "DE", "80331", "+49"),
    (
        "Calle de Alcalá",
        "Madrid",
        "Comunidad de Madrid",
        "ES",
        "28014",
        "+34",
    ),
    (
        "ulica Długa",
        "Kraków",
        "Małopolskie",
        "PL",
        "31-042",
        "+48",
    ),
    ("Storgata", "Oslo", "Oslo", "NO", "0150", "+47"),
    ("Pine Street", "Seattle", "WA", "US", "98101", "+1"),
    ("Congress Avenue", "Austin", "TX", "US", "73301", "+1"),
    ("King Street West", "Toronto", "ON", "CA", "M5H 2N2", "+1"),
    ("Baker Street", "London", "England", "GB", "NW1 6XE", "+44"),
    (
        "Avenida Paulista",
        "São Paulo",
        "SP",
        "BR",
        "01310-100",
        "+55",
    ),
    ("Marunouchi", "Chiyoda", "Tōkyō", "JP", "100-0005", "+81"),
    (
        "Laugavegur",
        "Reykjavík",
        "Höfuðborgarsvæðið",
        "IS",
        "101",
        "+354",
    ),
];

impl HrState {
    /// The 100 seeded records; the same every time (a fixed pseudo-random sequence). Every tenth
    /// record (ids 1010, 1020, …, 1100) is inactive.
    pub(crate) fn seeded() -> HrState {
        let mut x: u64 = 0x006f_6b74_6133_3635;
        let mut next = move |n: usize| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((x >> 33) % n as u64) as usize
        };
        let mut emails = BTreeSet::new();
        let mut records = Vec::with_capacity(100);
        for i in 0..100usize {
            let (first, first_ascii) = FIRST[next(FIRST.len())];
            let (last, last_ascii) = LAST[next(LAST.len())];
            let mut email = format!("{first_ascii}.{last_ascii}@corp.example");
            if !emails.insert(email.clone()) {
                email = format!("{first_ascii}.{last_ascii}{}@corp.example", i + 1);
                emails.insert(email.clone());
            }
            let (street, city, state, country, postcode, dial) = PLACES[next(PLACES.len())];
            let id = 1001 + i;
            let mut r = Map::new();
            r.insert("id".into(), json!(id));
            r.insert("active".into(), json!(id % 10 != 0));
            r.insert("title".into(), json!(TITLES[next(TITLES.len())]));
            r.insert("first_name".into(), json!(first));
            r.insert("last_name".into(), json!(last));
            r.insert("street_number".into(), json!(1 + next(240)));
            r.insert("street_name".into(), json!(street));
            r.insert("city".into(), json!(city));
            r.insert("state".into(), json!(state));
            r.insert("country".into(), json!(country));
            r.insert("postcode".into(), json!(postcode));
            r.insert("email".into(), json!(email));
            r.insert(
                "phone".into(),
                json!(format!("{dial} 555 {:04}", 100 + next(9000))),
            );
            r.insert(
                "cell".into(),
                json!(format!(
                    "{dial} 7{:02} {:03} {:03}",
                    next(100),
                    next(1000),
                    next(1000)
                )),
            );
            r.insert(
                "dob".into(),
                json!(format!(
                    "{}-{:02}-{:02}",
                    1960 + next(42),
                    1 + next(12),
                    1 + next(28)
                )),
            );
            records.push(r);
        }
        HrState {
            records,
            auth: None,
        }
    }
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": message.into() }))).into_response()
}

/// A field's text: strings as they are, numbers and booleans as JSON writes them, `null` empty.
fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The id of a record as text (ids may be numbers or strings).
fn id_of(r: &Map<String, Value>) -> Option<String> {
    r.get("id").filter(|v| !v.is_null()).map(text)
}

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/hr/users", get(list).post(replace))
        .route("/hr/users.csv", get(csv))
        .route("/hr/users/{id}", put(merge))
        .route("/hr/auth", put(set_auth).delete(clear_auth))
}

/// 401 when the reads require a header and the request lacks it or carries another value.
fn refused(auth: Option<&HrAuth>, headers: &HeaderMap) -> Option<Response> {
    let auth = auth?;
    let sent = headers
        .get(auth.header.as_str())
        .and_then(|v| v.to_str().ok())
        .map(sha256_hex);
    (sent.as_deref() != Some(auth.value_sha256.as_str())).then(|| {
        error(
            StatusCode::UNAUTHORIZED,
            format!(
                "This HR source needs the header {} with its API key",
                auth.header
            ),
        )
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthRequest {
    header: String,
    value: String,
}

/// `PUT /_sandbox/hr/auth`: the reads require this header and value from now on → 204.
async fn set_auth(AxState(shared): AxState<Arc<Shared>>, body: Bytes) -> Response {
    let req: AuthRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                    "The body must be {{\"header\": name, \"value\": text}} ({e}), e.g. {{\"header\":\"X-Api-Key\",\"value\":\"k3y\"}}"
                ),
            );
        }
    };
    if HeaderName::from_bytes(req.header.as_bytes()).is_err() || req.value.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "header must be a valid header name and value must not be empty",
        );
    }
    let auth = HrAuth {
        header: req.header.to_ascii_lowercase(),
        value_sha256: sha256_hex(&req.value),
    };
    match shared
        .mutate(|st| {
            st.hr.auth = Some(auth);
            Ok::<_, ()>(())
        })
        .await
    {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

/// `DELETE /_sandbox/hr/auth`: the reads need no header again → 204.
async fn clear_auth(AxState(shared): AxState<Arc<Shared>>) -> Response {
    match shared
        .mutate(|st| {
            st.hr.auth = None;
            Ok::<_, ()>(())
        })
        .await
    {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

fn number(query: &Query, name: &str, default: usize, max: usize) -> Result<usize, String> {
    match query.map.get(name) {
        None => Ok(default),
        Some(s) => match s.trim().parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(format!(
                "{name} must be a whole number from 1 to {max}, not {s:?}"
            )),
        },
    }
}

/// `GET /_sandbox/hr/users?page=N&size=M`.
async fn list(AxState(shared): AxState<Arc<Shared>>, headers: HeaderMap, query: Query) -> Response {
    let (page, size) = match (
        number(&query, "page", 1, 1_000_000),
        number(&query, "size", 50, 1000),
    ) {
        (Ok(p), Ok(s)) => (p, s),
        (Err(e), _) | (_, Err(e)) => return error(StatusCode::BAD_REQUEST, e),
    };
    let st = shared.state.read().await;
    if let Some(r) = refused(st.hr.auth.as_ref(), &headers) {
        return r;
    }
    let records = &st.hr.records;
    let start = (page - 1).saturating_mul(size).min(records.len());
    let end = start.saturating_add(size).min(records.len());
    let next = (end < records.len())
        .then(|| shared.url(&format!("/_sandbox/hr/users?page={}&size={size}", page + 1)));
    axum::Json(json!({ "data": &records[start..end], "next": next })).into_response()
}

/// RFC 4180: quoted when it holds a comma, a quote or a line break; quotes doubled.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// `GET /_sandbox/hr/users.csv`: a header row (the record columns, then any other fields the records
/// have, sorted), one row per record.
async fn csv(AxState(shared): AxState<Arc<Shared>>, headers: HeaderMap) -> Response {
    let st = shared.state.read().await;
    if let Some(r) = refused(st.hr.auth.as_ref(), &headers) {
        return r;
    }
    let mut columns: Vec<String> = COLUMNS.iter().map(|c| (*c).to_owned()).collect();
    let extra: BTreeSet<&String> = st
        .hr
        .records
        .iter()
        .flat_map(|r| r.keys())
        .filter(|k| !COLUMNS.contains(&k.as_str()))
        .collect();
    columns.extend(extra.into_iter().cloned());
    let mut out = columns
        .iter()
        .map(|c| csv_field(c))
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    for r in &st.hr.records {
        let row: Vec<String> = columns
            .iter()
            .map(|c| csv_field(&r.get(c).map(text).unwrap_or_default()))
            .collect();
        out.push_str(&row.join(","));
        out.push('\n');
    }
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response()
}

/// `PUT /_sandbox/hr/users/{id}`: merges the fields (a `null` removes one); 200 with the record.
async fn merge(
    AxState(shared): AxState<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let fields: Map<String, Value> = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                    "The body must be a JSON object of fields ({e}), e.g. {{\"title\":\"Director\",\"active\":false}}"
                ),
            );
        }
    };
    if let Some(new_id) = fields.get("id")
        && text(new_id) != id
    {
        return error(
            StatusCode::BAD_REQUEST,
            format!("The id of record {id} cannot be changed (to {new_id})"),
        );
    }
    let result = shared
        .mutate(|st| {
            let record = st
                .hr
                .records
                .iter_mut()
                .find(|r| id_of(r).as_deref() == Some(id.as_str()))
                .ok_or(())?;
            for (k, v) in fields {
                if v.is_null() {
                    record.remove(&k);
                } else {
                    record.insert(k, v);
                }
            }
            Ok::<_, ()>(record.clone())
        })
        .await;
    match result {
        Ok(Ok(r)) => axum::Json(r).into_response(),
        Ok(Err(())) => error(StatusCode::NOT_FOUND, format!("No HR record with id {id}")),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplaceRequest {
    records: Vec<Map<String, Value>>,
}

/// `POST /_sandbox/hr/users` `{"records": [...]}`: replaces every record → `{"records": count}`.
async fn replace(AxState(shared): AxState<Arc<Shared>>, body: Bytes) -> Response {
    let req: ReplaceRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                    "The body must be {{\"records\": [objects]}} ({e}), e.g. {{\"records\":[{{\"id\":1,\"active\":true,\"email\":\"a@corp.example\"}}]}}"
                ),
            );
        }
    };
    let count = req.records.len();
    let result = shared
        .mutate(|st| {
            st.hr.records = req.records;
            Ok::<_, ()>(())
        })
        .await;
    match result {
        Ok(_) => axum::Json(json!({ "records": count })).into_response(),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeded_records_are_stable_unique_and_apart_from_the_seed_org() {
        let a = HrState::seeded();
        assert_eq!(a.records, HrState::seeded().records, "deterministic");
        assert_eq!(a.records.len(), 100);
        let inactive = a.records.iter().filter(|r| r["active"] == false).count();
        assert_eq!(inactive, 10);
        let emails: BTreeSet<&str> = a
            .records
            .iter()
            .map(|r| r["email"].as_str().unwrap())
            .collect();
        assert_eq!(emails.len(), 100, "emails are unique");
        assert!(emails.iter().all(|e| e.is_ascii()));
        let seed = crate::Seed::demo();
        let logins: BTreeSet<String> = seed
            .data()
            .okta
            .users
            .iter()
            .map(|u| u.profile["login"].as_str().unwrap().to_lowercase())
            .collect();
        assert!(
            emails.iter().all(|e| !logins.contains(*e)),
            "HR emails must not be logins of the seeded Okta users"
        );
        for r in &a.records {
            for c in COLUMNS {
                assert!(r.contains_key(c), "{c} missing in {r:?}");
            }
        }
    }

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("Manager, Payroll"), "\"Manager, Payroll\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
