//! `/api/v1/domains/{name}/webhooks`

use apex_core::ids::WebhookId;
use apex_core::webhooks::{self, CreatedWebhook, DeliveryView, NewWebhook, WebhookView};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Authenticated, JsonBody};
use crate::openapi::problem;

#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookList {
    webhooks: Vec<WebhookView>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryList {
    deliveries: Vec<DeliveryView>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// How many, newest first (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
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
    ),
    responses(
        (status = 200, description = "The webhooks", body = WebhookList),
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
pub async fn list(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(name): Path<String>,
) -> Result<Json<WebhookList>, ApiError> {
    Ok(Json(WebhookList {
        webhooks: webhooks::list(&s.core, &actor, &name).await?,
    }))
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

/// `GET /domains/{name}/webhooks/{id}/deliveries?limit=`: a webhook's recent deliveries.
#[utoipa::path(
    get,
    path = "/domains/{name}/webhooks/{id}/deliveries",
    tag = "webhooks",
    operation_id = "webhooks_deliveries",
    params(
        ("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"),
        ("id" = i64, Path, description = "The webhook's id"),
        DeliveryQuery,
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
    query: Result<Query<DeliveryQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<DeliveryList>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::BadBody {
        detail: e.body_text(),
        pointer: None,
    })?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=webhooks::MAX_DELIVERIES).contains(&limit) {
        return Err(apex_core::CoreError::invalid(
            "limit",
            format!("must be 1 to {}", webhooks::MAX_DELIVERIES),
        )
        .into());
    }
    Ok(Json(DeliveryList {
        deliveries: webhooks::deliveries(&s.core, &actor, &name, webhook_id(&id)?, limit).await?,
    }))
}
