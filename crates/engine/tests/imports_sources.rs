//! The import building blocks against real files and real HTTP servers: CSV edge cases (BOM, quotes with
//! delimiters and newlines, non-ASCII names, blank lines, `;`, ragged rows, invalid UTF-8, bad headers),
//! HTTP paging by a next field (the sandbox's HR source) and by `Link` headers (a small local server),
//! the suggested mapping of the HR columns, transforms, the active rule, validation messages, duplicate
//! externalIds, and the spool round trip with its content hash.

use std::collections::BTreeMap;
use std::path::PathBuf;

use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use okta365_engine::imports::mapping::{self, Mapped};
use okta365_engine::imports::source::{self, CsvSource, SourceReader};
use okta365_engine::imports::spool::{self, SpoolReader, SpoolWriter};
use okta365_engine::imports::validate::{self, Validator};
use okta365_engine::imports::{
    ActiveRule, AttributeRule, ImportMapping, Item, Record, SourceSpec, Transform,
};
use okta365_sandbox::{Sandbox, SandboxConfig, Seed, StateLocation};
use okta365_secrets::Secret;
use serde_json::{Value, json};

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn read_all(mut src: CsvSource) -> Vec<Item> {
    let mut out = Vec::new();
    while let Some(item) = src.next_item().unwrap() {
        out.push(item);
    }
    out
}

fn records(items: &[Item]) -> Vec<&Record> {
    items.iter().filter_map(|i| i.as_ref().ok()).collect()
}

#[test]
fn csv_with_bom_quotes_newlines_blank_lines_and_non_ascii_names() {
    let dir = tempfile::tempdir().unwrap();
    let text = "\u{feff}id,first_name,last_name,email,title\r\n\
                1,Zoë,\"Lee, Jr.\",zoe@example.com,Engineer\r\n\
                2,山田,太郎,taro@example.com,\"Head of \"\"R&D\"\",\nTokyo\"\r\n\
                \r\n\
                3,Ólafur,Ørsted,olafur@example.com,\r\n";
    let p = write(&dir, "hr.csv", text.as_bytes());
    let src = CsvSource::open(&p, None).unwrap();
    assert_eq!(
        src.columns(),
        ["id", "first_name", "last_name", "email", "title"],
        "the BOM is not part of the first column name"
    );
    let items = read_all(src);
    let recs = records(&items);
    assert_eq!(recs.len(), 3, "{items:?}");
    assert_eq!(recs[0].position, 2);
    assert_eq!(recs[0].get("first_name"), Some("Zoë"));
    assert_eq!(recs[0].get("last_name"), Some("Lee, Jr."));
    assert_eq!(recs[1].position, 3);
    assert_eq!(recs[1].get("first_name"), Some("山田"));
    assert_eq!(recs[1].get("title"), Some("Head of \"R&D\",\nTokyo"));
    assert_eq!(
        recs[2].position, 6,
        "the quoted newline and the blank line count as lines"
    );
    assert_eq!(recs[2].get("last_name"), Some("Ørsted"));
    assert_eq!(recs[2].get("title"), Some(""));
    // The same file with \n line ends and without the BOM: the same records at the same lines.
    let unix = text.trim_start_matches('\u{feff}').replace("\r\n", "\n");
    let p = write(&dir, "unix.csv", unix.as_bytes());
    let again = read_all(CsvSource::open(&p, None).unwrap());
    let again: Vec<&Record> = records(&again);
    assert_eq!(again, recs);
}

#[test]
fn semicolon_files_are_sniffed_or_read_as_told() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "semi.csv",
        "id;name;email\n7;\"Smith; Ann\";ann@example.com\n".as_bytes(),
    );
    for delimiter in [None, Some(";")] {
        let src = CsvSource::open(&p, delimiter).unwrap();
        assert_eq!(src.columns(), ["id", "name", "email"]);
        let items = read_all(src);
        let r = records(&items)[0].clone();
        assert_eq!(r.get("name"), Some("Smith; Ann"));
    }
    let err = CsvSource::open(&p, Some("::")).unwrap_err().to_string();
    assert!(err.contains("\"::\" is not supported"), "{err}");
}

#[test]
fn ragged_rows_and_invalid_utf8_are_rejects_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = b"id,name,email\n1,Ann,ann@x.io\n2,Bob\n3,Cy,cy@x.io,extra\n4,".to_vec();
    bytes.extend_from_slice(b"J\xE9r\xF4me");
    bytes.extend_from_slice(b",j@x.io\n5,Dee,dee@x.io\n");
    let p = write(&dir, "ragged.csv", &bytes);
    let items = read_all(CsvSource::open(&p, None).unwrap());
    let rejects: Vec<_> = items.iter().filter_map(|i| i.as_ref().err()).collect();
    assert_eq!(records(&items).len(), 2);
    assert_eq!(rejects.len(), 3, "{rejects:?}");
    assert_eq!(rejects[0].position, 3);
    assert_eq!(
        rejects[0].reason,
        "the row has 2 fields but the header has 3"
    );
    assert_eq!(rejects[1].position, 4);
    assert_eq!(
        rejects[1].reason,
        "the row has 4 fields but the header has 3"
    );
    assert_eq!(rejects[2].position, 5);
    assert!(
        rejects[2]
            .reason
            .contains("column \"name\" is not valid UTF-8"),
        "{}",
        rejects[2].reason
    );
    assert_eq!(records(&items)[1].position, 6, "reading goes on after");
}

#[test]
fn bad_headers_are_refused_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let dup = write(&dir, "dup.csv", b"id,email,Email,email\n1,a,b,c\n");
    let e = CsvSource::open(&dup, None).unwrap_err().to_string();
    assert!(e.contains("\"email\" twice"), "{e}");
    let empty_name = write(&dir, "empty_name.csv", b"id,,email\n");
    let e = CsvSource::open(&empty_name, None).unwrap_err().to_string();
    assert!(e.contains("Column 2 of the header"), "{e}");
    let empty = write(&dir, "empty.csv", b"");
    let e = CsvSource::open(&empty, None).unwrap_err().to_string();
    assert!(e.contains("is empty") && e.contains("header row"), "{e}");
    let e = CsvSource::open(&dir.path().join("nope.csv"), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("cannot be opened"), "{e}");
}

fn hr_columns() -> Vec<String> {
    [
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
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

fn rule(attribute: &str, column: &str) -> AttributeRule {
    AttributeRule {
        attribute: attribute.into(),
        value: Transform::column(column),
    }
}

#[test]
fn the_hr_columns_get_the_contract_mapping() {
    let m = mapping::suggest(&hr_columns());
    let expected = ImportMapping {
        external_id: Transform::column("id"),
        attributes: vec![
            rule("userName", "email"),
            rule("firstName", "first_name"),
            rule("lastName", "last_name"),
            rule("email", "email"),
            rule("mobilePhone", "cell"),
            rule("title", "title"),
            rule("primaryPhone", "phone"),
            AttributeRule {
                attribute: "streetAddress".into(),
                value: Transform::Concat {
                    parts: vec![
                        Transform::column("street_number"),
                        Transform::column("street_name"),
                    ],
                    separator: " ".into(),
                },
            },
            rule("city", "city"),
            rule("state", "state"),
            rule("zipCode", "postcode"),
            rule("countryCode", "country"),
        ],
        active: Some(ActiveRule {
            column: "active".into(),
            active: ["true", "1", "yes", "y", "active", "enabled"]
                .map(String::from)
                .to_vec(),
            inactive: [
                "false",
                "0",
                "no",
                "n",
                "inactive",
                "disabled",
                "terminated",
            ]
            .map(String::from)
            .to_vec(),
        }),
    };
    assert_eq!(m, expected);
    mapping::check(&m, Some(&hr_columns())).unwrap();
}

#[test]
fn suggestions_follow_other_spellings() {
    let cols: Vec<String> = [
        "Employee ID",
        "Login",
        "Given-Name",
        "Surname",
        "Work Email",
        "Mobile",
        "Job Title",
        "Address",
        "Region",
        "Zip",
        "Country Code",
        "Display Name",
        "Status",
    ]
    .map(String::from)
    .to_vec();
    let m = mapping::suggest(&cols);
    assert_eq!(m.external_id, Transform::column("Employee ID"));
    let by: BTreeMap<&str, &Transform> = m
        .attributes
        .iter()
        .map(|r| (r.attribute.as_str(), &r.value))
        .collect();
    assert_eq!(
        by["userName"],
        &Transform::column("Login"),
        "a login column wins over the email"
    );
    assert_eq!(by["email"], &Transform::column("Work Email"));
    assert_eq!(by["firstName"], &Transform::column("Given-Name"));
    assert_eq!(by["streetAddress"], &Transform::column("Address"));
    assert_eq!(by["state"], &Transform::column("Region"));
    assert_eq!(by["zipCode"], &Transform::column("Zip"));
    assert_eq!(by["countryCode"], &Transform::column("Country Code"));
    assert_eq!(by["displayName"], &Transform::column("Display Name"));
    assert_eq!(m.active.unwrap().column, "Status");
}

#[test]
fn mappings_refuse_unknown_attributes_and_missing_columns() {
    let mut m = mapping::suggest(&hr_columns());
    m.attributes.push(rule("costCenter", "dob"));
    let e = mapping::check(&m, None).unwrap_err().to_string();
    assert!(
        e.contains("\"costCenter\" is not an attribute")
            && e.contains("userName, firstName, lastName, email"),
        "{e}"
    );
    let mut m = mapping::suggest(&hr_columns());
    m.attributes.retain(|r| r.attribute != "city");
    m.attributes.push(rule("city", "town"));
    let e = mapping::check(&m, Some(&hr_columns()))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("column \"town\" for city") && e.contains("id, active, title"),
        "{e}"
    );
    let mut m = mapping::suggest(&hr_columns());
    m.attributes.retain(|r| r.attribute != "email");
    let e = mapping::check(&m, None).unwrap_err().to_string();
    assert!(e.contains("no email"), "{e}");
    let mut m = mapping::suggest(&hr_columns());
    m.attributes.push(rule("title", "dob"));
    let e = mapping::check(&m, None).unwrap_err().to_string();
    assert!(e.contains("\"title\" is mapped twice"), "{e}");
}

fn rec(position: u64, fields: &[(&str, &str)]) -> Record {
    Record {
        position,
        fields: fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

#[test]
fn applying_the_mapping_builds_the_profile_and_the_active_flag() {
    let m = mapping::suggest(&hr_columns());
    let r = rec(
        2,
        &[
            ("id", " 1001 "),
            ("active", "TRUE"),
            ("first_name", "Ann"),
            ("last_name", "Lee"),
            ("street_number", "12"),
            ("street_name", "Main St"),
            ("email", "ann@example.com"),
            ("phone", ""),
        ],
    );
    let mapped = mapping::apply(&m, &r).unwrap();
    assert_eq!(mapped.external_id, "1001");
    assert!(mapped.active);
    assert_eq!(mapped.profile["streetAddress"], "12 Main St");
    assert_eq!(mapped.profile["userName"], "ann@example.com");
    assert!(
        !mapped.profile.contains_key("primaryPhone"),
        "empty values are left out"
    );
    let off = rec(3, &[("id", "1002"), ("active", " Terminated ")]);
    assert!(!mapping::apply(&m, &off).unwrap().active);
    let odd = rec(4, &[("id", "1003"), ("active", "on leave")]);
    let reject = mapping::apply(&m, &odd).unwrap_err();
    assert_eq!(reject.position, 4);
    assert_eq!(reject.external_id.as_deref(), Some("1003"));
    assert!(
        reject.reason.contains("active \"on leave\" is neither")
            && reject.reason.contains("terminated"),
        "{}",
        reject.reason
    );
    // A custom rule: its own values.
    let custom = ImportMapping {
        active: Some(ActiveRule {
            column: "active".into(),
            active: vec!["Current".into()],
            inactive: vec!["Former".into()],
        }),
        ..m.clone()
    };
    assert!(
        mapping::apply(&custom, &rec(5, &[("active", "current")]))
            .unwrap()
            .active
    );
    assert!(mapping::apply(&custom, &rec(6, &[("active", "true")])).is_err());
    // Lower + before-@ for a userName from an email.
    let t = Transform::Concat {
        parts: vec![
            Transform::Lower {
                of: Box::new(Transform::BeforeAt {
                    of: Box::new(Transform::column("email")),
                }),
            },
            Transform::Constant {
                value: "corp.example".into(),
            },
        ],
        separator: "@".into(),
    };
    assert_eq!(
        t.eval(&rec(7, &[("email", "Ann.Lee@Example.com")])),
        "ann.lee@corp.example"
    );
}

fn mapped(id: &str, profile: &[(&str, &str)]) -> Mapped {
    Mapped {
        external_id: id.into(),
        active: true,
        profile: profile
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

#[test]
fn validation_names_what_is_wrong() {
    let ok = [("userName", "ann@x.io"), ("email", "ann@x.io")];
    let reason = |m: &Mapped| validate::check_record(9, m).unwrap_err().reason;
    validate::check_record(9, &mapped("E1", &ok)).unwrap();
    assert_eq!(reason(&mapped(" ", &ok)), "the externalId is empty");
    assert_eq!(
        reason(&mapped(&"x".repeat(513), &ok)),
        "the externalId has 513 characters; at most 512 are allowed"
    );
    assert_eq!(
        reason(&mapped("E1", &[("email", "ann@x.io")])),
        "userName is empty"
    );
    assert_eq!(
        reason(&mapped("E1", &[("userName", "ann")])),
        "email is empty"
    );
    assert_eq!(
        reason(&mapped(
            "E1",
            &[("userName", "a"), ("email", "ann at x.io")]
        )),
        "email \"ann at x.io\" is not an email address (local@domain.tld, no spaces)"
    );
    assert!(
        reason(&mapped(
            "E1",
            &[
                ("userName", "a"),
                ("email", "a@x.io"),
                ("secondEmail", "nope")
            ]
        ))
        .starts_with("secondEmail \"nope\"")
    );
    let long = "é".repeat(51);
    assert_eq!(
        reason(&mapped(
            "E1",
            &[("userName", "a"), ("email", "a@x.io"), ("firstName", &long)]
        )),
        "firstName has 51 characters; at most 50 are allowed"
    );
    let r = validate::check_record(9, &mapped("E1", &[("userName", "a")])).unwrap_err();
    assert_eq!((r.position, r.external_id.as_deref()), (9, Some("E1")));
}

#[test]
fn duplicate_external_ids_are_rejected_naming_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "dups.csv",
        b"id,email\nE1,a@x.io\nE2,b@x.io\nE1,c@x.io\n E1 ,d@x.io\n",
    );
    let m = ImportMapping {
        external_id: Transform::column("id"),
        attributes: vec![rule("userName", "email"), rule("email", "email")],
        active: None,
    };
    let mut v = Validator::new();
    let mut rejects = Vec::new();
    for item in read_all(CsvSource::open(&p, None).unwrap()) {
        let r = item.unwrap();
        let m = mapping::apply(&m, &r).unwrap();
        if let Err(rej) = v.check(r.position, &m) {
            rejects.push(rej);
        }
    }
    assert_eq!(v.distinct(), 2);
    assert_eq!(rejects.len(), 2);
    assert_eq!(rejects[0].position, 4);
    assert_eq!(
        rejects[0].reason,
        "the externalId \"E1\" was already used at position 2"
    );
    assert_eq!(rejects[1].position, 5);
    let csv = validate::rejects_csv(&rejects);
    assert!(
        csv.starts_with("position,externalId,reason\n4,E1,"),
        "{csv}"
    );
}

#[test]
fn the_spool_reads_back_what_was_written_by_line_range() {
    let dir = tempfile::tempdir().unwrap();
    let path = spool::spool_path(dir.path(), "imp-1");
    assert!(path.ends_with("imports/imp-1.jsonl"));
    let mut w = SpoolWriter::create(&path).unwrap();
    for i in 1..=1000u32 {
        let mut m = mapped(
            &format!("E{i}"),
            &[
                ("userName", "u@x.io"),
                ("email", "u@x.io"),
                ("city", "Zürich\n\"X\""),
            ],
        );
        m.active = i % 10 != 0;
        assert_eq!(w.write(&m).unwrap(), u64::from(i));
    }
    assert_eq!(w.finish().unwrap(), 1000);
    let first = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    let v: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(v["externalId"], "E1");
    assert_eq!(v["active"], true);
    assert_eq!(v["profile"]["city"], "Zürich\n\"X\"");

    let mut r = SpoolReader::open(&path).unwrap();
    let a = r.read_lines(1, 200).unwrap();
    assert_eq!(a.len(), 200);
    assert_eq!(a[199].external_id, "E200");
    let b = r.read_lines(201, 400).unwrap();
    assert_eq!(b[0].external_id, "E201");
    assert!(!b[9].active, "E210 is inactive");
    let back = r.read_lines(5, 5).unwrap();
    assert_eq!(
        back[0].external_id, "E5",
        "an earlier range reads from the start"
    );
    let tail = spool::read_lines(&path, 990, 1000).unwrap();
    assert_eq!(tail.len(), 11);
    let e = spool::read_lines(&path, 995, 1005).unwrap_err().to_string();
    assert!(e.contains("ends at line 1000"), "{e}");

    // The content hash: the active flag and the profile, not the externalId.
    let x = mapped("A", &[("email", "a@x.io"), ("userName", "a")]);
    let mut y = mapped("B", &[("userName", "a"), ("email", "a@x.io")]);
    assert_eq!(spool::content_hash(&x), spool::content_hash(&y));
    y.active = false;
    assert_ne!(spool::content_hash(&x), spool::content_hash(&y));
    let z = mapped("A", &[("email", "a@x.io"), ("userName", "b")]);
    assert_ne!(spool::content_hash(&x), spool::content_hash(&z));
    let shifted = mapped("A", &[("email", "a@x.iou"), ("serName", "b")]);
    assert_ne!(
        spool::content_hash(&z),
        spool::content_hash(&shifted),
        "values cannot run into the next attribute"
    );
}

#[tokio::test]
async fn a_csv_preview_shows_columns_first_rows_total_and_problems() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("id,email\n");
    for i in 1..=30 {
        text.push_str(&format!("{i},u{i}@x.io\n"));
    }
    text.push_str("31\n");
    let p = write(&dir, "p.csv", text.as_bytes());
    let spec = SourceSpec::Csv {
        path: p.display().to_string(),
        delimiter: None,
    };
    let pv = source::preview(&spec, 20, None).await.unwrap();
    assert_eq!(pv.columns, ["id", "email"]);
    assert_eq!(pv.rows.len(), 20);
    assert_eq!(pv.rows[0]["email"], "u1@x.io");
    assert_eq!(pv.total, Some(31));
    assert_eq!(
        pv.problems,
        ["line 32: the row has 1 fields but the header has 2"]
    );
}

// ---------------------------------------------------------------- HTTP

async fn hr_sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig {
        port: None,
        state: StateLocation::Memory,
        seed: Seed::demo(),
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn the_sandbox_hr_source_pages_by_its_next_field() {
    let sandbox = hr_sandbox().await;
    let url = format!("{}_sandbox/hr/users?page=1&size=30", sandbox.urls().base);
    let spec = SourceSpec::Http {
        url,
        records_pointer: Some("/data".into()),
        next_field: Some("/next".into()),
        auth_header: None,
    };
    let mut reader = SourceReader::open(&spec, None).unwrap();
    let mut recs = Vec::new();
    while let Some(item) = reader.next().await.unwrap() {
        recs.push(item.unwrap());
    }
    assert_eq!(recs.len(), 100, "4 pages of up to 30");
    assert_eq!(
        recs.iter().map(|r| r.position).collect::<Vec<_>>(),
        (1..=100).collect::<Vec<u64>>()
    );
    let SourceReader::Http(http, _) = &reader else {
        panic!("an HTTP reader")
    };
    assert_eq!(http.pages(), 4);
    // The HR records map with the suggested mapping; the inactive ones read as inactive.
    let m = mapping::suggest(reader.columns());
    mapping::check(&m, Some(reader.columns())).unwrap();
    let mut v = Validator::new();
    let mut inactive = 0;
    for r in &recs {
        let mm = mapping::apply(&m, r).unwrap();
        v.check(r.position, &mm).unwrap();
        inactive += usize::from(!mm.active);
        assert!(mm.external_id.parse::<u64>().is_ok(), "numbers become text");
    }
    assert_eq!(inactive, 10);
    // The preview reads the first page only: the total is unknown.
    let pv = source::preview(&spec, 20, None).await.unwrap();
    assert_eq!(pv.rows.len(), 20);
    assert_eq!(pv.total, None);
    assert!(pv.columns.contains(&"first_name".to_owned()));
}

#[derive(serde::Deserialize)]
struct PageQuery {
    page: Option<u32>,
}

/// Three pages of 2 people behind `X-Api-Key: k3y`, paged by `Link: <…>; rel="next"`; `/broken` answers
/// HTML, `/fail` a 500, `/away` links to another site, `/loop` links to itself.
async fn link_server() -> String {
    async fn people(Query(q): Query<PageQuery>, headers: HeaderMap) -> impl IntoResponse {
        if headers.get("x-api-key").and_then(|v| v.to_str().ok()) != Some("k3y") {
            return (StatusCode::UNAUTHORIZED, HeaderMap::new(), "{}".to_owned());
        }
        let page = q.page.unwrap_or(1);
        let mut h = HeaderMap::new();
        if page < 3 {
            h.insert(
                header::LINK,
                format!(
                    "</people?page={}>; rel=\"next\", </people?page=1>; rel=\"first\"",
                    page + 1
                )
                .parse()
                .unwrap(),
            );
        }
        let body = json!([
            {"uid": format!("P{page}a"), "name": {"first": "Ann"}, "mail": format!("a{page}@x.io"), "active": true},
            {"uid": format!("P{page}b"), "name": {"first": "Bo"}, "mail": format!("b{page}@x.io"), "active": page != 2},
        ]);
        (StatusCode::OK, h, body.to_string())
    }
    let app = Router::new()
        .route("/people", get(people))
        .route(
            "/broken",
            get(|| async { ([(header::CONTENT_TYPE, "text/html")], "<html>hi</html>") }),
        )
        .route(
            "/fail",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "x") }),
        )
        .route(
            "/away",
            get(|| async {
                (
                    [(header::LINK, "<https://elsewhere.example/p2>; rel=\"next\"")],
                    "[]",
                )
            }),
        )
        .route(
            "/loop",
            get(|| async { ([(header::LINK, "</loop>; rel=\"next\"")], "[]") }),
        )
        .route("/object", get(|| async { r#"{"items": 3}"# }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn http_spec(url: String, pointer: Option<&str>) -> SourceSpec {
    SourceSpec::Http {
        url,
        records_pointer: pointer.map(str::to_owned),
        next_field: None,
        auth_header: Some("X-Api-Key".into()),
    }
}

#[tokio::test]
async fn link_headers_page_an_http_source_with_its_auth_header() {
    let base = link_server().await;
    let key = Secret::new("k3y");
    let spec = http_spec(format!("{base}/people"), None);
    let mut reader = SourceReader::open(&spec, Some(&key)).unwrap();
    let mut recs = Vec::new();
    while let Some(item) = reader.next().await.unwrap() {
        recs.push(item.unwrap());
    }
    let ids: Vec<&str> = recs.iter().filter_map(|r| r.get("uid")).collect();
    assert_eq!(ids, ["P1a", "P1b", "P2a", "P2b", "P3a", "P3b"]);
    assert_eq!(
        recs[3].get("name.first"),
        Some("Bo"),
        "nested objects flatten"
    );
    assert_eq!(recs[3].get("active"), Some("false"));
    assert_eq!(recs[5].position, 6);

    // Without the header's value the source is not opened; with a wrong one the 401 is explained.
    let e = SourceReader::open(&spec, None).unwrap_err().to_string();
    assert!(e.contains("no value is saved"), "{e}");
    let mut wrong = SourceReader::open(&spec, Some(&Secret::new("nope"))).unwrap();
    let e = wrong.next().await.unwrap_err().to_string();
    assert!(
        e.contains("/people") && e.contains("401") && e.contains("auth header"),
        "{e}"
    );
    assert!(!e.contains("nope"), "the credential never shows: {e}");
}

#[tokio::test]
async fn http_sources_that_answer_wrongly_are_errors_naming_the_url_and_the_fix() {
    let base = link_server().await;
    let key = Secret::new("k3y");
    let first_error = |path: &str, pointer: Option<&str>| {
        let spec = http_spec(format!("{base}{path}"), pointer);
        let key = key.clone();
        async move {
            let mut r = SourceReader::open(&spec, Some(&key)).unwrap();
            loop {
                match r.next().await {
                    Ok(Some(_)) => continue,
                    Ok(None) => return String::from("no error"),
                    Err(e) => return e.to_string(),
                }
            }
        }
    };
    let e = first_error("/broken", None).await;
    assert!(
        e.contains("/broken") && e.contains("not JSON") && e.contains("text/html"),
        "{e}"
    );
    let e = first_error("/fail", None).await;
    assert!(e.contains("/fail") && e.contains("500"), "{e}");
    let e = first_error("/away", None).await;
    assert!(e.contains("another site"), "{e}");
    let e = first_error("/loop", None).await;
    assert!(e.contains("already read"), "{e}");
    let e = first_error("/object", None).await;
    assert!(
        e.contains("not an array") && e.contains("records pointer"),
        "{e}"
    );
    let e = first_error("/object", Some("/data")).await;
    assert!(e.contains("nothing at /data"), "{e}");
    let e = SourceReader::open(
        &http_spec("http://hr.example.com/people".into(), None),
        Some(&key),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("only allowed for loopback"), "{e}");
}
