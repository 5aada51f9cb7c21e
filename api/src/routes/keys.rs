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
use crate::openapi::problem;
use crate::page::{self, PageQuery};

#[derive(Serialize, utoipa::ToSchema)]
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
#[utoipa::path(
    get,
    path = "/keys",
    tag = "keys",
    operation_id = "keys_list",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of your keys, newest first", body = KeyList),
        problem::BadRequest,
        problem::Unauthenticated,
        problem::Forbidden,
        problem::Invalid,
        problem::Internal,
    ),
    security(("api_key" = []), ("session" = [])),
)]
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
#[utoipa::path(
    post,
    path = "/keys",
    tag = "keys",
    operation_id = "keys_create",
    request_body(content = KeyInput, example = json!({"description": "certbot", "domains": ["example.com"], "role": "write", "records": [{"name": "_acme-challenge.*", "types": ["TXT"]}]})),
    responses(
        (status = 201, description = "The key and its token (shown once)", body = CreatedKey),
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
#[utoipa::path(
    get,
    path = "/keys/{id}",
    tag = "keys",
    operation_id = "keys_show",
    params(
        ("id" = i64, Path, description = "The key's id"),
    ),
    responses(
        (status = 200, description = "The key", body = KeyView),
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
    Path(id): Path<String>,
) -> Result<Json<KeyView>, ApiError> {
    Ok(Json(keys::user_key(&s.core, &actor, key_id(&id)?).await?))
}

/// `PATCH /keys/{id}`.
#[utoipa::path(
    patch,
    path = "/keys/{id}",
    tag = "keys",
    operation_id = "keys_update",
    params(
        ("id" = i64, Path, description = "The key's id"),
    ),
    request_body(content = KeyPatch, example = json!({"description": "certbot on web1", "expires_at": null})),
    responses(
        (status = 200, description = "The key", body = KeyView),
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
    Path(id): Path<String>,
    JsonBody(body): JsonBody<KeyPatch>,
) -> Result<Json<KeyView>, ApiError> {
    Ok(Json(
        keys::update_user_key(&s.core, &actor, key_id(&id)?, body).await?,
    ))
}

/// `DELETE /keys/{id}`: revokes it at once.
#[utoipa::path(
    delete,
    path = "/keys/{id}",
    tag = "keys",
    operation_id = "keys_revoke",
    params(
        ("id" = i64, Path, description = "The key's id"),
    ),
    responses(
        (status = 200, description = "The key, revoked", body = KeyView),
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Internal,
    ),
    security(("api_key" = []), ("session" = [])),
)]
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
#[utoipa::path(
    get,
    path = "/domains/{name}/keys",
    tag = "keys",
    operation_id = "keys_domain_list",
    params(
        ("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"),
        PageQuery,
    ),
    responses(
        (status = 200, description = "The domain's keys", body = KeyList),
        problem::BadRequest,
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Invalid,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
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
#[utoipa::path(
    post,
    path = "/domains/{name}/keys",
    tag = "keys",
    operation_id = "keys_domain_create",
    params(
        ("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"),
    ),
    request_body(content = KeyInput, example = json!({"description": "deploy", "role": "write"})),
    responses(
        (status = 201, description = "The key and its token (shown once)", body = CreatedKey),
        problem::BadRequest,
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::UnsupportedMediaType,
        problem::Invalid,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
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
#[utoipa::path(
    get,
    path = "/domains/{name}/keys/{id}",
    tag = "keys",
    operation_id = "keys_domain_show",
    params(
        ("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"),
        ("id" = i64, Path, description = "The key's id"),
    ),
    responses(
        (status = 200, description = "The key", body = KeyView),
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
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
#[utoipa::path(
    patch,
    path = "/domains/{name}/keys/{id}",
    tag = "keys",
    operation_id = "keys_domain_update",
    params(
        ("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"),
        ("id" = i64, Path, description = "The key's id"),
    ),
    request_body(content = KeyPatch, example = json!({"role": "read"})),
    responses(
        (status = 200, description = "The key", body = KeyView),
        problem::BadRequest,
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::UnsupportedMediaType,
        problem::Invalid,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
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
#[utoipa::path(
    delete,
    path = "/domains/{name}/keys/{id}",
    tag = "keys",
    operation_id = "keys_domain_revoke",
    params(
        ("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"),
        ("id" = i64, Path, description = "The key's id"),
    ),
    responses(
        (status = 200, description = "The key, revoked", body = KeyView),
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
pub async fn domain_revoke(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<KeyView>, ApiError> {
    Ok(Json(
        keys::revoke_domain_key(&s.core, &actor, &name, key_id(&id)?).await?,
    ))
}
