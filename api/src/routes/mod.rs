//! Routes, one file per resource.

mod admin;
mod domains;
mod health;
mod records;
mod webhooks;
mod zonefile;

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
    use axum::extract::DefaultBodyLimit;
    use axum::routing::{patch, post};
    Router::new()
        .route("/admin/jobs", get(admin::jobs))
        .route("/admin/jobs/{id}/retry", post(admin::retry))
        .route("/domains", get(domains::list).post(domains::create))
        .route(
            "/domains/{name}",
            get(domains::show)
                .patch(domains::update)
                .delete(domains::delete),
        )
        .route("/domains/{name}/changes/{id}", get(domains::change))
        .route("/domains/{name}/dnssec", get(domains::dnssec))
        .route(
            "/domains/{name}/records",
            get(records::list).post(records::create),
        )
        .route(
            "/domains/{name}/records/{id}",
            patch(records::update).delete(records::delete),
        )
        .route(
            "/domains/{name}/import",
            post(zonefile::import).layer(DefaultBodyLimit::max(zonefile::MAX_UPLOAD)),
        )
        .route("/domains/{name}/export", get(zonefile::export))
        .route(
            "/domains/{name}/webhooks",
            get(webhooks::list).post(webhooks::create),
        )
        .route(
            "/domains/{name}/webhooks/{id}",
            get(webhooks::show).delete(webhooks::delete),
        )
        .route(
            "/domains/{name}/webhooks/{id}/deliveries",
            get(webhooks::deliveries),
        )
        .fallback(|| async { ApiError::NotFound("no such API endpoint".into()) })
}
