//! Sending one request with Microsoft's retry rules: a 429 waits `Retry-After` (capped) and is sent
//! again; 5xx answers and connection errors back off exponentially with jitter, but only for
//! requests that are safe to repeat. Also the base-URL rule: `https://`, or `http://` on loopback.

use std::net::IpAddr;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use reqwest::{RequestBuilder, Response, StatusCode};
use url::Url;

use crate::error::{Error, Result};

/// How requests are retried. The defaults suit Microsoft's services; tests shorten them.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (429s, 5xx and connection errors together).
    pub max_retries: usize,
    /// The first backoff delay before jitter.
    pub min_delay: Duration,
    /// The longest backoff delay.
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured; a longer one is shortened to this.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_retries: 4,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

/// Whether a request may be sent again after a 5xx or a connection error, when the first attempt
/// may have been applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// GET, PUT, DELETE, or a write the caller knows is safe to repeat.
    Safe,
    /// A write that must not be applied twice: only 429s (never processed) are retried.
    Once,
}

/// Seconds from a `Retry-After` header (delta-seconds; an HTTP date is not used by Graph).
fn retry_after(response: &Response) -> Option<Duration> {
    let value = response.headers().get("retry-after")?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Sends the request built by `build` until it gets an answer worth returning. `what` names the
/// endpoint in errors and logs (never a secret).
pub(crate) async fn send(
    policy: &RetryPolicy,
    repeat: Repeat,
    url: &Url,
    build: impl Fn() -> RequestBuilder,
) -> Result<Response> {
    let mut backoff = ExponentialBuilder::default()
        .with_min_delay(policy.min_delay)
        .with_max_delay(policy.max_delay)
        .with_max_times(policy.max_retries)
        .with_jitter()
        .build();
    let mut retries = 0usize;
    loop {
        let result = build().send().await;
        let wait = match &result {
            Ok(r)
                if r.status() == StatusCode::TOO_MANY_REQUESTS && retries < policy.max_retries =>
            {
                // A throttled request was not processed, so any method may be sent again.
                let delay = retry_after(r)
                    .map(|d| d.min(policy.max_retry_after))
                    .or_else(|| backoff.next());
                tracing::info!(
                    path = url.path(),
                    ?delay,
                    "Microsoft throttled the request (429); waiting"
                );
                delay
            }
            Ok(r) if r.status().is_server_error() && repeat == Repeat::Safe => {
                let d = backoff.next();
                // A 503 may also say when to come back.
                let d = match (d, retry_after(r)) {
                    (Some(_), Some(ra)) => Some(ra.min(policy.max_retry_after)),
                    (d, _) => d,
                };
                tracing::info!(path = url.path(), status = r.status().as_u16(), delay = ?d, "server error; retrying");
                d
            }
            Err(e)
                if repeat == Repeat::Safe
                    && (e.is_connect() || e.is_timeout() || e.is_request()) =>
            {
                let d = backoff.next();
                tracing::info!(path = url.path(), delay = ?d, "connection failed; retrying");
                d
            }
            _ => None,
        };
        match (wait, result) {
            (Some(delay), _) => {
                retries += 1;
                tokio::time::sleep(delay).await;
            }
            (None, Ok(response)) => return Ok(response),
            (None, Err(e)) => {
                return Err(Error::Transport {
                    url: url.to_string(),
                    reason: describe(&e),
                });
            }
        }
    }
}

/// A transport error in words, without the URL (the caller adds it).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "the request timed out".into()
    } else if e.is_connect() {
        "the connection was refused or could not be made".into()
    } else {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            text = format!("{text}: {s}");
            source = s.source();
        }
        text
    }
}

/// Checks a base URL: `https://`, or `http://` only on a loopback address (the sandbox). Returns it
/// with a trailing `/` so paths join under it.
pub(crate) fn base_url(url: &Url, what: &str) -> Result<Url> {
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(Error::InvalidInput(format!(
                "The {what} {url} uses plain http; use https (plain http is allowed only for a loopback address such as the sandbox)."
            )));
        }
        other => {
            return Err(Error::InvalidInput(format!(
                "The {what} {url} has scheme {other:?}; use an https:// URL."
            )));
        }
    }
    if url.host().is_none() || url.query().is_some() || url.fragment().is_some() {
        return Err(Error::InvalidInput(format!(
            "The {what} {url} must be a plain base URL such as https://graph.microsoft.com, without query or fragment."
        )));
    }
    let mut u = url.clone();
    if !u.path().ends_with('/') {
        let p = format!("{}/", u.path());
        u.set_path(&p);
    }
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_on_loopback() {
        for ok in [
            "https://graph.microsoft.com",
            "http://127.0.0.1:8080/",
            "http://[::1]:9/",
            "http://localhost:1",
        ] {
            let u = base_url(&Url::parse(ok).unwrap(), "Graph URL").unwrap();
            assert!(u.path().ends_with('/'), "{ok} gets a trailing slash");
        }
        let e = base_url(
            &Url::parse("http://graph.example.com").unwrap(),
            "Graph URL",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("use https"), "{e}");
        assert!(base_url(&Url::parse("ftp://x.example").unwrap(), "Graph URL").is_err());
    }
}
