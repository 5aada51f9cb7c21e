//! `/api/v1/domains/{name}/webhooks`

use apex_core::ids::WebhookId;
use apex_core::webhooks::{
    self, CreatedWebhook, DeliveryView, NewWebhook, WebhookPatch, WebhookView,
};
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
pub struct WebhookList {
    webhooks: Vec<WebhookView>,
    /// The next page, when there is one.
    next: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryList {
    deliveries: Vec<DeliveryView>,
    /// The next page (older deliveries), when there is one.
    next: Option<String>,
}

fn webhook_id(id: &str) -> Result<WebhookId, ApiError> {
    id.parse::<i64>()
        .map(WebhookId)
        .map_err(|_| ApiError::NotFound(format!("webhook {id} not found")))
}

/// `POST /domains/{name}/webhooks`: adds a webhook; its signing secret is in the answer, once.
#[utoipa::path(
    post,
    path = "/domains/{name}/webhooks",
    tag = "webhooks",
    operation_id = "webhooks_create",
    params(
        ("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"),
    ),
    request_body(content = NewWebhook, example = json!({"url": "https://hooks.example.net/apex", "events": ["zone.published"], "description": "deploy hook"})),
    responses(
        (status = 201, description = "The webhook and its signing secret (shown once)", body = CreatedWebhook),
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
    JsonBody(body): JsonBody<NewWebhook>,
) -> Result<(StatusCode, Json<CreatedWebhook>), ApiError> {
    let created = webhooks::create(&s.core, &actor, &name, &body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `GET /domains/{name}/webhooks`: the domain's webhooks.
#[utoipa::path(
    get,
    path = "/domains/{name}/webhooks",
    tag = "webhooks",
    operation_id = "webhooks_list",
    params(
        ("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"),
        PageQuery,
    ),
    responses(
        (status = 200, description = "The webhooks", body = WebhookList),
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
    let mut webhooks = webhooks::list(&s.core, &actor, &name, &window).await?;
    let next = page::cut(
        &mut webhooks,
        limit,
        &format!("/api/v1/domains/{name}/webhooks"),
        |w| vec![w.id.0.to_string()],
    );
    Ok(page::linked(
        next.clone(),
        Json(WebhookList { webhooks, next }),
    ))
}

/// `GET /domains/{name}/webhooks/{id}`: one webhook.
#[utoipa::path(
    get,
    path = "/domains/{name}/webhooks/{id}",
    tag = "webhooks",
    operation_id = "webhooks_show",
    params(
        ("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"),
        ("id" = i64, Path, description = "The webhook's id"),
    ),
    responses(
        (status = 200, description = "The webhook", body = WebhookView),
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
) -> Result<Json<WebhookView>, ApiError> {
    Ok(Json(
        webhooks::get(&s.core, &actor, &name, webhook_id(&id)?).await?,
    ))
}

/// `PATCH /domains/{name}/webhooks/{id}`: `{"enabled": false}` turns a webhook off,
/// `{"enabled": true}` on again (after the platform disabled it for a day of failures).
#[utoipa::path(
    patch,
    path = "/domains/{name}/webhooks/{id}",
    tag = "webhooks",
    operation_id = "webhooks_update",
    params(
        ("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"),
        ("id" = i64, Path, description = "The webhook's id"),
    ),
    request_body = WebhookPatch,
    responses(
        (status = 200, description = "The webhook", body = WebhookView),
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
pub async fn update(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path((name, id)): Path<(String, String)>,
    JsonBody(patch): JsonBody<WebhookPatch>,
) -> Result<Json<WebhookView>, ApiError> {
    Ok(Json(
        webhooks::set_enabled(&s.core, &actor, &name, webhook_id(&id)?, &patch).await?,
    ))
}

/// `DELETE /domains/{name}/webhooks/{id}`: removes a webhook.
#[utoipa::path(
    delete,
    path = "/domains/{name}/webhooks/{id}",
    tag = "webhooks",
    operation_id = "webhooks_delete",
    params(
        ("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"),
        ("id" = i64, Path, description = "The webhook's id"),
    ),
    responses(
        (status = 204, description = "The webhook is gone"),
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
    webhooks::delete(&s.core, &actor, &name, webhook_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /domains/{name}/webhooks/{id}/deliveries?cursor=&limit=`: newest first.
#[utoipa::path(
    get,
    path = "/domains/{name}/webhooks/{id}/deliveries",
    tag = "webhooks",
    operation_id = "webhooks_deliveries",
    params(
        ("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"),
        ("id" = i64, Path, description = "The webhook's id"),
        PageQuery,
    ),
    responses(
        (status = 200, description = "Deliveries, newest first", body = DeliveryList),
        problem::BadRequest,
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Invalid,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
pub async fn deliveries(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path((name, id)): Path<(String, String)>,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Response, ApiError> {
    let (window, limit) = q.by_id()?;
    let id = webhook_id(&id)?;
    let mut deliveries = webhooks::deliveries(&s.core, &actor, &name, id, &window).await?;
    let next = page::cut(
        &mut deliveries,
        limit,
        &format!("/api/v1/domains/{name}/webhooks/{id}/deliveries"),
        |d| vec![d.id.0.to_string()],
    );
    Ok(page::linked(
        next.clone(),
        Json(DeliveryList { deliveries, next }),
    ))
}
