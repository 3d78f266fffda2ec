//! HTTP clients that reach loopback addresses directly and everything else through the system proxy.
//!
//! Real tenants are reached the way the admin's network says: `reqwest` honours `HTTPS_PROXY`,
//! `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`, which a corporate network may need. The sandbox tenant
//! lives on this computer's loopback address: a proxy elsewhere cannot reach it (and should not see
//! its traffic), so those calls never go through one, whatever the environment says. This module is
//! the one place that decides, for the Microsoft and Okta clients and the sandbox health check alike;
//! `okta365_okta`'s own default client follows the same rule ([`crate::urls::is_loopback`]).

use url::Url;

use crate::{
    error::{Error, Result},
    urls::is_loopback,
};

/// How a request to a URL travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// Straight to the address, never through a proxy: loopback hosts.
    Direct,
    /// As the system proxy settings say: everything else.
    System,
}

impl Route {
    /// The route for a base URL; one that does not parse goes the system way (the client that gets
    /// it refuses the URL with its own message anyway).
    pub(crate) fn of(base: &str) -> Route {
        match Url::parse(base.trim()) {
            Ok(url) if is_loopback(&url) => Route::Direct,
            _ => Route::System,
        }
    }
}

/// A pair of HTTP clients built alike, one per [`Route`]. Cloning a `reqwest::Client` shares its
/// connection pool, so handing out clones is cheap.
#[derive(Debug)]
pub(crate) struct Transport {
    direct: reqwest::Client,
    system: reqwest::Client,
}

impl Transport {
    /// Builds both clients from the same settings; only the proxy rule differs.
    pub(crate) fn new(settings: impl Fn() -> reqwest::ClientBuilder) -> Result<Transport> {
        let build = |builder: reqwest::ClientBuilder| {
            builder
                .build()
                .map_err(|e| Error::Task(format!("the HTTP client could not be created ({e})")))
        };
        Ok(Transport {
            direct: build(settings().no_proxy())?,
            system: build(settings())?,
        })
    }

    /// The client for requests to `base` (an origin or any URL on it).
    pub(crate) fn for_base(&self, base: &str) -> reqwest::Client {
        match Route::of(base) {
            Route::Direct => self.direct.clone(),
            Route::System => self.system.clone(),
        }
    }

    /// The client for requests to `url`.
    pub(crate) fn for_url(&self, url: &Url) -> reqwest::Client {
        self.for_base(url.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_goes_direct_and_everything_else_the_system_way() {
        for direct in [
            "http://127.0.0.1:41234",
            "http://127.0.0.1:41234/v1.0/organization",
            "http://127.9.8.7/",
            "http://[::1]:8080",
            "http://localhost:3000",
            "http://LOCALHOST",
            " http://127.0.0.1:1 ",
        ] {
            assert_eq!(Route::of(direct), Route::Direct, "{direct} is loopback");
        }
        for system in [
            "https://login.microsoftonline.com",
            "https://graph.microsoft.com/v1.0/",
            "https://acme.okta.com",
            "https://acme-admin.okta.com",
            "https://127.0.0.1.nip.io",
            "https://localhost.example.com",
            "http://10.0.0.1:8080",
            "http://128.0.0.1",
            "",
            "not a url",
        ] {
            assert_eq!(
                Route::of(system),
                Route::System,
                "{system:?} is not loopback, so the system proxy settings apply"
            );
        }
    }
}
