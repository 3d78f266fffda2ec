//! One page of an Okta list, following `link: <…>; rel="next"` verbatim.

use serde::de::DeserializeOwned;
use url::Url;

use crate::client::OktaClient;
use crate::error::{Error, Result};

/// How many items [`Page::collect_all`] gathers before it stops with [`Error::TooManyItems`].
pub const DEFAULT_COLLECT_CAP: usize = 100_000;

/// One page of results and the link to the next one.
#[derive(Debug, Clone)]
pub struct Page<T> {
    items: Vec<T>,
    next: Option<Url>,
    client: OktaClient,
    bucket: String,
}

impl<T: DeserializeOwned> Page<T> {
    /// GETs `url` as a page of `T`.
    pub(crate) async fn fetch(client: &OktaClient, url: Url, bucket: &str) -> Result<Page<T>> {
        let (items, headers): (Vec<T>, _) = client.get_json(url, bucket).await?;
        let next = headers
            .get_all("link")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(next_link)
            .map(|n| {
                Url::parse(&n).map_err(|_| Error::ForeignLink {
                    url: n.clone(),
                    org: client.org().normalized(),
                })
            })
            .transpose()?;
        if let Some(n) = &next
            && n.origin() != client.org().url().origin()
        {
            return Err(Error::ForeignLink {
                url: crate::client::without_query(n),
                org: client.org().normalized(),
            });
        }
        Ok(Page {
            items,
            next,
            client: client.clone(),
            bucket: bucket.to_owned(),
        })
    }

    /// The items of this page.
    pub fn items(&self) -> &[T] {
        &self.items
    }

    /// The items, by value.
    pub fn into_items(self) -> Vec<T> {
        self.items
    }

    /// The next page's URL as Okta sent it (for a System Log poll: save it and resume from it later).
    pub fn next_url(&self) -> Option<&Url> {
        self.next.as_ref()
    }

    /// Fetches the next page, if Okta gave one.
    pub async fn next_page(&self) -> Result<Option<Page<T>>> {
        match &self.next {
            Some(url) => Ok(Some(
                Page::fetch(&self.client, url.clone(), &self.bucket).await?,
            )),
            None => Ok(None),
        }
    }

    /// Every item of this page and the following ones, up to [`DEFAULT_COLLECT_CAP`]. Stops at the
    /// last page, or at an empty one (a System Log poll always has a next link).
    pub async fn collect_all(self) -> Result<Vec<T>> {
        self.collect_all_capped(DEFAULT_COLLECT_CAP).await
    }

    /// Like [`collect_all`](Page::collect_all) with another cap.
    pub async fn collect_all_capped(self, cap: usize) -> Result<Vec<T>> {
        let mut page = self;
        let mut all = Vec::new();
        loop {
            let next = if page.items.is_empty() {
                None
            } else {
                page.next.clone()
            };
            let (client, bucket) = (page.client.clone(), page.bucket.clone());
            all.extend(page.items);
            if all.len() > cap {
                return Err(Error::TooManyItems { cap });
            }
            match next {
                Some(url) => page = Page::fetch(&client, url, &bucket).await?,
                None => return Ok(all),
            }
        }
    }
}

/// The `rel="next"` target of a `link` header value (several links, comma-separated).
fn next_link(header: &str) -> Option<String> {
    let mut rest = header;
    while let Some(start) = rest.find('<') {
        let end = start + rest[start..].find('>')?;
        let target = &rest[start + 1..end];
        let params_end = rest[end..].find('<').map_or(rest.len(), |i| end + i);
        let params = &rest[end + 1..params_end];
        let is_next = params.split(';').any(|p| {
            let p = p.trim().trim_end_matches(',').trim();
            p.eq_ignore_ascii_case("rel=\"next\"") || p.eq_ignore_ascii_case("rel=next")
        });
        if is_next {
            return Some(target.to_owned());
        }
        rest = &rest[params_end..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_links_are_found_verbatim_among_others() {
        let h = r#"<https://a.okta.com/api/v1/users?limit=2>; rel="self", <https://a.okta.com/api/v1/users?after=00u2&limit=2>; rel="next""#;
        assert_eq!(
            next_link(h).as_deref(),
            Some("https://a.okta.com/api/v1/users?after=00u2&limit=2")
        );
        assert_eq!(
            next_link(r#"<https://a.okta.com/api/v1/users>; rel="self""#),
            None
        );
        assert_eq!(
            next_link(r#"<https://a.okta.com/x?f=a,b>; rel=next"#).as_deref(),
            Some("https://a.okta.com/x?f=a,b")
        );
    }
}
