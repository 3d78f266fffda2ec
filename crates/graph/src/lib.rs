//! okta365 graph client.
