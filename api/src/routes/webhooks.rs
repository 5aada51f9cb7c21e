//! `/api/v1/domains/{name}/webhooks`

use apex_core::ids::WebhookId;
use apex_core::webhooks::{self, CreatedWebhook, DeliveryView, NewWebhook, WebhookView};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Authenticated, JsonBody, QueryParams};
use crate::page::{self, PageQuery};

#[derive(Serialize)]
pub struct WebhookList {
    webhooks: Vec<WebhookView>,
    /// The next page, when there is one.
    next: Option<String>,
}

#[derive(Serialize)]
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

/// `GET /domains/{name}/webhooks/{id}/deliveries?cursor=&limit=`: newest first.
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
