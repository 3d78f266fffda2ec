//! Microsoft Graph.
use std::sync::Arc;
use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use crate::server::Shared;
pub(crate) struct GraphError(StatusCode);
impl GraphError {
    pub(crate) fn new(s: StatusCode, _c: &str, _m: String) -> GraphError { GraphError(s) }
    pub(crate) fn respond(self, _s: &Shared, _h: &HeaderMap) -> Response { self.0.into_response() }
}
pub(crate) fn injected_fault(_s: &Shared, _h: &HeaderMap, status: StatusCode) -> Response { status.into_response() }
pub(crate) fn router() -> Router<Arc<Shared>> { Router::new() }
