//! Checks on the URLs a profile points at: HTTPS required, except for loopback addresses.

use std::net::IpAddr;

use url::{Host, Url};

use crate::error::{Error, Result};

/// Parses and checks a vendor base URL (an Okta org, the Entra login host, Microsoft Graph, a sandbox):
/// `https://` is required except for loopback hosts (127.0.0.0/8, ::1, `localhost`), where plain
/// `http://` is allowed. `what` names the field in messages, e.g. "The Okta org URL".
pub fn validate_tenant_url(input: &str, what: &str) -> Result<Url> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(Error::invalid(format!(
            "{what} is empty. Enter a full address such as https://example.okta.com."
        )));
    }
    let url = Url::parse(trimmed).map_err(|e| {
        Error::invalid(format!("{what} \"{trimmed}\" is not a valid URL ({e}). Enter a full address such as https://example.okta.com."))
    })?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(Error::invalid(format!(
                "{what} \"{trimmed}\" uses plain http://, which is only allowed for loopback addresses \
                 (127.0.0.1, ::1, localhost). Use https:// instead."
            )));
        }
        other => {
            return Err(Error::invalid(format!(
                "{what} \"{trimmed}\" has the scheme \"{other}:\"; only https:// (or http:// on loopback) is supported."
            )));
        }
    }
    if url.host().is_none() {
        return Err(Error::invalid(format!(
            "{what} \"{trimmed}\" has no host name."
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid(format!(
            "{what} must not contain a user name or password; okta365 keeps credentials in the OS keychain."
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::invalid(format!(
            "{what} \"{trimmed}\" must not contain a query (?…) or fragment (#…)."
        )));
    }
    Ok(url)
}

/// Checks the base URL of a sandbox served elsewhere (e.g. by `okta365 sandbox serve`): a loopback or
/// HTTPS origin, without a path.
pub fn validate_sandbox_url(input: &str) -> Result<Url> {
    let url = validate_tenant_url(input, "The sandbox URL")?;
    if url.path() != "/" {
        return Err(Error::invalid(format!(
            "The sandbox URL \"{}\" has a path ({}); give only the sandbox's base URL, such as http://127.0.0.1:{}.",
            input.trim(),
            url.path(),
            url.port_or_known_default().unwrap_or(8080)
        )));
    }
    Ok(url)
}

/// Checks a link the desktop app is asked to open in the system browser (a sign-in page, a portal
/// page named by a fix): `https://`, or `http://` on loopback (the sandbox's pages), with no user name
/// or password in it. Anything else (`file:`, `javascript:`, a plain-http host) is refused.
pub fn validate_browser_url(input: &str) -> Result<Url> {
    let trimmed = input.trim();
    let url = Url::parse(trimmed).map_err(|e| {
        Error::invalid(format!(
            "\"{trimmed}\" is not a link okta365 can open ({e})."
        ))
    })?;
    let allowed = match url.scheme() {
        "https" => true,
        "http" => is_loopback(&url),
        _ => false,
    };
    if !allowed || url.host().is_none() {
        return Err(Error::invalid(format!(
            "okta365 opens only https:// links (or http:// on loopback) in the browser; \"{trimmed}\" is \
             neither. Copy it instead if you trust it."
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid(
            "okta365 does not open links that carry a user name or password.",
        ));
    }
    Ok(url)
}

/// Whether the URL's host is a loopback address: 127.0.0.0/8, ::1 or `localhost`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_https_and_loopback_links_open_in_the_browser() {
        for ok in [
            "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize?client_id=x",
            "http://127.0.0.1:4312/organizations/oauth2/v2.0/authorize",
            "http://localhost:80/devicelogin",
        ] {
            assert!(super::validate_browser_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://example.com/",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "https://user:pw@example.com/",
            "not a url",
        ] {
            let err = super::validate_browser_url(bad).unwrap_err().to_string();
            assert!(!err.is_empty(), "{bad}");
        }
    }

    use super::*;

    fn message(result: Result<Url>) -> String {
        result.expect_err("the URL should be refused").to_string()
    }

    #[test]
    fn https_is_accepted_and_normalised() {
        let url = validate_tenant_url(" https://Contoso.okta.com ", "The Okta org URL").unwrap();
        assert_eq!(url.as_str(), "https://contoso.okta.com/");
        assert!(validate_tenant_url("https://login.microsoftonline.com", "x").is_ok());
    }

    #[test]
    fn http_is_only_for_loopback() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.4.5.6/",
            "http://[::1]:9000",
            "http://LOCALHOST:1",
        ] {
            assert!(
                validate_tenant_url(ok, "x").is_ok(),
                "{ok} is loopback, so http:// is fine"
            );
        }
        assert_eq!(
            message(validate_tenant_url(
                "http://example.okta.com",
                "The Okta org URL"
            )),
            "The Okta org URL \"http://example.okta.com\" uses plain http://, which is only allowed for loopback \
             addresses (127.0.0.1, ::1, localhost). Use https:// instead."
        );
        assert!(
            validate_tenant_url("http://128.0.0.1", "x").is_err(),
            "128.0.0.1 is not loopback"
        );
        assert!(
            validate_tenant_url("http://localhost.evil.com", "x").is_err(),
            "only the exact name localhost"
        );
    }

    #[test]
    fn malformed_urls_say_what_is_wrong() {
        assert_eq!(
            message(validate_tenant_url("contoso", "The Okta org URL")),
            "The Okta org URL \"contoso\" is not a valid URL (relative URL without a base). Enter a full address \
             such as https://example.okta.com."
        );
        assert!(message(validate_tenant_url("ftp://x.com", "x")).contains("scheme \"ftp:\""));
        assert!(
            message(validate_tenant_url("https://u:p@x.com", "x"))
                .contains("user name or password")
        );
        assert!(
            message(validate_tenant_url("", "The Okta org URL"))
                .starts_with("The Okta org URL is empty.")
        );
    }

    #[test]
    fn sandbox_urls_are_origins() {
        assert_eq!(
            validate_sandbox_url("http://127.0.0.1:4567")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:4567/"
        );
        assert!(
            message(validate_sandbox_url("http://127.0.0.1:4567/api/v1"))
                .contains("has a path (/api/v1)")
        );
    }
}
