//! The Okta org URL and the newtype ids.

use std::fmt;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::{Error, Result};

/// Okta's own domains; an org may also use a custom domain.
const OKTA_DOMAINS: [&str; 4] = [
    "okta.com",
    "oktapreview.com",
    "okta-emea.com",
    "okta-gov.com",
];

/// A checked Okta org URL (`https://acme.okta.com`), with a note when the input was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgUrl {
    url: Url,
    note: Option<String>,
}

impl OrgUrl {
    /// Checks and normalises an org URL: `https` (plain `http` only for loopback addresses), a host
    /// under `okta.com`, `oktapreview.com`, `okta-emea.com`, `okta-gov.com` or a custom domain; the
    /// `-admin` of an Admin Console address is dropped, as is any path, each with a note.
    pub fn parse(input: &str) -> Result<OrgUrl> {
        let refuse = |reason: &str| Error::InvalidOrgUrl {
            input: input.trim().to_owned(),
            reason: reason.to_owned(),
        };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(refuse(
                "it is empty; enter your org's address, like https://acme.okta.com",
            ));
        }
        let mut notes = Vec::new();
        let with_scheme = if trimmed.contains("://") {
            trimmed.to_owned()
        } else {
            notes.push("https:// was added.".to_owned());
            format!("https://{trimmed}")
        };
        let mut url = Url::parse(&with_scheme).map_err(|_| {
            refuse("it is not a web address; enter your org's address, like https://acme.okta.com")
        })?;
        let host = url
            .host_str()
            .ok_or_else(|| {
                refuse("it has no host name; enter an address like https://acme.okta.com")
            })?
            .to_ascii_lowercase();
        let loopback = is_loopback(&url);
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => {
                return Err(refuse(
                    "it uses http; Okta is only reachable over https (https://acme.okta.com)",
                ));
            }
            other => {
                return Err(refuse(&format!(
                    "the scheme {other}: is not a web address; use https://"
                )));
            }
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse(
                "it contains a user name or password; enter only the org's address",
            ));
        }
        if !loopback && !host.contains('.') {
            return Err(refuse(
                "the host has no domain; enter the full address, like https://acme.okta.com",
            ));
        }
        let okta_domain = OKTA_DOMAINS
            .iter()
            .find(|d| host.ends_with(&format!(".{d}")));
        if let Some(domain) = okta_domain {
            let sub = &host[..host.len() - domain.len() - 1];
            if let Some(org) = sub.strip_suffix("-admin") {
                let fixed = format!("{org}.{domain}");
                url.set_host(Some(&fixed))
                    .map_err(|_| refuse("its host name is not valid"))?;
                notes.push(format!(
                    "That is the Admin Console address; okta365 uses the org URL https://{fixed}."
                ));
            }
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            notes.push(format!(
                "The path {} was dropped: okta365 needs only the org's address.",
                url.path()
            ));
            url.set_path("/");
            url.set_query(None);
            url.set_fragment(None);
        }
        Ok(OrgUrl {
            url,
            note: (!notes.is_empty()).then(|| notes.join(" ")),
        })
    }

    /// The URL, ending in `/` (join API paths to it).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The normalised form to show and store: `https://acme.okta.com`.
    pub fn normalized(&self) -> String {
        self.url.as_str().trim_end_matches('/').to_owned()
    }

    /// What was changed from the input, if anything.
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    /// Whether the org is on a loopback address (the sandbox).
    pub fn is_loopback(&self) -> bool {
        is_loopback(&self.url)
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps an id as Okta returned it.
            pub fn new(id: impl Into<String>) -> $name {
                $name(id.into())
            }

            /// The id.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> $name {
                $name(s.to_owned())
            }
        }
    };
}

id_type!(
    /// An Okta user id (`00u…`).
    UserId
);
id_type!(
    /// An Okta group id (`00g…`).
    GroupId
);
id_type!(
    /// An OAuth client id of an Okta app (`0oa…`).
    ClientId
);
id_type!(
    /// An identity source id (the Custom Identity Source app instance, `0oa…`).
    IdentitySourceId
);

impl ClientId {
    /// Checks a pasted client id: Okta's look `0oa` followed by 17 letters and digits.
    pub fn parse(input: &str) -> Result<ClientId> {
        let s = input.trim();
        let refuse = |reason: &str| Error::InvalidClientId {
            input: s.chars().take(40).collect(),
            reason: reason.to_owned(),
        };
        if s.is_empty() {
            return Err(refuse(
                "it is empty; copy the Client ID from the app's General tab",
            ));
        }
        if s.starts_with("00") {
            return Err(refuse(
                "it looks like an API token or another Okta id, not a client id; copy the Client ID (0oa…) from the app's General tab",
            ));
        }
        if !s.starts_with("0oa") || s.len() != 20 || !s.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(refuse(
                "an Okta client id is 20 letters and digits starting with 0oa; copy it from the app's General tab",
            ));
        }
        Ok(ClientId(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn okta_domains_and_custom_domains_are_accepted() {
        for (input, normalized) in [
            ("https://acme.okta.com", "https://acme.okta.com"),
            (
                "https://acme.oktapreview.com/",
                "https://acme.oktapreview.com",
            ),
            ("https://acme.okta-emea.com", "https://acme.okta-emea.com"),
            ("https://acme.okta-gov.com", "https://acme.okta-gov.com"),
            ("https://login.acme.example", "https://login.acme.example"),
            ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ] {
            let u = OrgUrl::parse(input).unwrap();
            assert_eq!(u.normalized(), normalized);
            assert_eq!(u.note(), None, "{input} needs no note");
        }
    }

    #[test]
    fn admin_console_addresses_and_paths_are_fixed_with_a_note() {
        let u = OrgUrl::parse("https://acme-admin.okta.com/admin/dashboard").unwrap();
        assert_eq!(u.normalized(), "https://acme.okta.com");
        let note = u.note().unwrap();
        assert!(
            note.contains("Admin Console") && note.contains("/admin/dashboard"),
            "{note}"
        );
        let u = OrgUrl::parse("acme.okta.com").unwrap();
        assert_eq!(u.normalized(), "https://acme.okta.com");
        assert!(u.note().unwrap().contains("https://"));
    }

    #[test]
    fn unusable_urls_are_refused_with_the_reason() {
        for (input, needle) in [
            ("", "empty"),
            ("http://acme.okta.com", "https"),
            ("ftp://acme.okta.com", "ftp"),
            ("https://user:pw@acme.okta.com", "password"),
            ("https://intranet", "domain"),
        ] {
            let msg = OrgUrl::parse(input).unwrap_err().to_string();
            assert!(msg.contains(needle), "{input}: {msg}");
        }
    }

    #[test]
    fn client_ids_look_like_okta_ones() {
        assert!(ClientId::parse(" 0oa1b2c3d4e5f6g7h8i9 ").is_ok());
        let m = ClientId::parse("00abcdefghijklmnopqrstuvwxyz1234567890AB")
            .unwrap_err()
            .to_string();
        assert!(m.contains("API token"), "{m}");
        assert!(
            ClientId::parse("0oa123")
                .unwrap_err()
                .to_string()
                .contains("20 letters")
        );
    }
}
