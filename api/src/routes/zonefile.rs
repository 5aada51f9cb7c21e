//! `/api/v1/domains/{name}/import` and `/export`: zone files in and out (`text/dns`, RFC 4027).

use apex_core::zonefiles::{self, ImportMode, ImportOutcome};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Authenticated, QueryParams};
use crate::openapi::problem;

/// How an import treats the records already there (the `mode` query parameter).
#[derive(utoipa::ToSchema)]
#[schema(as = ImportMode)]
#[allow(dead_code)] // Only describes the parameter's values.
#[serde(rename_all = "lowercase")]
pub enum ImportModeParam {
    /// The file becomes the zone.
    Replace,
    /// The file's records are added to the zone.
    Merge,
}

/// Largest zone file accepted (a zone of a million records is about 40 MB).
pub const MAX_UPLOAD: usize = apex_core::zonefiles::MAX_FILE;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// `replace` (the default): the file becomes the zone; `merge`: its records are added.
    #[param(value_type = Option<ImportModeParam>, inline)]
    mode: Option<String>,
    /// Only say what would change.
    dry_run: Option<bool>,
}

/// `POST /domains/{name}/import`: a zone file replaces (or merges into) the records.
#[utoipa::path(
    post,
    path = "/domains/{name}/import",
    tag = "zonefiles",
    operation_id = "zonefiles_import",
    params(
        ("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"),
        ImportQuery,
    ),
    request_body(description = "A zone file (RFC 1035 master file)", content((String = "text/plain"), (String = "text/dns"), (String = "application/octet-stream"))),
    responses(
        (status = 200, description = "What changed (or would, with `dry_run`)", body = ImportOutcome),
        (status = 413, description = "The file is larger than the limit", content_type = "text/plain", body = String),
        problem::BadRequest,
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Conflict,
        problem::UnsupportedMediaType,
        problem::Invalid,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
pub async fn import(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(name): Path<String>,
    QueryParams(q): QueryParams<ImportQuery>,
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

/// `GET /domains/{name}/export`: the zone as a zone file.
#[utoipa::path(
    get,
    path = "/domains/{name}/export",
    tag = "zonefiles",
    operation_id = "zonefiles_export",
    params(
        ("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"),
    ),
    responses(
        (status = 200, description = "The zone file", content_type = "text/dns", body = String,
            headers(("ETag" = String, description = "The zone's serial, quoted: send it back as `If-Match`"))),
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
pub async fn export(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let (text, serial) = zonefiles::export(&s.core, &actor, &name).await?;
    let mut resp = crate::etag::tagged(serial, text);
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/dns"));
    Ok(resp)
}
