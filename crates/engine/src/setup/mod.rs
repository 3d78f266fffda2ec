//! The guided first-time setup (docs/setup.md): the setup journal, the Okta groups, the licenses table,
//! creating the Entra app registration and the Okta API service app for the admin, and the review of
//! what a profile is ready to do. Every tenant write is planned first and journaled before and after it
//! is sent.

pub mod groups;
pub mod journal;
pub mod licenses;
pub mod microsoft_app;
pub mod okta_app;
pub mod review;
