//! Okta management API.
use std::sync::Arc;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use crate::server::Shared;

#[derive(Debug, Default)]
pub(crate) struct RateLimits;
impl RateLimits {
    pub(crate) fn summary(&self, _now: Timestamp) -> serde_json::Value { serde_json::json!({}) }
    pub(crate) fn set_limit(&mut self, _b: &str, _l: u32) -> Result<(), String> { Ok(()) }
}
pub(crate) struct OktaError;
impl OktaError { pub(crate) fn not_found_path(_p: &str) -> OktaError { OktaError } }
impl IntoResponse for OktaError { fn into_response(self) -> Response { StatusCode::NOT_FOUND.into_response() } }
pub(crate) fn injected_fault(_s: &Shared, _p: &str, status: StatusCode, _r: Option<u64>) -> Response { status.into_response() }
pub(crate) fn router(_s: Arc<Shared>) -> Router<Arc<Shared>> { Router::new() }
