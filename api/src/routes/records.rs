//! `/api/v1/domains/{name}/records`

use apex_core::changes::Change;
use apex_core::ids::RecordId;
use apex_core::page::Window;
use apex_core::records::{self, RecordInput, RecordPatch, RecordQuery, RecordView};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::ChangeOnly;
use crate::AppState;
use crate::error::ApiError;
use crate::etag::tagged;
use crate::extract::{Authenticated, JsonBody, QueryParams};
use crate::page;

#[derive(Serialize)]
pub struct RecordList {
    records: Vec<RecordView>,
    /// The next page, when there is one.
    next: Option<String>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only this owner (relative or absolute).
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    /// Only this type.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    rtype: Option<String>,
    /// Only records whose content contains this (any case).
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<i64>,
}

#[derive(Serialize)]
pub struct RecordWithChange {
    record: RecordView,
    change: Change,
    /// Valid but suspect: an MX pointing at a CNAME, an SPF record with a typo.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
}

fn record_id(id: &str) -> Result<RecordId, ApiError> {
    id.parse::<i64>()
        .map(RecordId)
        .map_err(|_| ApiError::NotFound(format!("record {id} not found")))
}

/// `GET /domains/{name}/records?name=&type=&content=&cursor=&limit=`: by owner, type, id.
pub async fn list(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(name): Path<String>,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<Response, ApiError> {
    let limit = page::limit(q.limit)?;
    let after = match &q.cursor {
        Some(c) => {
            let p = page::parts(c, 3)?;
            let id = p[2].parse::<i64>().map_err(|_| {
                apex_core::CoreError::invalid("cursor", "not a cursor of this list")
            })?;
            Some((p[0].clone(), p[1].clone(), id))
        }
        None => None,
    };
    let query = RecordQuery {
        name: q.name.clone(),
        rtype: q.rtype.clone(),
        content: q.content.clone(),
        window: Window::new(after, limit + 1),
    };
    let (mut records, serial) = records::list(&s.core, &actor, &name, &query).await?;
    let next = if records.len() as i64 > limit {
        records.truncate(usize::try_from(limit).unwrap_or(0));
        records.last().map(|r| {
            page::next_link(
                &format!("/api/v1/domains/{name}/records"),
                &ListQuery {
                    cursor: Some(page::cursor(&[&r.fqdn, &r.rtype, &r.id.0.to_string()])),
                    limit: Some(limit),
                    ..q
                },
            )
        })
    } else {
        None
    };
    Ok(tagged(
        serial,
        page::linked(next.clone(), Json(RecordList { records, next })),
    ))
}

pub async fn create(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<RecordInput>,
) -> Result<Response, ApiError> {
    let (record, change, warnings) = records::create(&s.core, &actor, &name, &body).await?;
    Ok(tagged(
        change.serial.unwrap_or_default(),
        (
            StatusCode::CREATED,
            Json(RecordWithChange {
                record,
                change,
                warnings,
            }),
        ),
    ))
}

pub async fn update(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path((name, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<RecordPatch>,
) -> Result<Response, ApiError> {
    let (record, change, warnings) =
        records::update(&s.core, &actor, &name, record_id(&id)?, &body).await?;
    Ok(tagged(
        change.serial.unwrap_or_default(),
        Json(RecordWithChange {
            record,
            change,
            warnings,
        }),
    ))
}

pub async fn delete(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path((name, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let change = records::delete(&s.core, &actor, &name, record_id(&id)?).await?;
    Ok(tagged(
        change.serial.unwrap_or_default(),
        Json(ChangeOnly { change }),
    ))
}
