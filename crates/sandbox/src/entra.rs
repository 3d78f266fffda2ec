//! Entra ID token endpoint.
use std::sync::Arc;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use crate::server::Shared;
#[derive(Debug)]
pub(crate) struct Keys;
pub(crate) fn injected_fault(_s: &Shared, status: StatusCode) -> Response { status.into_response() }
pub(crate) fn router() -> Router<Arc<Shared>> { Router::new() }
