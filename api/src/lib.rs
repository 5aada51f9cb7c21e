//! apex-api: the REST API, version 1, under `/api/v1`, plus `/healthz` and `/readyz`.
//!
//! `app(state)` builds the whole router; tests call it with `tower::ServiceExt::oneshot`,
//! no TCP. Handlers are thin: they extract, call apex-core, and shape JSON. Every endpoint
//! about a domain goes through `apex_core::domains::load`/`lock`, where authorization lives.

pub mod error;
pub mod extract;
mod routes;

use apex_core::Core;
use axum::Router;
use tower_http::trace::TraceLayer;

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    /// The platform.
    pub core: Core,
}

/// The API router.
pub fn app(state: AppState) -> Router {
    routes::router()
        .with_state(state)
        .layer(TraceLayer::new_for_http())
}
