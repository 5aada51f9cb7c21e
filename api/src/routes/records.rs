//! `/api/v1/domains/{name}/records`

use apex_core::changes::Change;
use apex_core::ids::RecordId;
use apex_core::records::{self, RecordInput, RecordPatch, RecordView};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use super::ChangeOnly;
use crate::AppState;
use crate::error::ApiError;
use crate::etag::tagged;
use crate::extract::{Authenticated, JsonBody};

#[derive(Serialize)]
pub struct RecordList {
    records: Vec<RecordView>,
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

pub async fn list(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(name): Path<String>,
) -> Result<Json<RecordList>, ApiError> {
    Ok(Json(RecordList {
        records: records::list(&s.core, &actor, &name).await?,
    }))
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
