//! `/api/v1/domains`

use apex_core::authz::Action;
use apex_core::changes::{self, Change};
use apex_core::domain::{self, DomainView};
use apex_core::domains;
use apex_core::ids::ChangeId;
use apex_core::settings::SettingsPatch;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::ChangeOnly;
use crate::AppState;
use crate::error::ApiError;
use crate::etag::tagged;
use crate::extract::{Authenticated, JsonBody, QueryParams};
use crate::page::{self, PageQuery};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateDomain {
    name: String,
}

#[derive(Serialize)]
pub struct DomainWithChange {
    domain: DomainView,
    change: Change,
}

#[derive(Serialize)]
pub struct DomainList {
    domains: Vec<DomainView>,
    /// The next page, when there may be one.
    next: Option<String>,
}

pub async fn create(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    JsonBody(body): JsonBody<CreateDomain>,
) -> Result<(StatusCode, Json<DomainWithChange>), ApiError> {
    let (domain, change) = domains::create(&s.core, &actor, &body.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(DomainWithChange { domain, change }),
    ))
}

/// `GET /domains?cursor=&limit=`: by name.
pub async fn list(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Response, ApiError> {
    let (mut window, limit) = q.by_text()?;
    window.limit = limit;
    let (domains, last) = domains::list(&s.core, &actor, &window).await?;
    let next = last.map(|name| {
        page::next_link(
            "/api/v1/domains",
            &PageQuery {
                cursor: Some(page::cursor(&[&name])),
                limit: Some(limit),
            },
        )
    });
    Ok(page::linked(
        next.clone(),
        Json(DomainList { domains, next }),
    ))
}

pub async fn show(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let domain = domain::load(&s.core.pool, &actor, &name, Action::Read).await?;
    Ok(tagged(domain.wanted_serial, Json(domain.view(&s.core))))
}

/// `GET /api/v1/domains/{name}/dnssec`: state, keys and the DS records for the parent.
pub async fn dnssec(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(name): Path<String>,
) -> Result<Json<apex_core::dnssec::View>, ApiError> {
    let domain = domain::load(&s.core.pool, &actor, &name, Action::Read).await?;
    Ok(Json(
        apex_core::dnssec::view(
            &s.core.pool,
            domain.id,
            &domain.zone,
            &domain.settings.dnssec,
        )
        .await?,
    ))
}

pub async fn update(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<SettingsPatch>,
) -> Result<Json<DomainWithChange>, ApiError> {
    let (domain, change) = domains::update(&s.core, &actor, &name, &body).await?;
    Ok(Json(DomainWithChange { domain, change }))
}

pub async fn delete(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(name): Path<String>,
) -> Result<Json<ChangeOnly>, ApiError> {
    let change = domains::delete(&s.core, &actor, &name).await?;
    Ok(Json(ChangeOnly { change }))
}

pub async fn change(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<Change>, ApiError> {
    let id = id
        .parse::<i64>()
        .map_err(|_| ApiError::NotFound(format!("change {id} not found")))?;
    Ok(Json(
        changes::get(&s.core.pool, &actor, &name, ChangeId(id)).await?,
    ))
}
