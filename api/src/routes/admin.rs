//! `/api/v1/admin`: platform administration (admins only, checked in apex-core).

use apex_core::ids::UserId;
use apex_core::invitations::{self, InvitationView};
use apex_core::jobs::{self, JobView};
use apex_core::users::admin::{self, NewUser, UserPage, UserPatch, UserQuery, UserView};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Authenticated, JsonBody, QueryParams};

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

fn user_id(id: &str) -> Result<UserId, ApiError> {
    id.parse::<i64>()
        .map(UserId)
        .map_err(|_| ApiError::NotFound(format!("user {id} not found")))
}

/// `GET /admin/users?q=&before=&limit=`.
pub async fn users(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    QueryParams(q): QueryParams<UserQuery>,
) -> Result<Json<UserPage>, ApiError> {
    Ok(Json(admin::list(&s.core, &actor, &q).await?))
}

/// `POST /admin/users`.
pub async fn create_user(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    JsonBody(body): JsonBody<NewUser>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(admin::create(&s.core, &actor, &body).await?),
    ))
}

/// `GET /admin/users/{id}`.
pub async fn user(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    Ok(Json(admin::show(&s.core, &actor, user_id(&id)?).await?))
}

/// `PATCH /admin/users/{id}`.
pub async fn update_user(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UserPatch>,
) -> Result<Json<UserView>, ApiError> {
    Ok(Json(
        admin::update(&s.core, &actor, user_id(&id)?, &body).await?,
    ))
}

/// `POST /admin/users/{id}/reset-2fa`.
pub async fn reset_2fa(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    Ok(Json(
        admin::reset_2fa(&s.core, &actor, user_id(&id)?).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteBody {
    email: String,
}

/// `POST /admin/invitations`: invites an address to sign up.
pub async fn invite(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    JsonBody(body): JsonBody<InviteBody>,
) -> Result<(StatusCode, Json<InvitationView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(invitations::invite_to_platform(&s.core, &actor, &body.email).await?),
    ))
}
