//! `/api/v1/admin`: platform administration (admins only, checked in apex-core).

use apex_core::jobs::{self, JobView};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::Authenticated;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobFilter {
    state: Option<String>,
}

#[derive(Serialize)]
pub struct JobList {
    jobs: Vec<JobView>,
}

#[derive(Serialize)]
pub struct Retried {
    retried: String,
}

pub async fn jobs(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    filter: Result<Query<JobFilter>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<JobList>, ApiError> {
    let Query(filter) = filter.map_err(|e| ApiError::BadBody {
        detail: e.body_text(),
        pointer: None,
    })?;
    let jobs = jobs::list(&s.core, &actor, filter.state.as_deref()).await?;
    Ok(Json(JobList { jobs }))
}

pub async fn retry(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Retried>), ApiError> {
    jobs::retry(&s.core, &actor, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(Retried { retried: id })))
}
