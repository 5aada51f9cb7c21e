//! `/api/v1/account/catalog`: the account's own catalog zone (RFC 9432), for the customer's
//! own secondaries to follow, and its key.

use apex_core::account_catalogs::{self, CatalogPatch, CatalogView, CreatedCatalog, NewCatalog};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{AccountAuth, JsonBody};
use crate::openapi::problem;

/// `GET /account/catalog`: the account's catalog (404 while it is off).
#[utoipa::path(
    get,
    path = "/account/catalog",
    tag = "catalog",
    operation_id = "catalog_show",
    responses(
        (status = 200, description = "The catalog", body = CatalogView),
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Internal,
    ),
    security(("api_key" = []), ("session" = [])),
)]
pub async fn show(
    State(s): State<AppState>,
    AccountAuth(actor): AccountAuth,
) -> Result<Json<CatalogView>, ApiError> {
    Ok(Json(account_catalogs::show(&s.core, &actor).await?))
}

/// `POST /account/catalog`: turns the catalog on; its key's secret is in the answer, once.
#[utoipa::path(
    post,
    path = "/account/catalog",
    tag = "catalog",
    operation_id = "catalog_enable",
    request_body(content = NewCatalog, example = json!({"secondaries": ["198.51.100.53"]})),
    responses(
        (status = 201, description = "The catalog and its key's secret (shown once)", body = CreatedCatalog),
        problem::BadRequest,
        problem::Unauthenticated,
        problem::Forbidden,
        problem::Conflict,
        problem::UnsupportedMediaType,
        problem::Invalid,
        problem::Internal,
    ),
    security(("api_key" = []), ("session" = [])),
)]
pub async fn enable(
    State(s): State<AppState>,
    AccountAuth(actor): AccountAuth,
    JsonBody(body): JsonBody<NewCatalog>,
) -> Result<(StatusCode, Json<CreatedCatalog>), ApiError> {
    let created = account_catalogs::enable(&s.core, &actor, &body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `PATCH /account/catalog`: changes where NOTIFY goes.
#[utoipa::path(
    patch,
    path = "/account/catalog",
    tag = "catalog",
    operation_id = "catalog_update",
    request_body(content = CatalogPatch, example = json!({"secondaries": ["198.51.100.53", "[2001:db8::53]:5353"]})),
    responses(
        (status = 200, description = "The catalog", body = CatalogView),
        problem::BadRequest,
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::UnsupportedMediaType,
        problem::Invalid,
        problem::Internal,
    ),
    security(("api_key" = []), ("session" = [])),
)]
pub async fn update(
    State(s): State<AppState>,
    AccountAuth(actor): AccountAuth,
    JsonBody(body): JsonBody<CatalogPatch>,
) -> Result<Json<CatalogView>, ApiError> {
    Ok(Json(
        account_catalogs::update(&s.core, &actor, &body).await?,
    ))
}

/// `DELETE /account/catalog`: turns the catalog off; its key stops working.
#[utoipa::path(
    delete,
    path = "/account/catalog",
    tag = "catalog",
    operation_id = "catalog_disable",
    responses(
        (status = 204, description = "The catalog is off"),
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Internal,
    ),
    security(("api_key" = []), ("session" = [])),
)]
pub async fn disable(
    State(s): State<AppState>,
    AccountAuth(actor): AccountAuth,
) -> Result<StatusCode, ApiError> {
    account_catalogs::disable(&s.core, &actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /account/catalog/key`: gives the catalog's key a new secret (in the answer, once);
/// the old one stops working at once.
#[utoipa::path(
    post,
    path = "/account/catalog/key",
    tag = "catalog",
    operation_id = "catalog_rotate_key",
    responses(
        (status = 200, description = "The catalog and its key's new secret (shown once)", body = CreatedCatalog),
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Internal,
    ),
    security(("api_key" = []), ("session" = [])),
)]
pub async fn rotate_key(
    State(s): State<AppState>,
    AccountAuth(actor): AccountAuth,
) -> Result<Json<CreatedCatalog>, ApiError> {
    Ok(Json(account_catalogs::rotate_key(&s.core, &actor).await?))
}
