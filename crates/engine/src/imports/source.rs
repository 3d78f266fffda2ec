//! Reading a source's records, streaming (docs/imports.md "Sources"): a CSV file read record by record
//! (never the whole file in memory), or an HTTP JSON endpoint read page by page (never all pages in
//! memory). A record is `column → string`, with its position: the line it starts on in the file (the
//! header is line 1), or its index from 1 in an HTTP source.
//!
//! What is wrong with one record (a CSV row with more or fewer fields than the header, invalid UTF-8, a
//! JSON element that is not an object) is a [`Reject`] naming its position, and reading goes on. What is
//! wrong with the source (no file, no header, duplicate header names, an HTTP error, a body that is
//! not JSON) is an [`Error`] saying what to fix.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::time::Duration;

use okta365_secrets::Secret;
use reqwest::header::{ACCEPT, HeaderName, HeaderValue, LINK};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;
use url::Url;

use super::validate::Reject;
use crate::error::{Error, Result};
use crate::urls::is_loopback;

/// Where records come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum SourceSpec {
    /// A CSV file with a header row.
    Csv {
        /// The file.
        path: String,
        /// `,` `;` a tab or `|`; `null`: sniffed from the header.
        delimiter: Option<String>,
    },
    /// An HTTP endpoint answering JSON.
    Http {
        /// The first page (https://, or http:// on loopback).
        url: String,
        /// JSON pointer to the array of records (e.g. `/data`); `null`: the body is the array.
        records_pointer: Option<String>,
        /// JSON pointer to the next page's URL in the body; `null`: `Link: <…>; rel="next"` is followed.
        next_field: Option<String>,
        /// The header carrying the credential, e.g. `Authorization`; its value is in the keychain.
        auth_header: Option<String>,
    },
}

/// The first records of a source, its columns and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SourcePreview {
    /// The columns: the CSV header, or the fields of the first page's records.
    pub columns: Vec<String>,
    /// The first records (at most 20).
    pub rows: Vec<BTreeMap<String, String>>,
    /// How many records the source has, when known (a CSV file, or an HTTP source of one page).
    #[ts(type = "number | null")]
    pub total: Option<u64>,
    /// Records that would be rejected, with their position (at most 20, then a count).
    pub problems: Vec<String>,
}

/// One record: its position and its fields in column order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The line it starts on (CSV; the header is line 1), or its index from 1 (HTTP).
    pub position: u64,
    /// `(column, value)` in column order.
    pub fields: Vec<(String, String)>,
}

impl Record {
    /// The value of `column`, if the record has it.
    pub fn get(&self, column: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(c, _)| c == column)
            .map(|(_, v)| v.as_str())
    }

    /// The fields as a map (for previews).
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.fields.iter().cloned().collect()
    }
}

/// A record, or why one could not be read.
pub type Item = std::result::Result<Record, Reject>;

/// How many records [`preview`] shows.
pub const PREVIEW_ROWS: usize = 20;

// ---------------------------------------------------------------- CSV

/// The file under the CSV reader, noting where its newlines are: the `csv` crate's own line numbers
/// miss `\r\n` line ends, so a record's line is counted here from its byte offset. Only the newlines of
/// the reader's look-ahead are kept.
struct LineCounter {
    inner: BufReader<File>,
    offset: u64,
    /// `(offset, is \n)` of the `\r` and `\n` bytes read but not yet passed.
    ahead: VecDeque<(u64, bool)>,
    passed: u64,
}

impl std::io::Read for LineCounter {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (i, b) in buf[..n].iter().enumerate() {
            if *b == b'\n' || *b == b'\r' {
                self.ahead.push_back((self.offset + i as u64, *b == b'\n'));
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

impl LineCounter {
    /// The line (from 1) of the first byte at or after `offset` that is not a line end: `csv` reports a
    /// record as starting at the line ends before it (the `\n` of a `\r\n`, skipped blank lines).
    /// Offsets must not go backwards.
    fn line_at(&mut self, offset: u64) -> u64 {
        let mut start = offset;
        while let Some(&(at, newline)) = self.ahead.front() {
            if at > start {
                break;
            }
            if at == start {
                start += 1;
            }
            self.ahead.pop_front();
            self.passed += u64::from(newline);
        }
        self.passed + 1
    }
}

/// A CSV file read record by record.
pub struct CsvSource {
    reader: csv::Reader<LineCounter>,
    columns: Vec<String>,
    record: csv::ByteRecord,
    path: String,
}

impl std::fmt::Debug for CsvSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvSource")
            .field("path", &self.path)
            .field("columns", &self.columns)
            .finish_non_exhaustive()
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The delimiter of a spec: `,` `;` `|`, a tab (`\t` or `tab`), or `None` to sniff.
pub fn parse_delimiter(value: Option<&str>) -> Result<Option<u8>> {
    let Some(v) = value else { return Ok(None) };
    match v {
        "" => Ok(None),
        "\t" | "\\t" | "tab" | "TAB" => Ok(Some(b'\t')),
        "," | ";" | "|" => Ok(Some(v.as_bytes()[0])),
        other => Err(Error::invalid(format!(
            "The CSV delimiter \"{other}\" is not supported; use \",\", \";\", a tab or \"|\", or leave it \
             empty to detect it from the header."
        ))),
    }
}

/// The delimiter that occurs most often outside quotes in the first line (`,` when none does).
pub fn sniff_delimiter(first_line: &[u8]) -> u8 {
    let candidates = [b',', b';', b'\t', b'|'];
    let mut counts = [0usize; 4];
    let mut quoted = false;
    for &b in first_line {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            _ if !quoted => {
                if let Some(i) = candidates.iter().position(|c| *c == b) {
                    counts[i] += 1;
                }
            }
            _ => {}
        }
    }
    let (best, n) = counts
        .iter()
        .enumerate()
        .max_by_key(|(i, n)| (**n, std::cmp::Reverse(*i)))
        .map(|(i, n)| (candidates[i], *n))
        .unwrap_or((b',', 0));
    if n == 0 { b',' } else { best }
}

impl CsvSource {
    /// Opens the file and reads its header: UTF-8 with or without BOM, the delimiter given or sniffed.
    /// No file, no header, an empty or duplicate column name, or a header that is not UTF-8 is an
    /// error naming it.
    pub fn open(path: &Path, delimiter: Option<&str>) -> Result<CsvSource> {
        let shown = path.display().to_string();
        let file = File::open(path).map_err(|e| {
            Error::invalid(format!(
                "The CSV file {shown} cannot be opened ({e}). Check the path and that okta365 may read it."
            ))
        })?;
        let mut buf = BufReader::with_capacity(64 * 1024, file);
        let head = buf
            .fill_buf()
            .map_err(|e| Error::invalid(format!("The CSV file {shown} cannot be read ({e}).")))?;
        let bom = head.starts_with(BOM);
        let delimiter = match parse_delimiter(delimiter)? {
            Some(d) => d,
            None => sniff_delimiter(if bom { &head[3..] } else { head }),
        };
        if bom {
            buf.consume(3);
        }
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(LineCounter {
                inner: buf,
                offset: 0,
                ahead: VecDeque::new(),
                passed: 0,
            });
        let mut header = csv::ByteRecord::new();
        let found = reader
            .read_byte_record(&mut header)
            .map_err(|e| Error::invalid(format!("The CSV file {shown} cannot be read ({e}).")))?;
        if !found {
            return Err(Error::invalid(format!(
                "The CSV file {shown} is empty; it needs a header row naming the columns, then one row per user."
            )));
        }
        let mut columns: Vec<String> = Vec::with_capacity(header.len());
        for (i, raw) in header.iter().enumerate() {
            let name = std::str::from_utf8(raw)
                .map_err(|_| {
                    Error::invalid(format!(
                        "The header of {shown} is not valid UTF-8 (column {}). Save the file as UTF-8.",
                        i + 1
                    ))
                })?
                .trim()
                .to_owned();
            if name.is_empty() {
                return Err(Error::invalid(format!(
                    "Column {} of the header of {shown} has no name. Every column needs a name in the first row.",
                    i + 1
                )));
            }
            if columns.contains(&name) {
                return Err(Error::invalid(format!(
                    "The header of {shown} names the column \"{name}\" twice. Column names must be unique."
                )));
            }
            columns.push(name);
        }
        Ok(CsvSource {
            reader,
            columns,
            record: csv::ByteRecord::new(),
            path: shown,
        })
    }

    /// The header's column names.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The next record or reject; `None` at the end. Lines holding only blanks are skipped.
    pub fn next_item(&mut self) -> Result<Option<Item>> {
        loop {
            let more = self
                .reader
                .read_byte_record(&mut self.record)
                .map_err(|e| {
                    Error::invalid(format!("The CSV file {} cannot be read ({e}).", self.path))
                })?;
            if !more {
                return Ok(None);
            }
            let byte = self.record.position().map_or(0, csv::Position::byte);
            let line = self.reader.get_mut().line_at(byte);
            if self.record.len() == 1
                && self
                    .record
                    .get(0)
                    .is_some_and(|f| f.trim_ascii().is_empty())
                && self.columns.len() > 1
            {
                continue;
            }
            if self.record.len() != self.columns.len() {
                return Ok(Some(Err(Reject::new(
                    line,
                    None,
                    format!(
                        "the row has {} fields but the header has {}",
                        self.record.len(),
                        self.columns.len()
                    ),
                ))));
            }
            let mut fields = Vec::with_capacity(self.columns.len());
            for (column, raw) in self.columns.iter().zip(self.record.iter()) {
                match std::str::from_utf8(raw) {
                    Ok(v) => fields.push((column.clone(), v.to_owned())),
                    Err(_) => {
                        return Ok(Some(Err(Reject::new(
                            line,
                            None,
                            format!(
                                "the value of column \"{column}\" is not valid UTF-8; save the file as UTF-8"
                            ),
                        ))));
                    }
                }
            }
            return Ok(Some(Ok(Record {
                position: line,
                fields,
            })));
        }
    }
}

impl Iterator for CsvSource {
    type Item = Result<Item>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_item().transpose()
    }
}

// ---------------------------------------------------------------- HTTP

/// An HTTP JSON source read one page at a time.
pub struct HttpSource {
    http: reqwest::Client,
    next: Option<Url>,
    origin: url::Origin,
    records_pointer: Option<String>,
    next_field: Option<String>,
    auth: Option<(HeaderName, HeaderValue)>,
    fetched: HashSet<String>,
    index: u64,
    pages: u64,
    columns: Vec<String>,
}

impl std::fmt::Debug for HttpSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSource")
            .field("next", &self.next.as_ref().map(Url::as_str))
            .field("pages", &self.pages)
            .finish_non_exhaustive()
    }
}

/// Checks a source URL: https://, or http:// on a loopback address; no user name or password in it.
pub fn check_url(input: &str) -> Result<Url> {
    let trimmed = input.trim();
    let url = Url::parse(trimmed).map_err(|e| {
        Error::invalid(format!(
            "The source URL \"{trimmed}\" is not a valid URL ({e}). Enter a full address such as https://hr.example.com/api/users."
        ))
    })?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(Error::invalid(format!(
                "The source URL \"{trimmed}\" uses plain http://, which is only allowed for loopback addresses. Use https:// instead."
            )));
        }
        other => {
            return Err(Error::invalid(format!(
                "The source URL \"{trimmed}\" has the scheme \"{other}:\"; only https:// (or http:// on loopback) is supported."
            )));
        }
    }
    if url.host().is_none() {
        return Err(Error::invalid(format!(
            "The source URL \"{trimmed}\" has no host name."
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid(
            "The source URL must not contain a user name or password; save the credential as the source's auth header instead.",
        ));
    }
    Ok(url)
}

fn check_pointer(what: &str, p: Option<&str>) -> Result<Option<String>> {
    match p.map(str::trim) {
        None | Some("") => Ok(None),
        Some(p) if p.starts_with('/') => Ok(Some(p.to_owned())),
        Some(p) => Err(Error::invalid(format!(
            "The {what} \"{p}\" is not a JSON pointer; it starts with \"/\", e.g. /data or /links/next."
        ))),
    }
}

/// The URL of `Link: <…>; rel="next"`, if the header has one.
pub fn link_next(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let mut pieces = part.split(';');
        let target = pieces.next()?.trim();
        let target = target.strip_prefix('<')?.strip_suffix('>')?;
        pieces
            .any(|p| {
                let p = p.trim();
                p.strip_prefix("rel=").is_some_and(|v| {
                    v.trim_matches('"')
                        .split_whitespace()
                        .any(|r| r.eq_ignore_ascii_case("next"))
                })
            })
            .then(|| target.to_owned())
    })
}

/// Flattens a JSON value into `(column, text)`: nested objects joined with `.` (`address.city`),
/// numbers and booleans as their text, null as empty, arrays of plain values joined with `, `, other
/// arrays by index (`phones.0.number`).
pub fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_owned()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                flatten(&key(k), v, out);
            }
        }
        Value::Array(items) if items.iter().all(|v| !v.is_object() && !v.is_array()) => {
            let parts: Vec<String> = items.iter().map(scalar).collect();
            out.push((prefix.to_owned(), parts.join(", ")));
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&key(&i.to_string()), v, out);
            }
        }
        other => out.push((prefix.to_owned(), scalar(other))),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl HttpSource {
    /// A source starting at `url`. `auth` is the header name and its value (read from the keychain by
    /// the caller); it is sent only to the first URL's origin and never logged.
    pub fn new(
        url: &str,
        records_pointer: Option<&str>,
        next_field: Option<&str>,
        auth: Option<(&str, &Secret)>,
    ) -> Result<HttpSource> {
        let url = check_url(url)?;
        let auth = match auth {
            None => None,
            Some((name, value)) => {
                let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
                    Error::invalid(format!(
                        "\"{}\" is not an HTTP header name; use e.g. Authorization or X-Api-Key.",
                        name.trim()
                    ))
                })?;
                let mut v = HeaderValue::from_str(value.expose().trim()).map_err(|_| {
                    Error::invalid(
                        "The source's auth header value holds characters not allowed in a header; save it again.",
                    )
                })?;
                v.set_sensitive(true);
                Some((name, v))
            }
        };
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("okta365/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none());
        if is_loopback(&url) {
            builder = builder.no_proxy();
        }
        let http = builder
            .build()
            .map_err(|e| Error::Task(format!("the HTTP client could not be created ({e})")))?;
        Ok(HttpSource {
            http,
            origin: url.origin(),
            next: Some(url),
            records_pointer: check_pointer("records pointer", records_pointer)?,
            next_field: check_pointer("next-page field", next_field)?,
            auth,
            fetched: HashSet::new(),
            index: 0,
            pages: 0,
            columns: Vec::new(),
        })
    }

    /// Pages read so far.
    pub fn pages(&self) -> u64 {
        self.pages
    }

    /// Whether another page is to be read.
    pub fn has_next(&self) -> bool {
        self.next.is_some()
    }

    /// The columns seen so far, in order of first appearance.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Reads the next page: its records (or rejects, for elements that are not objects), numbered on
    /// from the previous page. `None` once there is no next page.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Item>>> {
        let Some(url) = self.next.take() else {
            return Ok(None);
        };
        let shown = crate::imports::source::without_query(&url);
        if !self.fetched.insert(url.to_string()) {
            return Err(Error::invalid(format!(
                "The source's next-page link points back to {url}, a page already read; okta365 stopped there. \
                 Check the next-page field."
            )));
        }
        let mut rb = self
            .http
            .get(url.clone())
            .header(ACCEPT, "application/json");
        if let Some((name, value)) = &self.auth {
            rb = rb.header(name.clone(), value.clone());
        }
        let resp = rb.send().await.map_err(|e| Error::Vendor {
            message: format!(
                "Could not reach the source at {shown}: {}. Check the URL and the network connection.",
                describe(&e)
            ),
        })?;
        let status = resp.status();
        let headers = resp.headers().clone();
        if !status.is_success() {
            let fix = match status.as_u16() {
                401 | 403 => "Check the source's auth header and its saved value.",
                404 => "Check the URL.",
                429 => "The source is rate limiting; try again later.",
                300..=399 => "The source redirects; enter the final URL.",
                _ => "Check the URL and that the source is up.",
            };
            return Err(Error::Vendor {
                message: format!("The source at {shown} answered HTTP {status}. {fix}"),
            });
        }
        let bytes = resp.bytes().await.map_err(|e| Error::Vendor {
            message: format!("Could not read the answer of {shown}: {}.", describe(&e)),
        })?;
        let body: Value = serde_json::from_slice(&bytes).map_err(|e| {
            let ct = headers
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("no content type");
            Error::invalid(format!(
                "The source at {shown} answered HTTP {status} with a body that is not JSON ({ct}: {e}). \
                 Point the URL at the JSON API, not a web page."
            ))
        })?;
        self.pages += 1;
        let next = match &self.next_field {
            Some(p) => match body.pointer(p) {
                Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
                None | Some(Value::Null) | Some(Value::String(_)) => None,
                Some(other) => {
                    return Err(Error::invalid(format!(
                        "The next-page field {p} of {shown} holds {}, not a URL.",
                        kind_of(other)
                    )));
                }
            },
            None => headers
                .get_all(LINK)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(link_next),
        };
        if let Some(next) = next {
            let n = url.join(&next).map_err(|e| {
                Error::invalid(format!(
                    "The next-page link \"{next}\" of {shown} is not a URL ({e})."
                ))
            })?;
            if n.origin() != self.origin {
                return Err(Error::invalid(format!(
                    "The next-page link of {shown} points to another site ({}); okta365 does not send the \
                     source's credential elsewhere and stopped there.",
                    without_query(&n)
                )));
            }
            self.next = Some(n);
        }
        let records = match &self.records_pointer {
            None => body,
            Some(p) => match body.pointer(p) {
                Some(v) => v.clone(),
                None => {
                    return Err(Error::invalid(format!(
                        "The answer of {shown} has nothing at {p}. Set the records pointer to the array of \
                         records (e.g. /data), or leave it empty when the body is the array."
                    )));
                }
            },
        };
        let Value::Array(items) = records else {
            return Err(Error::invalid(format!(
                "The answer of {shown} holds {} {}, not an array of records. Set the records pointer to the \
                 array (e.g. /data).",
                kind_of(&records),
                self.records_pointer
                    .as_deref()
                    .map_or("as its body".to_owned(), |p| format!("at {p}"))
            )));
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            self.index += 1;
            if !item.is_object() {
                out.push(Err(Reject::new(
                    self.index,
                    None,
                    format!(
                        "record {} is {}, not a JSON object",
                        self.index,
                        kind_of(&item)
                    ),
                )));
                continue;
            }
            let mut fields = Vec::new();
            flatten("", &item, &mut fields);
            for (c, _) in &fields {
                if !self.columns.contains(c) {
                    self.columns.push(c.clone());
                }
            }
            out.push(Ok(Record {
                position: self.index,
                fields,
            }));
        }
        Ok(Some(out))
    }
}

pub(crate) fn without_query(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

fn describe(e: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    if e.is_timeout() {
        parts.push("the request timed out".to_owned());
    } else if e.is_connect() {
        parts.push("the connection failed".to_owned());
    }
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    if parts.is_empty() {
        parts.push("the request failed".into());
    }
    parts.dedup();
    parts.join(": ")
}

// ---------------------------------------------------------------- any source

/// A source being read: CSV or HTTP, one record at a time.
#[derive(Debug)]
pub enum SourceReader {
    /// A CSV file.
    Csv(CsvSource),
    /// An HTTP endpoint, with the current page's records not yet handed out.
    Http(HttpSource, VecDeque<Item>),
}

impl SourceReader {
    /// Opens a source. `auth_value` is the value of the spec's auth header (from the keychain), if any.
    pub fn open(spec: &SourceSpec, auth_value: Option<&Secret>) -> Result<SourceReader> {
        match spec {
            SourceSpec::Csv { path, delimiter } => Ok(SourceReader::Csv(CsvSource::open(
                Path::new(path),
                delimiter.as_deref(),
            )?)),
            SourceSpec::Http {
                url,
                records_pointer,
                next_field,
                auth_header,
            } => {
                let auth = match (auth_header.as_deref().map(str::trim), auth_value) {
                    (None | Some(""), _) => None,
                    (Some(name), Some(v)) => Some((name, v)),
                    (Some(name), None) => {
                        return Err(Error::invalid(format!(
                            "The source sends the header {name}, but no value is saved for it. Save the value \
                             with the source, or clear the auth header."
                        )));
                    }
                };
                Ok(SourceReader::Http(
                    HttpSource::new(url, records_pointer.as_deref(), next_field.as_deref(), auth)?,
                    VecDeque::new(),
                ))
            }
        }
    }

    /// The next record or reject; `None` at the end. HTTP pages are fetched as they are needed.
    pub async fn next(&mut self) -> Result<Option<Item>> {
        match self {
            SourceReader::Csv(csv) => csv.next_item(),
            SourceReader::Http(http, buffer) => loop {
                if let Some(item) = buffer.pop_front() {
                    return Ok(Some(item));
                }
                match http.next_page().await? {
                    Some(items) => buffer.extend(items),
                    None => return Ok(None),
                }
            },
        }
    }

    /// The columns: the CSV header, or the fields seen so far in an HTTP source.
    pub fn columns(&self) -> &[String] {
        match self {
            SourceReader::Csv(c) => c.columns(),
            SourceReader::Http(h, _) => h.columns(),
        }
    }

    /// How a position is named in messages: `line 7` or `record 7`.
    pub fn position_label(&self, position: u64) -> String {
        position_label(matches!(self, SourceReader::Csv(_)), position)
    }
}

fn position_label(csv: bool, position: u64) -> String {
    if csv {
        format!("line {position}")
    } else {
        format!("record {position}")
    }
}

/// The columns, the first `n` records and the problems of a source. A CSV file is read to its end (to
/// count it and list its problems); an HTTP source only its first page (`total` is known when there is
/// no second one).
pub async fn preview(
    spec: &SourceSpec,
    n: usize,
    auth_value: Option<&Secret>,
) -> Result<SourcePreview> {
    let mut reader = SourceReader::open(spec, auth_value)?;
    let csv = matches!(reader, SourceReader::Csv(_));
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut problem_count = 0u64;
    let mut total = 0u64;
    let mut note = |r: &Reject, problems: &mut Vec<String>| {
        problem_count += 1;
        if problems.len() < PREVIEW_ROWS {
            problems.push(format!("{}: {}", position_label(csv, r.position), r.reason));
        }
    };
    match &mut reader {
        SourceReader::Http(http, _) => {
            let page = http.next_page().await?.unwrap_or_default();
            for item in page {
                total += 1;
                match item {
                    Ok(r) if rows.len() < n => rows.push(r.to_map()),
                    Ok(_) => {}
                    Err(r) => note(&r, &mut problems),
                }
            }
            let more = http.has_next();
            if problem_count > problems.len() as u64 {
                problems.push(format!(
                    "{} more problems",
                    problem_count - problems.len() as u64
                ));
            }
            return Ok(SourcePreview {
                columns: http.columns().to_vec(),
                rows,
                total: (!more).then_some(total),
                problems,
            });
        }
        SourceReader::Csv(c) => {
            while let Some(item) = c.next_item()? {
                total += 1;
                match item {
                    Ok(r) if rows.len() < n => rows.push(r.to_map()),
                    Ok(_) => {}
                    Err(r) => note(&r, &mut problems),
                }
            }
        }
    }
    if problem_count > problems.len() as u64 {
        problems.push(format!(
            "{} more problems",
            problem_count - problems.len() as u64
        ));
    }
    Ok(SourcePreview {
        columns: reader.columns().to_vec(),
        rows,
        total: Some(total),
        problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_delimiters_outside_quotes() {
        assert_eq!(sniff_delimiter(b"id;name;email\n1;a;b"), b';');
        assert_eq!(sniff_delimiter(b"\"a;b;c\",x,y\n"), b',');
        assert_eq!(sniff_delimiter(b"id\tname\n"), b'\t');
        assert_eq!(sniff_delimiter(b"id|name\n"), b'|');
        assert_eq!(sniff_delimiter(b"id\n"), b',');
    }

    #[test]
    fn parses_link_headers() {
        assert_eq!(
            link_next(
                r#"<https://x.io/u?page=1>; rel="self", <https://x.io/u?page=2>; rel="next""#
            ),
            Some("https://x.io/u?page=2".into())
        );
        assert_eq!(link_next(r#"<https://x.io/u?page=1>; rel="self""#), None);
    }

    #[test]
    fn flattens_nested_objects() {
        let v = serde_json::json!({"id": 7, "ok": true, "name": {"first": "Ann"}, "tags": ["a", "b"], "n": null});
        let mut out = Vec::new();
        flatten("", &v, &mut out);
        let m: BTreeMap<_, _> = out.into_iter().collect();
        assert_eq!(m["id"], "7");
        assert_eq!(m["ok"], "true");
        assert_eq!(m["name.first"], "Ann");
        assert_eq!(m["tags"], "a, b");
        assert_eq!(m["n"], "");
    }

    #[test]
    fn refuses_plain_http_elsewhere() {
        assert!(check_url("http://127.0.0.1:8080/u").is_ok());
        let e = check_url("http://hr.example.com/u").unwrap_err();
        assert!(e.to_string().contains("https://"), "{e}");
        assert!(check_url("https://u:p@hr.example.com/").is_err());
    }
}
