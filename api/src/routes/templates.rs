//! `/api/v1/account/template` and `/api/v1/admin/template`: the records new domains get.

use apex_core::templates::{self, Template};
use axum::Json;
use axum::extract::State;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{AccountAuth, Authenticated, JsonBody};
use crate::openapi::problem;

/// `GET /account/template`: your default records (empty: new domains get the platform's).
#[utoipa::path(
    get,
    path = "/account/template",
    tag = "account",
    operation_id = "account_template",
    summary = "Your default records for new domains",
    responses(
        (status = 200, description = "The template", body = Template),
        problem::Unauthenticated,
        problem::Forbidden,
        problem::Internal,
    ),
    security(("api_key" = []), ("session" = [])),
)]
pub async fn own(
    State(s): State<AppState>,
    AccountAuth(actor): AccountAuth,
) -> Result<Json<Template>, ApiError> {
    Ok(Json(templates::own(&s.core, &actor).await?))
}

/// `PUT /account/template`: replaces your default records.
#[utoipa::path(
    put,
    path = "/account/template",
    tag = "account",
    operation_id = "account_template_set",
    summary = "Replace your default records for new domains",
    request_body(content = Template, description = "The records; `{\"records\": []}` clears the template"),
    responses(
        (status = 200, description = "The template", body = Template),
        problem::BadRequest,
        problem::Unauthenticated,
        problem::Forbidden,
        problem::UnsupportedMediaType,
        problem::Invalid,
        problem::Internal,
    ),
    security(("api_key" = []), ("session" = [])),
)]
pub async fn set_own(
    State(s): State<AppState>,
    AccountAuth(actor): AccountAuth,
    JsonBody(body): JsonBody<Template>,
) -> Result<Json<Template>, ApiError> {
    Ok(Json(templates::set_own(&s.core, &actor, &body).await?))
}

/// `GET /admin/template`: the platform's default records.
#[utoipa::path(
    get,
    path = "/admin/template",
    tag = "admin",
    operation_id = "admin_template",
    summary = "The platform's default records for new domains",
    responses(
        (status = 200, description = "The template", body = Template),
        problem::Unauthenticated,
        problem::Forbidden,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
pub async fn platform(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Json<Template>, ApiError> {
    Ok(Json(templates::platform(&s.core, &actor).await?))
}

/// `PUT /admin/template`: replaces the platform's default records.
#[utoipa::path(
    put,
    path = "/admin/template",
    tag = "admin",
    operation_id = "admin_template_set",
    summary = "Replace the platform's default records for new domains",
    request_body(content = Template, description = "The records; `{\"records\": []}` clears the template"),
    responses(
        (status = 200, description = "The template", body = Template),
        problem::BadRequest,
        problem::Unauthenticated,
        problem::Forbidden,
        problem::UnsupportedMediaType,
        problem::Invalid,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
pub async fn set_platform(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    JsonBody(body): JsonBody<Template>,
) -> Result<Json<Template>, ApiError> {
    Ok(Json(templates::set_platform(&s.core, &actor, &body).await?))
}
