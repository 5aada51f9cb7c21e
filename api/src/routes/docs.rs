//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of this API.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// `GET /openapi.json`: the document, built once from the router's own route list.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    operation_id = "openapi_document",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of this API", content_type = "application/json", body = Object),
    )
)]
pub async fn document() -> Response {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    let json = DOCUMENT.get_or_init(|| {
        serde_json::to_string(&crate::openapi()).unwrap_or_else(|_| "{}".to_string())
    });
    ([(header::CONTENT_TYPE, "application/json")], json.as_str()).into_response()
}
