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
use crate::openapi::problem;
use crate::page;

#[derive(Serialize, utoipa::ToSchema)]
pub struct RecordList {
    records: Vec<RecordView>,
    /// The next page, when there is one.
    next: Option<String>,
}

#[derive(Deserialize, Serialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this owner (relative or absolute). (The domain is the path's `name`.)
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    /// Only this type.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    #[param(rename = "type")]
    rtype: Option<String>,
    /// Only records whose content contains this (any case).
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<String>,
    /// From the `next` link of the page before.
    #[serde(skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
    /// Records per page (default 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
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
#[utoipa::path(
    get,
    path = "/domains/{name}/records",
    tag = "records",
    operation_id = "records_list",
    params(
        ("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"),
        ListQuery,
    ),
    responses(
        (status = 200, description = "A page of records, by owner, type and id", body = RecordList, headers(("ETag" = String, description = "The zone's serial, quoted: send it back as `If-Match`"))),
        problem::BadRequest,
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Invalid,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
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
    let next = page::cut_with(
        &mut records,
        limit,
        &format!("/api/v1/domains/{name}/records"),
        |r| vec![r.fqdn.clone(), r.rtype.clone(), r.id.0.to_string()],
        |cursor| ListQuery {
            cursor: Some(cursor),
            limit: Some(limit),
            ..q
        },
    );
    Ok(tagged(
        serial,
        page::linked(next.clone(), Json(RecordList { records, next })),
    ))
}

/// `POST /domains/{name}/records`: adds a record.
#[utoipa::path(
    post,
    path = "/domains/{name}/records",
    tag = "records",
    operation_id = "records_create",
    params(
        ("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"),
    ),
    request_body(content = RecordInput, example = json!({"name": "www", "type": "A", "ttl": 300, "content": "192.0.2.1", "comment": "web server"})),
    responses(
        (status = 201, description = "The record and its change", body = RecordWithChange),
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

/// `PATCH /domains/{name}/records/{id}`: changes a record.
#[utoipa::path(
    patch,
    path = "/domains/{name}/records/{id}",
    tag = "records",
    operation_id = "records_update",
    params(
        ("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"),
        ("id" = i64, Path, description = "The record's id"),
    ),
    request_body(content = RecordPatch, example = json!({"content": "192.0.2.2"})),
    responses(
        (status = 200, description = "The record and its change", body = RecordWithChange),
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

/// `DELETE /domains/{name}/records/{id}`: deletes a record.
#[utoipa::path(
    delete,
    path = "/domains/{name}/records/{id}",
    tag = "records",
    operation_id = "records_delete",
    params(
        ("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"),
        ("id" = i64, Path, description = "The record's id"),
    ),
    responses(
        (status = 200, description = "The change that removes it", body = ChangeOnly),
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Conflict,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
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
