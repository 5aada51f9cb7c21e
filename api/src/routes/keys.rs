//! `/api/v1/keys` (your own keys) and `/api/v1/domains/{name}/keys` (a domain's keys).

use apex_core::auth::keys::{self, CreatedKey, KeyInput, KeyPatch, KeyView};
use apex_core::ids::ApiKeyId;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{AccountAuth, Authenticated, JsonBody, QueryParams};
use crate::page::{self, PageQuery};

#[derive(Serialize)]
pub struct KeyList {
    keys: Vec<KeyView>,
    /// The next page, when there is one.
    next: Option<String>,
}

/// A page of keys, newest first.
fn key_page(mut keys: Vec<KeyView>, limit: i64, path: &str) -> Response {
    let next = page::cut(&mut keys, limit, path, |k| vec![k.id.0.to_string()]);
    page::linked(next.clone(), Json(KeyList { keys, next }))
}

fn key_id(id: &str) -> Result<ApiKeyId, ApiError> {
    id.parse::<i64>()
        .map(ApiKeyId)
        .map_err(|_| ApiError::NotFound(format!("key {id} not found")))
}

/// `GET /keys`.
pub async fn list(
    State(s): State<AppState>,
    AccountAuth(actor): AccountAuth,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Response, ApiError> {
    let (window, limit) = q.by_id()?;
    let keys = keys::list_user_keys(&s.core, &actor, &window).await?;
    Ok(key_page(keys, limit, "/api/v1/keys"))
}

/// `POST /keys`: the token is in the answer, once.
pub async fn create(
    State(s): State<AppState>,
    AccountAuth(actor): AccountAuth,
    JsonBody(body): JsonBody<KeyInput>,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(keys::create_user_key(&s.core, &actor, body).await?),
    ))
}

/// `GET /keys/{id}`.
pub async fn show(
    State(s): State<AppState>,
    AccountAuth(actor): AccountAuth,
    Path(id): Path<String>,
) -> Result<Json<KeyView>, ApiError> {
    Ok(Json(keys::user_key(&s.core, &actor, key_id(&id)?).await?))
}

/// `PATCH /keys/{id}`.
pub async fn update(
    State(s): State<AppState>,
    AccountAuth(actor): AccountAuth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<KeyPatch>,
) -> Result<Json<KeyView>, ApiError> {
    Ok(Json(
        keys::update_user_key(&s.core, &actor, key_id(&id)?, body).await?,
    ))
}

/// `DELETE /keys/{id}`: revokes it at once.
pub async fn revoke(
    State(s): State<AppState>,
    AccountAuth(actor): AccountAuth,
    Path(id): Path<String>,
) -> Result<Json<KeyView>, ApiError> {
    Ok(Json(
        keys::revoke_user_key(&s.core, &actor, key_id(&id)?).await?,
    ))
}

/// `GET /domains/{name}/keys`.
pub async fn domain_list(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(name): Path<String>,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Response, ApiError> {
    let (window, limit) = q.by_id()?;
    let keys = keys::list_domain_keys(&s.core, &actor, &name, &window).await?;
    Ok(key_page(
        keys,
        limit,
        &format!("/api/v1/domains/{name}/keys"),
    ))
}

/// `POST /domains/{name}/keys`.
pub async fn domain_create(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<KeyInput>,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(keys::create_domain_key(&s.core, &actor, &name, body).await?),
    ))
}

/// `GET /domains/{name}/keys/{id}`.
pub async fn domain_show(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<KeyView>, ApiError> {
    Ok(Json(
        keys::domain_key(&s.core, &actor, &name, key_id(&id)?).await?,
    ))
}

/// `PATCH /domains/{name}/keys/{id}`.
pub async fn domain_update(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path((name, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<KeyPatch>,
) -> Result<Json<KeyView>, ApiError> {
    Ok(Json(
        keys::update_domain_key(&s.core, &actor, &name, key_id(&id)?, body).await?,
    ))
}

/// `DELETE /domains/{name}/keys/{id}`.
pub async fn domain_revoke(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<KeyView>, ApiError> {
    Ok(Json(
        keys::revoke_domain_key(&s.core, &actor, &name, key_id(&id)?).await?,
    ))
}
