//! Routes, one file per resource.

mod domains;
mod health;
mod records;

use axum::Router;
use axum::routing::get;

use apex_core::changes::Change;
use serde::Serialize;

use crate::AppState;
use crate::error::ApiError;

/// The answer to a write that leaves no resource to show (a deletion).
#[derive(Serialize)]
pub struct ChangeOnly {
    change: Change,
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .nest("/api/v1", v1())
}

fn v1() -> Router<AppState> {
    Router::new()
        .route("/domains", get(domains::list).post(domains::create))
        .route(
            "/domains/{name}",
            get(domains::show).delete(domains::delete),
        )
        .route("/domains/{name}/changes/{id}", get(domains::change))
        .route(
            "/domains/{name}/records",
            get(records::list).post(records::create),
        )
        .route(
            "/domains/{name}/records/{id}",
            axum::routing::patch(records::update).delete(records::delete),
        )
        .fallback(|| async { ApiError::NotFound("no such API endpoint".into()) })
}
