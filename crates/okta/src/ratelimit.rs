//! One rate limiter per Okta org, shared by every client (and clone) in the process that talks to it.
//!
//! Fed by every response's `X-Rate-Limit-Limit/-Remaining/-Reset`, per bucket (method + path
//! template). Before a call, a bucket with nothing remaining and a reset in the future makes the call
//! wait until the reset; each call also takes one from `Remaining` before it goes out, so concurrent
//! calls do not all rush the last slot. The reset is read against the server's clock (its `Date`
//! header, as Okta advises), so a clock of this machine that is off does not stretch or cut the wait.
//! Waits use tokio time and are capped (see [`RetryPolicy::max_rate_limit_wait`](crate::RetryPolicy)).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use reqwest::header::HeaderMap;

/// What Okta last said about one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitStatus {
    /// `X-Rate-Limit-Limit` (0 on a concurrent-limit 429).
    pub limit: u32,
    /// `X-Rate-Limit-Remaining`, less the calls started since.
    pub remaining: u32,
    /// `X-Rate-Limit-Reset`: UTC epoch seconds, on the server's clock.
    pub reset: i64,
    /// The server's clock less this machine's when the answer came, in seconds (from its `Date`
    /// header; 0 without one).
    pub server_offset: i64,
}

impl RateLimitStatus {
    /// Time until the reset, by the server's clock; zero once it has passed.
    pub fn until_reset(&self) -> Duration {
        until_reset(self.reset - self.server_offset)
    }
}

/// Counters of what the client did, for progress messages and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// HTTP requests sent (every attempt).
    pub requests: u64,
    /// Retries after a 5xx or a connection error.
    pub retries: u64,
    /// Waits before a call because a bucket had nothing remaining.
    pub rate_limit_pauses: u64,
    /// 429 answers received.
    pub throttled: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Limiter {
    buckets: Mutex<HashMap<String, RateLimitStatus>>,
    requests: AtomicU64,
    retries: AtomicU64,
    pauses: AtomicU64,
    throttled: AtomicU64,
}

fn now_secs_f64() -> f64 {
    jiff::Timestamp::now().as_millisecond() as f64 / 1000.0
}

/// Time until `reset` (epoch seconds on this machine's clock), or zero.
fn until_reset(reset: i64) -> Duration {
    let secs = reset as f64 - now_secs_f64();
    if secs > 0.0 {
        Duration::from_secs_f64(secs)
    } else {
        Duration::ZERO
    }
}

/// A little jitter so clients released at the same reset do not all call at once.
pub(crate) fn jitter() -> Duration {
    Duration::from_millis(rand::random_range(20..250))
}

impl Limiter {
    /// The limiter for an org (keyed by origin), created on first use and shared while any client
    /// holds it.
    pub(crate) fn for_org(origin: &str) -> Arc<Limiter> {
        static REGISTRY: OnceLock<Mutex<HashMap<String, Weak<Limiter>>>> = OnceLock::new();
        let mut map = REGISTRY
            .get_or_init(Default::default)
            .lock()
            .expect("rate limiter registry lock");
        map.retain(|_, w| w.strong_count() > 0);
        if let Some(l) = map.get(origin).and_then(Weak::upgrade) {
            return l;
        }
        let l = Arc::new(Limiter::default());
        map.insert(origin.to_owned(), Arc::downgrade(&l));
        l
    }

    /// Before a call: how long to wait for `bucket` (nothing remaining, reset ahead), and takes one from
    /// `Remaining` otherwise.
    pub(crate) fn acquire(&self, bucket: &str) -> Option<Duration> {
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        let b = buckets.get_mut(bucket)?;
        if b.remaining == 0 {
            let wait = b.until_reset();
            if wait > Duration::ZERO {
                self.pauses.fetch_add(1, Ordering::Relaxed);
                return Some(wait);
            }
            // The window has passed; Okta will tell the new numbers with the answer.
            return None;
        }
        b.remaining -= 1;
        None
    }

    /// Records the `X-Rate-Limit-*` headers of an answer for `bucket`.
    pub(crate) fn observe(&self, bucket: &str, headers: &HeaderMap) -> Option<RateLimitStatus> {
        let num = |name: &str| -> Option<i64> {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok())
        };
        let status = RateLimitStatus {
            limit: u32::try_from(num("x-rate-limit-limit")?).ok()?,
            remaining: u32::try_from(num("x-rate-limit-remaining")?).ok()?,
            reset: num("x-rate-limit-reset")?,
            server_offset: headers
                .get(reqwest::header::DATE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| jiff::fmt::rfc2822::parse(v.trim()).ok())
                .map_or(0, |server| {
                    (server.timestamp().as_millisecond() as f64 / 1000.0 - now_secs_f64()).round()
                        as i64
                }),
        };
        self.buckets
            .lock()
            .expect("rate limiter lock")
            .insert(bucket.to_owned(), status);
        Some(status)
    }

    pub(crate) fn status(&self, bucket: &str) -> Option<RateLimitStatus> {
        self.buckets
            .lock()
            .expect("rate limiter lock")
            .get(bucket)
            .copied()
    }

    pub(crate) fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_throttled(&self) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn stats(&self) -> ClientStats {
        ClientStats {
            requests: self.requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            rate_limit_pauses: self.pauses.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(limit: u32, remaining: u32, reset: i64) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-rate-limit-limit", HeaderValue::from(limit));
        h.insert("x-rate-limit-remaining", HeaderValue::from(remaining));
        h.insert("x-rate-limit-reset", HeaderValue::from(reset));
        h
    }

    #[test]
    fn a_bucket_at_zero_waits_until_its_reset_and_others_do_not() {
        let l = Limiter::default();
        let now = jiff::Timestamp::now().as_second();
        l.observe("GET /api/v1/users", &headers(600, 0, now + 30));
        l.observe("GET /api/v1/groups", &headers(500, 2, now + 30));
        let wait = l
            .acquire("GET /api/v1/users")
            .expect("nothing remaining: wait");
        assert!(
            wait > Duration::from_secs(28) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        assert_eq!(l.acquire("GET /api/v1/groups"), None);
        assert_eq!(l.acquire("GET /api/v1/groups"), None);
        assert!(
            l.acquire("GET /api/v1/groups").is_some(),
            "two calls took the last two slots"
        );
        l.observe("GET /api/v1/users", &headers(600, 0, now - 1));
        assert_eq!(
            l.acquire("GET /api/v1/users"),
            None,
            "a past reset does not wait"
        );
        assert_eq!(l.stats().rate_limit_pauses, 2);
    }

    /// A bucket at zero whose reset is `reset_in` seconds away by a server clock `offset` seconds
    /// from this machine's, with the server's `Date`.
    fn server_headers(offset: i64, reset_in: i64) -> HeaderMap {
        let server_now = jiff::Timestamp::now()
            .checked_add(jiff::SignedDuration::from_secs(offset))
            .unwrap();
        let mut h = headers(600, 0, server_now.as_second() + reset_in);
        let date = server_now.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string();
        h.insert(reqwest::header::DATE, HeaderValue::from_str(&date).unwrap());
        h
    }

    #[test]
    fn the_reset_is_read_against_the_servers_date() {
        let l = Limiter::default();
        // A server whose clock is two days ahead: its reset is 20 s away by its own clock.
        let s = l
            .observe("GET /api/v1/users", &server_headers(48 * 3600, 20))
            .unwrap();
        assert!((s.server_offset - 48 * 3600).abs() <= 1, "{s:?}");
        let wait = l
            .acquire("GET /api/v1/users")
            .expect("nothing remaining: wait");
        assert!(
            wait >= Duration::from_secs(18) && wait <= Duration::from_secs(21),
            "{wait:?}, not two days"
        );
        // A server two minutes behind, whose reset is 30 s away by its clock (past by this one's).
        l.observe("GET /api/v1/users", &server_headers(-120, 30));
        let wait = l
            .acquire("GET /api/v1/users")
            .expect("the server's window is still open");
        assert!(
            wait >= Duration::from_secs(28) && wait <= Duration::from_secs(31),
            "{wait:?}"
        );
    }

    #[test]
    fn clients_of_one_org_share_a_limiter() {
        let a = Limiter::for_org("https://a.okta.com");
        let b = Limiter::for_org("https://a.okta.com");
        let c = Limiter::for_org("https://c.okta.com");
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
    }
}
