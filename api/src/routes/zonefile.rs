//! `/api/v1/domains/{name}/import` and `/export`: zone files in and out (`text/dns`, RFC 4027).

use apex_core::zonefiles::{self, ImportMode, ImportOutcome};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::Authenticated;

/// Largest zone file accepted (a zone of a million records is about 40 MB).
pub const MAX_UPLOAD: usize = apex_core::zonefiles::MAX_FILE;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    mode: Option<String>,
    dry_run: Option<bool>,
}

pub async fn import(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(name): Path<String>,
    Query(q): Query<ImportQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ImportOutcome>, ApiError> {
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = ctype
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !matches!(
        media.as_str(),
        "text/dns" | "text/plain" | "application/octet-stream"
    ) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let mode = match q.mode.as_deref() {
        None | Some("replace") => ImportMode::Replace,
        Some("merge") => ImportMode::Merge,
        Some(other) => {
            return Err(apex_core::CoreError::invalid(
                "mode",
                format!("{other:?} is not one of \"replace\", \"merge\""),
            )
            .into());
        }
    };
    Ok(Json(
        zonefiles::import(
            &s.core,
            &actor,
            &name,
            &body,
            mode,
            q.dry_run.unwrap_or(false),
        )
        .await?,
    ))
}

pub async fn export(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let text = zonefiles::export(&s.core, &actor, &name).await?;
    let mut resp = text.into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/dns"));
    Ok(resp)
}
