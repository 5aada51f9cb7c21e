//! The stylesheet and script, compiled into the binary: nothing is loaded from elsewhere.

use apex_core::Core;
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

const CSS: &str = include_str!("../assets/apex.css");
const JS: &str = include_str!("../assets/apex.js");

/// Cached for a day; the URLs carry the version, so a new release is fetched anew.
const CACHE: &str = "public, max-age=86400";

/// `/assets/apex.css` and `/assets/apex.js`.
pub(crate) fn routes() -> Router<Core> {
    Router::new()
        .route(
            "/assets/apex.css",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/css; charset=utf-8"),
                        (header::CACHE_CONTROL, CACHE),
                    ],
                    CSS,
                )
                    .into_response()
            }),
        )
        .route(
            "/assets/apex.js",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                        (header::CACHE_CONTROL, CACHE),
                    ],
                    JS,
                )
                    .into_response()
            }),
        )
}
