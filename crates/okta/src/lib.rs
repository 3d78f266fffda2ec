//! okta365 okta client.
