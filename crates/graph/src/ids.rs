//! Newtype ids, so a user id is never passed where a SKU id belongs.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps an id as Microsoft returned it (no checks).
            pub fn new(id: impl Into<String>) -> $name {
                $name(id.into())
            }

            /// The id as text.
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
    };
}

id_type!(
    /// A Microsoft Graph user's object id (a GUID). Graph also accepts a user principal name wherever
    /// a user id goes.
    UserId
);
id_type!(
    /// A subscribed SKU's `skuId` (a GUID), e.g. `05e9a617-0261-4cee-bb44-138d3ef5d965`.
    SkuId
);
id_type!(
    /// An application object's `id` in Graph (not its client id).
    ApplicationObjectId
);

/// The tenant to sign in to: its id (a GUID) or one of its verified domains such as
/// `contoso.onmicrosoft.com`, as an admin types it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TenantId(String);

impl TenantId {
    /// Checks the shape: a GUID, or a domain name (letters, digits, `-`, at least one dot).
    /// Surrounding spaces are removed and a GUID is lower-cased.
    pub fn parse(value: &str) -> Result<TenantId> {
        let v = value.trim();
        if let Ok(guid) = uuid::Uuid::parse_str(v) {
            return Ok(TenantId(guid.hyphenated().to_string()));
        }
        let labels: Vec<&str> = v.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
            && labels
                .last()
                .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_alphabetic()));
        if domain_ok {
            Ok(TenantId(v.to_ascii_lowercase()))
        } else {
            Err(Error::InvalidInput(format!(
                "The tenant {v:?} is neither a tenant id (a GUID like 72f988bf-86f1-41af-91ab-2d7cd011db47) nor a domain like contoso.onmicrosoft.com. Copy the Directory (tenant) ID from the app's Overview page in the Entra admin center."
            )))
        }
    }

    /// True when this is the tenant's GUID rather than a domain.
    pub fn is_guid(&self) -> bool {
        uuid::Uuid::parse_str(&self.0).is_ok()
    }

    /// The tenant as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An app registration's Application (client) id: a GUID.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientId(String);

impl ClientId {
    /// Checks that `value` is a GUID (lower-cased, surrounding spaces removed).
    pub fn parse(value: &str) -> Result<ClientId> {
        let v = value.trim();
        uuid::Uuid::parse_str(v)
            .map(|g| ClientId(g.hyphenated().to_string()))
            .map_err(|_| {
                Error::InvalidInput(format!(
                    "The client id is not a GUID (it has {} characters). Copy the Application (client) ID from the app's Overview page in the Entra admin center; it looks like 4f1c2a3b-….",
                    v.chars().count()
                ))
            })
    }

    /// The client id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenants_are_guids_or_domains() {
        assert!(
            TenantId::parse(" B3F1C0DE-5A1E-4D2B-9C3A-7E8F60A1D2C4 ")
                .unwrap()
                .is_guid()
        );
        let d = TenantId::parse("Contoso.onmicrosoft.com").unwrap();
        assert_eq!(d.as_str(), "contoso.onmicrosoft.com");
        assert!(!d.is_guid());
        for bad in [
            "",
            "contoso",
            "https://contoso.com",
            "a..b",
            "contoso.com/x",
        ] {
            let e = TenantId::parse(bad).unwrap_err().to_string();
            assert!(
                e.contains("Directory (tenant) ID"),
                "{bad:?} should be refused with the fix: {e}"
            );
        }
    }

    #[test]
    fn client_ids_are_guids_and_the_message_never_echoes_the_value() {
        assert!(ClientId::parse("7c1e4b52-93d8-4f0a-b6e1-2d5a9c83f417").is_ok());
        let pasted_secret = "abc8Q~verysecretvalue0123456789abcdefghij";
        let e = ClientId::parse(pasted_secret).unwrap_err().to_string();
        assert!(
            !e.contains(pasted_secret),
            "a secret pasted as client id must not be echoed: {e}"
        );
        assert!(e.contains("Application (client) ID"), "{e}");
    }
}
