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
use crate::page;

#[derive(Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
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
    #[serde(skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<i64>,
}

#[derive(Serialize)]
pub struct ChangeList {
    changes: Vec<Entry>,
    next: Option<String>,
}

/// `GET /domains/{name}/changes`: newest first, each with its record diff.
pub async fn changes(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(name): Path<String>,
    QueryParams(q): QueryParams<ChangesQuery>,
) -> Result<Response, ApiError> {
    let limit = page::limit(q.limit)?.min(500);
    let before = match &q.cursor {
        Some(c) => Some(ChangeId(
            page::parts(c, 1)?
                .first()
                .and_then(|id| id.parse().ok())
                .ok_or_else(|| {
                    apex_core::CoreError::invalid("cursor", "not a cursor of this list")
                })?,
        )),
        None => None,
    };
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
    let next = if list.len() as i64 > limit {
        list.truncate(usize::try_from(limit).unwrap_or(0));
        list.last().map(|last| {
            page::next_link(
                &format!("/api/v1/domains/{name}/changes"),
                &ChangesQuery {
                    cursor: Some(page::cursor(&[&last.change.id.0.to_string()])),
                    limit: Some(limit),
                    ..q
                },
            )
        })
    } else {
        None
    };
    Ok(page::linked(
        next.clone(),
        Json(ChangeList {
            changes: list,
            next,
        }),
    ))
}

#[derive(Serialize)]
pub struct VersionList {
    versions: Vec<VersionView>,
}

/// `GET /domains/{name}/versions`: the kept versions, newest first.
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevertQuery {
    dry_run: Option<bool>,
}

/// `POST /domains/{name}/revert` with `{"to_serial": N}` or `{"change": id}`.
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
