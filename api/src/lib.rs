//! apex-api: the REST API, version 1, under `/api/v1`, plus `/healthz` and `/readyz`.
//!
//! `app(state)` builds the whole router; tests call it with `tower::ServiceExt::oneshot`,
//! no TCP. Handlers are thin: they extract the caller ([`extract`]), call apex-core, and
//! shape JSON. Authorization lives in apex-core (`apex_core::authz::authorize`), reached
//! through its loaders; no handler decides who may do what.
//!
//! The OpenAPI 3.1 document ([`openapi()`], served at `/api/v1/openapi.json`) is built from
//! the same route list as the router ([`openapi`](mod@openapi) says how); Swagger UI shows
//! it at `/api/docs`.

pub mod error;
pub mod etag;
pub mod extract;
pub mod idempotency;
pub mod limits;
pub mod openapi;
pub mod page;
mod routes;

use apex_core::Core;
use axum::Router;
use tower_http::trace::TraceLayer;
use utoipa_swagger_ui::{Config, SwaggerUi};

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    /// The platform.
    pub core: Core,
}

/// The API router, with the reference page. Around the routes: rate limits ([`limits`],
/// outermost, so a refused request costs nothing more), then idempotency keys
/// ([`idempotency`]). Each call has rate limit buckets of its own in memory, and shares those
/// in Redis.
pub fn app(state: AppState) -> Router {
    use axum::middleware::from_fn_with_state;
    routes::router()
        .router
        .merge(reference_page())
        .layer(from_fn_with_state(state.clone(), idempotency::layer))
        .layer(from_fn_with_state(
            limits::Limits::new(&state),
            limits::layer,
        ))
        .with_state(state)
        .layer(TraceLayer::new_for_http())
}

/// Swagger UI at `/api/docs`, its files compiled into the binary (nothing from a CDN, no
/// call to the online validator), reading the document from `/api/v1/openapi.json`. It is
/// not part of the API, so not in [`route_paths`] nor in the document.
fn reference_page() -> Router<AppState> {
    SwaggerUi::new(openapi::PAGE_PATH)
        .config(Config::new([openapi::DOCUMENT_PATH]).validator_url("none"))
        .into()
}

/// The path of every route of the API (`/api/v1/domains/{name}`), in the order they were
/// added: the authorization matrix test drives each of them.
pub fn route_paths() -> Vec<String> {
    routes::router().paths
}

/// The OpenAPI 3.1 document of every operation of the API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes::router().openapi
}
