//! apex-api: the REST API, version 1, under `/api/v1`, plus `/healthz` and `/readyz`.
//!
//! `app(state)` builds the whole router; tests call it with `tower::ServiceExt::oneshot`,
//! no TCP. Handlers are thin: they extract the caller ([`extract`]), call apex-core, and
//! shape JSON. Authorization lives in apex-core (`apex_core::authz::authorize`), reached
//! through its loaders; no handler decides who may do what.

pub mod error;
pub mod etag;
pub mod extract;
pub mod idempotency;
pub mod limits;
pub mod page;
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

/// The API router. Around the routes: rate limits ([`limits`], outermost, so a refused
/// request costs nothing more), then idempotency keys ([`idempotency`]). Each call has rate
/// limit buckets of its own in memory, and shares those in Redis.
pub fn app(state: AppState) -> Router {
    use axum::middleware::from_fn_with_state;
    routes::router()
        .0
        .layer(from_fn_with_state(state.clone(), idempotency::layer))
        .layer(from_fn_with_state(
            limits::Limits::new(&state),
            limits::layer,
        ))
        .with_state(state)
        .layer(TraceLayer::new_for_http())
}

/// The path of every route of [`app`] (`/api/v1/domains/{name}`), in the order they were
/// added: the authorization matrix test drives each of them.
pub fn route_paths() -> Vec<String> {
    routes::router().1
}
