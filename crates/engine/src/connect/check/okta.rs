//! Test connection for Okta.

use tracing::instrument;

use crate::{
    dto::ConnectionTest,
    engine::Engine,
    error::{Error, Result},
    progress::ProgressSink,
};

impl Engine {
    /// Tests a profile's Okta connection: `token` (a service app token for the scopes the enabled
    /// operations need, or the API token on `GET /api/v1/users/me`), then one probe per scope
    /// (`scope:{scope}`). Reports each check to `progress` (operation `test_okta`).
    #[instrument(skip(self, progress), err)]
    pub async fn test_okta(
        &self,
        profile_id: &str,
        progress: &dyn ProgressSink,
    ) -> Result<ConnectionTest> {
        let _ = (profile_id, progress);
        Err(Error::invalid(
            "Test connection for Okta is not available yet.",
        ))
    }
}
