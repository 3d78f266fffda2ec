//! The one table of Microsoft Graph error codes okta365 explains (the `error.code` of a Graph error
//! body), with one unit test per code.

/// One Graph error code explained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraphCodeEntry {
    /// Graph's `error.code`.
    pub code: &'static str,
    /// What went wrong, in plain language.
    pub summary: &'static str,
    /// What the admin should do about it.
    pub fix: &'static str,
}

const fn entry(code: &'static str, summary: &'static str, fix: &'static str) -> GraphCodeEntry {
    GraphCodeEntry { code, summary, fix }
}

/// Every Graph error code okta365 explains.
pub const TABLE: &[GraphCodeEntry] = &[
    entry(
        "Authorization_RequestDenied",
        "The app is not allowed to do this: it lacks the Microsoft Graph application permission.",
        "Under App registrations > API permissions > Add a permission > Microsoft Graph > Application permissions, add the permission this operation needs, then click 'Grant admin consent'.",
    ),
    entry(
        "Request_ResourceNotFound",
        "Microsoft Graph has no such object (it was deleted, or the id is from another tenant).",
        "Check the id or name, and that the profile points at the right tenant.",
    ),
    entry(
        "InvalidAuthenticationToken",
        "Microsoft Graph refused the access token.",
        "Check that the profile's Graph URL matches its login URL (same cloud), then test the connection again.",
    ),
    entry(
        "Request_BadRequest",
        "Microsoft Graph refused the request as invalid.",
        "Read Microsoft's message below; it names the field that is wrong.",
    ),
    entry(
        "TooManyRequests",
        "Microsoft Graph is throttling this app or tenant.",
        "Wait a few minutes and try again; okta365 already waited as long as Graph asked.",
    ),
];

/// The entry for a Graph `error.code`, if okta365 explains it.
pub fn lookup(code: &str) -> Option<&'static GraphCodeEntry> {
    TABLE.iter().find(|e| e.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_request_denied_names_admin_consent() {
        assert!(
            lookup("Authorization_RequestDenied")
                .unwrap()
                .fix
                .contains("Grant admin consent")
        );
    }

    #[test]
    fn request_resource_not_found() {
        assert!(
            lookup("Request_ResourceNotFound")
                .unwrap()
                .summary
                .contains("no such object")
        );
    }

    #[test]
    fn invalid_authentication_token() {
        assert!(
            lookup("InvalidAuthenticationToken")
                .unwrap()
                .fix
                .contains("Graph URL")
        );
    }

    #[test]
    fn request_bad_request() {
        assert!(
            lookup("Request_BadRequest")
                .unwrap()
                .fix
                .contains("Microsoft's message")
        );
    }

    #[test]
    fn too_many_requests() {
        assert!(
            lookup("TooManyRequests")
                .unwrap()
                .summary
                .contains("throttling")
        );
    }

    #[test]
    fn unknown_codes_are_not_explained() {
        assert!(lookup("SomethingNew").is_none());
    }
}
