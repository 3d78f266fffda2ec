//! Test connection: the checks of docs/connections.md, each a [`CheckStep`].

use tracing::instrument;

use crate::{
    dto::{CheckStep, ConnectionTest},
    engine::Engine,
    error::{Error, Result},
    progress::ProgressSink,
};

impl Engine {
    /// Tests a profile's Microsoft connection: token, tenant, the permissions of each enabled
    /// operation, and the credential's expiry. Reports each check to `progress` (operation
    /// `test_microsoft`, one step per check).
    #[instrument(skip(self, progress), err)]
    pub async fn test_microsoft(
        &self,
        profile_id: &str,
        progress: &dyn ProgressSink,
    ) -> Result<ConnectionTest> {
        let _ = (profile_id, progress, Vec::<CheckStep>::new());
        Err(Error::invalid("Test connection is not available yet."))
    }

    /// Tests a profile's Okta connection: token (or API token), then one probe per scope the enabled
    /// operations need. Reports each check to `progress` (operation `test_okta`).
    #[instrument(skip(self, progress), err)]
    pub async fn test_okta(
        &self,
        profile_id: &str,
        progress: &dyn ProgressSink,
    ) -> Result<ConnectionTest> {
        let _ = (profile_id, progress);
        Err(Error::invalid("Test connection is not available yet."))
    }
}
