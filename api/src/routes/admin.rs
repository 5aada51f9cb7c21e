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
use crate::openapi::problem;

/// The values of `state` (`apex_core::jobs::STATES`), for the OpenAPI document.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Only describes the parameter's values.
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Not tried yet, or in flight.
    Pending,
    /// Failed, and tried again after a wait.
    Retrying,
    /// Given up (webhook deliveries after 24 hours).
    Failed,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct JobFilter {
    /// Only jobs in this state.
    #[param(value_type = Option<JobState>, inline)]
    state: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct JobList {
    jobs: Vec<JobView>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Retried {
    retried: String,
}

/// `GET /admin/jobs?state=`: work the platform has not finished.
#[utoipa::path(
    get,
    path = "/admin/jobs",
    tag = "admin",
    operation_id = "admin_jobs",
    params(
        JobFilter,
    ),
    responses(
        (status = 200, description = "Jobs not done yet", body = JobList),
        problem::BadRequest,
        problem::Unauthenticated,
        problem::Forbidden,
        problem::Invalid,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
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

/// `POST /admin/jobs/{id}/retry`: makes a job due now.
#[utoipa::path(
    post,
    path = "/admin/jobs/{id}/retry",
    tag = "admin",
    operation_id = "admin_retry",
    params(
        ("id" = String, Path, description = "The job's id: `publish_zone:12`, `announce_zone:12`, `webhook_delivery:7`"),
    ),
    responses(
        (status = 202, description = "The job is due now", body = Retried),
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Invalid,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
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
#[utoipa::path(
    get,
    path = "/admin/users",
    tag = "admin",
    operation_id = "admin_users",
    params(
        ("q" = Option<String>, Query, description = "Part of the e-mail address"),
        ("before" = Option<i64>, Query, description = "Users older than this id (the `next` of the previous page)"),
        ("limit" = Option<i64>, Query, description = "How many"),
    ),
    responses(
        (status = 200, description = "Users, newest first", body = UserPage),
        problem::BadRequest,
        problem::Unauthenticated,
        problem::Forbidden,
        problem::Invalid,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
pub async fn users(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    QueryParams(q): QueryParams<UserQuery>,
) -> Result<Json<UserPage>, ApiError> {
    Ok(Json(admin::list(&s.core, &actor, &q).await?))
}

/// `POST /admin/users`.
#[utoipa::path(
    post,
    path = "/admin/users",
    tag = "admin",
    operation_id = "admin_create_user",
    request_body(content = NewUser, example = json!({"email": "carol@example.com"})),
    responses(
        (status = 201, description = "The user", body = UserView),
        problem::BadRequest,
        problem::Unauthenticated,
        problem::Forbidden,
        problem::Conflict,
        problem::UnsupportedMediaType,
        problem::Invalid,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
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
#[utoipa::path(
    get,
    path = "/admin/users/{id}",
    tag = "admin",
    operation_id = "admin_user",
    params(
        ("id" = i64, Path, description = "The user's id"),
    ),
    responses(
        (status = 200, description = "The user", body = UserView),
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
pub async fn user(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    Ok(Json(admin::show(&s.core, &actor, user_id(&id)?).await?))
}

/// `PATCH /admin/users/{id}`.
#[utoipa::path(
    patch,
    path = "/admin/users/{id}",
    tag = "admin",
    operation_id = "admin_update_user",
    params(
        ("id" = i64, Path, description = "The user's id"),
    ),
    request_body(content = UserPatch, example = json!({"domain_quota": 10})),
    responses(
        (status = 200, description = "The user", body = UserView),
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
#[utoipa::path(
    post,
    path = "/admin/users/{id}/reset-2fa",
    tag = "admin",
    operation_id = "admin_reset_2fa",
    params(
        ("id" = i64, Path, description = "The user's id"),
    ),
    responses(
        (status = 200, description = "The user, second factor off", body = UserView),
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
pub async fn reset_2fa(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    Ok(Json(
        admin::reset_2fa(&s.core, &actor, user_id(&id)?).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteBody {
    email: String,
}

/// `POST /admin/invitations`: invites an address to sign up.
#[utoipa::path(
    post,
    path = "/admin/invitations",
    tag = "admin",
    operation_id = "admin_invite",
    request_body(content = InviteBody, example = json!({"email": "dave@example.com"})),
    responses(
        (status = 201, description = "The invitation (mailed)", body = InvitationView),
        problem::BadRequest,
        problem::Unauthenticated,
        problem::Forbidden,
        problem::Conflict,
        problem::UnsupportedMediaType,
        problem::Invalid,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
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
