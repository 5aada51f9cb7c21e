//! `/api/v1/domains/{name}/changes`, `/versions` and `/revert`: what happened to a zone, what
//! it looked like at each kept serial, and going back.

use apex_core::changes::{self, ChangeFilter, Entry};
use apex_core::ids::{ApiKeyId, ChangeId};
use apex_core::revert::{self, RevertTo};
use apex_core::rrsets::WriteOptions;
use apex_core::versions::{self, VersionView};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::ApiError;
use crate::etag::{IfMatch, tagged};
use crate::extract::{Authenticated, JsonBody, QueryParams};
use crate::openapi::problem;
use crate::page;

#[derive(Deserialize, Serialize, Default, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// Made by this user (e-mail address).
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    /// Made with this API key (id).
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<i64>,
    /// Made through this channel: `api`, `web`, `cli`, `import`, `dns-update`, `platform`.
    #[serde(skip_serializing_if = "Option::is_none")]
    via: Option<String>,
    /// Made at or after (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    since: Option<DateTime<Utc>>,
    /// Made before (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    until: Option<DateTime<Utc>>,
    /// From the `next` link of the page before.
    #[serde(skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
    /// Changes per page (default 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ChangeList {
    changes: Vec<Entry>,
    next: Option<String>,
}

/// `GET /domains/{name}/changes`: newest first, each with its record diff.
#[utoipa::path(
    get,
    path = "/domains/{name}/changes",
    tag = "domains",
    operation_id = "domains_changes",
    summary = "The zone's history, newest first, each change with its record diff",
    params(("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"), ChangesQuery),
    responses(
        (status = 200, description = "A page of changes", body = ChangeList),
        problem::BadRequest,
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Invalid,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
pub async fn changes(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(name): Path<String>,
    QueryParams(q): QueryParams<ChangesQuery>,
) -> Result<Response, ApiError> {
    let limit = page::limit_at_most(q.limit, 500)?;
    let before = q
        .cursor
        .as_deref()
        .map(page::id_of)
        .transpose()?
        .map(ChangeId);
    let filter = ChangeFilter {
        before,
        user: q.user.clone(),
        key: q.key.map(ApiKeyId),
        via: q.via.clone(),
        since: q.since,
        until: q.until,
        limit: limit + 1,
    };
    let mut list = changes::list(&s.core.pool, &actor, &name, &filter).await?;
    let next = page::cut_with(
        &mut list,
        limit,
        &format!("/api/v1/domains/{name}/changes"),
        |c| vec![c.change.id.0.to_string()],
        |cursor| ChangesQuery {
            cursor: Some(cursor),
            limit: Some(limit),
            ..q
        },
    );
    Ok(page::linked(
        next.clone(),
        Json(ChangeList {
            changes: list,
            next,
        }),
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct VersionList {
    versions: Vec<VersionView>,
}

/// `GET /domains/{name}/versions`: the kept versions, newest first.
#[utoipa::path(
    get,
    path = "/domains/{name}/versions",
    tag = "domains",
    operation_id = "domains_versions",
    summary = "The kept published versions of the zone, newest first",
    params(("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels")),
    responses(
        (status = 200, description = "The versions", body = VersionList),
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
pub async fn versions(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(name): Path<String>,
) -> Result<Json<VersionList>, ApiError> {
    Ok(Json(VersionList {
        versions: versions::list(&s.core.pool, &actor, &name).await?,
    }))
}

/// `GET /domains/{name}/versions/{serial}/export`: the zone as served at that serial.
#[utoipa::path(
    get,
    path = "/domains/{name}/versions/{serial}/export",
    tag = "zonefiles",
    operation_id = "domains_version_export",
    summary = "The zone as the nameservers served it at a kept serial, as a zone file",
    params(("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"), ("serial" = u32, Path, description = "A kept version's serial")),
    responses(
        (status = 200, description = "The zone file", content_type = "text/dns", body = String, headers(("ETag" = String, description = "The zone's serial, quoted: send it back as `If-Match`"))),
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
pub async fn version_export(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path((name, serial)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let serial: u32 = serial
        .parse()
        .map_err(|_| ApiError::NotFound(format!("version {serial} not found")))?;
    let text = versions::export(&s.core.pool, &actor, &name, serial).await?;
    let mut resp = tagged(serial, text);
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/dns"));
    Ok(resp.into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RevertQuery {
    /// Check and show the diff, write nothing.
    dry_run: Option<bool>,
}

/// `POST /domains/{name}/revert` with `{"to_serial": N}` or `{"change": id}`.
#[utoipa::path(
    post,
    path = "/domains/{name}/revert",
    tag = "domains",
    operation_id = "domains_revert",
    summary = "Take the records back to an earlier serial, or undo one change, as a new change",
    params(("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"), RevertQuery, ("If-Match" = Option<String>, Header, description = "The zone serial the write was made against, as an entity tag (`\"2026120501\"`, from `ETag`): the write is refused with 412 when the zone has moved on")),
    request_body(content = RevertTo, description = "`{\"to_serial\": N}` or `{\"change\": id}`"),
    responses(
        (status = 200, description = "The RRsets that change, the change and the serial", body = apex_core::rrsets::Outcome, headers(("ETag" = String, description = "The zone's serial, quoted: send it back as `If-Match`"))),
        problem::BadRequest,
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Conflict,
        problem::PreconditionFailed,
        problem::UnsupportedMediaType,
        problem::Invalid,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
pub async fn revert(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(name): Path<String>,
    QueryParams(q): QueryParams<RevertQuery>,
    IfMatch(if_match): IfMatch,
    JsonBody(to): JsonBody<RevertTo>,
) -> Result<Response, ApiError> {
    let opts = WriteOptions {
        dry_run: q.dry_run.unwrap_or(false),
        if_match,
    };
    let outcome = revert::revert(&s.core, &actor, &name, to, opts).await?;
    Ok(tagged(outcome.serial, Json(outcome)))
}
