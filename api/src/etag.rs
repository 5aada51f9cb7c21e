//! Zone serials as entity tags: every zone response carries `ETag: "<serial>"` (the zone's
//! newest serial, published or not), and writes take `If-Match: "<serial>"`, answered with
//! 412 when the zone has moved on (apex-core checks it under the zone's lock), so two editors
//! cannot overwrite each other.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::ApiError;

/// The serial a write was made against, from `If-Match` (`None` when absent or `*`).
pub struct IfMatch(pub Option<u32>);

impl FromRequestParts<AppState> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(header::IF_MATCH) else {
            return Ok(Self(None));
        };
        let bad = || {
            ApiError::BadBody {
            detail: "If-Match must be one zone serial as an entity tag, e.g. If-Match: \"2026120501\" (from the ETag of a zone response)".into(),
            pointer: None,
        }
        };
        let text = value.to_str().map_err(|_| bad())?.trim();
        if text == "*" {
            return Ok(Self(None));
        }
        let serial = text
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .and_then(|t| t.parse::<u32>().ok())
            .ok_or_else(bad)?;
        Ok(Self(Some(serial)))
    }
}

/// `response` with the zone's serial as its `ETag`.
pub fn tagged(serial: u32, response: impl IntoResponse) -> Response {
    let mut response = response.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{serial}\"")) {
        response.headers_mut().insert(header::ETAG, v);
    }
    response
}
