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

#[derive(Serialize)]
pub struct WebhookList {
    webhooks: Vec<WebhookView>,
}

#[derive(Serialize)]
pub struct DeliveryList {
    deliveries: Vec<DeliveryView>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    /// How many, newest first (default 100, at most 1000).
    limit: Option<i64>,
}

fn webhook_id(id: &str) -> Result<WebhookId, ApiError> {
    id.parse::<i64>()
        .map(WebhookId)
        .map_err(|_| ApiError::NotFound(format!("webhook {id} not found")))
}

pub async fn create(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<NewWebhook>,
) -> Result<(StatusCode, Json<CreatedWebhook>), ApiError> {
    let created = webhooks::create(&s.core, &actor, &name, &body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

pub async fn list(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(name): Path<String>,
) -> Result<Json<WebhookList>, ApiError> {
    Ok(Json(WebhookList {
        webhooks: webhooks::list(&s.core, &actor, &name).await?,
    }))
}

pub async fn show(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<WebhookView>, ApiError> {
    Ok(Json(
        webhooks::get(&s.core, &actor, &name, webhook_id(&id)?).await?,
    ))
}

pub async fn delete(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path((name, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    webhooks::delete(&s.core, &actor, &name, webhook_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

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
