//! `/api/v1/domains/{name}/tsig-keys`: the keys DNS tools sign UPDATE and transfers with.

use apex_core::ids::TsigKeyId;
use apex_core::tsig_keys::{self, CreatedTsigKey, NewTsigKey, TsigKeyView};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Authenticated, JsonBody, QueryParams};
use crate::openapi::problem;
use crate::page::{self, PageQuery};

#[derive(Serialize, utoipa::ToSchema)]
pub struct TsigKeyList {
    tsig_keys: Vec<TsigKeyView>,
    /// The next page, when there is one.
    next: Option<String>,
}

fn key_id(id: &str) -> Result<TsigKeyId, ApiError> {
    id.parse::<i64>()
        .map(TsigKeyId)
        .map_err(|_| ApiError::NotFound(format!("TSIG key {id} not found")))
}

/// `POST /domains/{name}/tsig-keys`: makes a TSIG key; its secret is in the answer, once.
#[utoipa::path(
    post,
    path = "/domains/{name}/tsig-keys",
    tag = "tsig-keys",
    operation_id = "tsig_keys_create",
    params(
        ("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"),
    ),
    request_body(content = NewTsigKey, example = json!({"name": "certbot", "records": [{"name": "_acme-challenge.*", "types": ["TXT"]}]})),
    responses(
        (status = 201, description = "The key and its secret (shown once)", body = CreatedTsigKey),
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
    JsonBody(body): JsonBody<NewTsigKey>,
) -> Result<(StatusCode, Json<CreatedTsigKey>), ApiError> {
    let created = tsig_keys::create(&s.core, &actor, &name, body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `GET /domains/{name}/tsig-keys`: the domain's TSIG keys, without their secrets.
#[utoipa::path(
    get,
    path = "/domains/{name}/tsig-keys",
    tag = "tsig-keys",
    operation_id = "tsig_keys_list",
    params(
        ("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"),
        PageQuery,
    ),
    responses(
        (status = 200, description = "The keys", body = TsigKeyList),
        problem::BadRequest,
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Invalid,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
pub async fn list(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(name): Path<String>,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Response, ApiError> {
    let (window, limit) = q.by_id()?;
    let mut keys = tsig_keys::list(&s.core, &actor, &name, &window).await?;
    let next = page::cut(
        &mut keys,
        limit,
        &format!("/api/v1/domains/{name}/tsig-keys"),
        |k| vec![k.id.0.to_string()],
    );
    Ok(page::linked(
        next.clone(),
        Json(TsigKeyList {
            tsig_keys: keys,
            next,
        }),
    ))
}

/// `GET /domains/{name}/tsig-keys/{id}`: one TSIG key.
#[utoipa::path(
    get,
    path = "/domains/{name}/tsig-keys/{id}",
    tag = "tsig-keys",
    operation_id = "tsig_keys_show",
    params(
        ("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"),
        ("id" = i64, Path, description = "The key's id"),
    ),
    responses(
        (status = 200, description = "The key", body = TsigKeyView),
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
pub async fn show(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<TsigKeyView>, ApiError> {
    Ok(Json(
        tsig_keys::get(&s.core, &actor, &name, key_id(&id)?).await?,
    ))
}

/// `DELETE /domains/{name}/tsig-keys/{id}`: deletes a TSIG key; messages signed with it are
/// refused from then on.
#[utoipa::path(
    delete,
    path = "/domains/{name}/tsig-keys/{id}",
    tag = "tsig-keys",
    operation_id = "tsig_keys_delete",
    params(
        ("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"),
        ("id" = i64, Path, description = "The key's id"),
    ),
    responses(
        (status = 204, description = "The key is gone"),
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
pub async fn delete(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path((name, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    tsig_keys::delete(&s.core, &actor, &name, key_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
