//! `/api/v1/domains/{name}/records`

use apex_core::changes::Change;
use apex_core::ids::RecordId;
use apex_core::records::{self, RecordInput, RecordPatch, RecordView};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;

use super::ChangeOnly;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Authenticated, JsonBody};
use crate::openapi::problem;

#[derive(Serialize, utoipa::ToSchema)]
pub struct RecordList {
    records: Vec<RecordView>,
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

/// `GET /domains/{name}/records`: every record of the domain.
#[utoipa::path(
    get,
    path = "/domains/{name}/records",
    tag = "records",
    operation_id = "records_list",
    params(
        ("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"),
    ),
    responses(
        (status = 200, description = "The records, by owner, type, content", body = RecordList),
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
pub async fn list(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(name): Path<String>,
) -> Result<Json<RecordList>, ApiError> {
    Ok(Json(RecordList {
        records: records::list(&s.core, &actor, &name).await?,
    }))
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
) -> Result<(StatusCode, Json<RecordWithChange>), ApiError> {
    let (record, change, warnings) = records::create(&s.core, &actor, &name, &body).await?;
    Ok((
        StatusCode::CREATED,
        Json(RecordWithChange {
            record,
            change,
            warnings,
        }),
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
) -> Result<Json<RecordWithChange>, ApiError> {
    let (record, change, warnings) =
        records::update(&s.core, &actor, &name, record_id(&id)?, &body).await?;
    Ok(Json(RecordWithChange {
        record,
        change,
        warnings,
    }))
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
) -> Result<Json<ChangeOnly>, ApiError> {
    let change = records::delete(&s.core, &actor, &name, record_id(&id)?).await?;
    Ok(Json(ChangeOnly { change }))
}
