//! `/api/v1/account/template` and `/api/v1/admin/template`: the records new domains get.

use apex_core::templates::{self, Template};
use axum::Json;
use axum::extract::State;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{AccountAuth, Authenticated, JsonBody};

/// `GET /account/template`: your default records (empty: new domains get the platform's).
pub async fn own(
    State(s): State<AppState>,
    AccountAuth(actor): AccountAuth,
) -> Result<Json<Template>, ApiError> {
    Ok(Json(templates::own(&s.core, &actor).await?))
}

/// `PUT /account/template`: replaces your default records.
pub async fn set_own(
    State(s): State<AppState>,
    AccountAuth(actor): AccountAuth,
    JsonBody(body): JsonBody<Template>,
) -> Result<Json<Template>, ApiError> {
    Ok(Json(templates::set_own(&s.core, &actor, &body).await?))
}

/// `GET /admin/template`: the platform's default records.
pub async fn platform(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Json<Template>, ApiError> {
    Ok(Json(templates::platform(&s.core, &actor).await?))
}

/// `PUT /admin/template`: replaces the platform's default records.
pub async fn set_platform(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    JsonBody(body): JsonBody<Template>,
) -> Result<Json<Template>, ApiError> {
    Ok(Json(templates::set_platform(&s.core, &actor, &body).await?))
}
