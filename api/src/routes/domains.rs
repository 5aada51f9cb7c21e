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
use crate::openapi::problem;
use crate::page::{self, PageQuery};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDomain {
    name: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DomainWithChange {
    domain: DomainView,
    change: Change,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DomainList {
    domains: Vec<DomainView>,
    /// The next page, when there may be one.
    next: Option<String>,
}

/// `POST /domains`: creates a domain and publishes its first version.
#[utoipa::path(
    post,
    path = "/domains",
    tag = "domains",
    operation_id = "domains_create",
    request_body(content = CreateDomain, example = json!({"name": "example.com"})),
    responses(
        (status = 201, description = "The domain and the change that publishes it", body = DomainWithChange),
        problem::BadRequest,
        problem::Unauthenticated,
        problem::Forbidden,
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
    JsonBody(body): JsonBody<CreateDomain>,
) -> Result<(StatusCode, Json<DomainWithChange>), ApiError> {
    let (domain, change) = domains::create(&s.core, &actor, &body.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(DomainWithChange { domain, change }),
    ))
}

/// `GET /domains?cursor=&limit=`: by name.
#[utoipa::path(
    get,
    path = "/domains",
    tag = "domains",
    operation_id = "domains_list",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of the domains the caller has a role on, by name", body = DomainList),
        problem::BadRequest,
        problem::Unauthenticated,
        problem::Forbidden,
        problem::Invalid,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
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

/// `GET /domains/{name}`: the domain, its state and settings.
#[utoipa::path(
    get,
    path = "/domains/{name}",
    tag = "domains",
    operation_id = "domains_show",
    params(
        ("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"),
    ),
    responses(
        (status = 200, description = "The domain", body = DomainView),
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
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let domain = domain::load(&s.core.pool, &actor, &name, Action::Read).await?;
    Ok(tagged(domain.wanted_serial, Json(domain.view(&s.core))))
}

/// `GET /api/v1/domains/{name}/dnssec`: state, keys and the DS records for the parent.
#[utoipa::path(
    get,
    path = "/domains/{name}/dnssec",
    tag = "domains",
    operation_id = "domains_dnssec",
    params(
        ("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"),
    ),
    responses(
        (status = 200, description = "DNSSEC state, keys and DS records", body = apex_core::dnssec::View),
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
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

/// `PATCH /domains/{name}`: serial policy, SOA timers, DNSSEC, own secondaries.
#[utoipa::path(
    patch,
    path = "/domains/{name}",
    tag = "domains",
    operation_id = "domains_update",
    params(
        ("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"),
    ),
    request_body(content = SettingsPatch, example = json!({"soa": {"refresh": 7200, "minimum": 300}, "dnssec": {"enabled": true}, "secondaries": [{"host": "ns3.example.net.", "addresses": ["198.51.100.53"]}]})),
    responses(
        (status = 200, description = "The domain and its change", body = DomainWithChange),
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
pub async fn update(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<SettingsPatch>,
) -> Result<Response, ApiError> {
    let (domain, change) = domains::update(&s.core, &actor, &name, &body).await?;
    Ok(tagged(
        domain.serial,
        Json(DomainWithChange { domain, change }),
    ))
}

/// `DELETE /domains/{name}`: removes the domain from the nameservers and the platform.
#[utoipa::path(
    delete,
    path = "/domains/{name}",
    tag = "domains",
    operation_id = "domains_delete",
    params(
        ("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"),
    ),
    responses(
        (status = 200, description = "The change that removes it", body = ChangeOnly),
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Conflict,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
pub async fn delete(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(name): Path<String>,
) -> Result<Json<ChangeOnly>, ApiError> {
    let change = domains::delete(&s.core, &actor, &name).await?;
    Ok(Json(ChangeOnly { change }))
}

/// `GET /domains/{name}/changes/{id}`: a change and how far it has got.
#[utoipa::path(
    get,
    path = "/domains/{name}/changes/{id}",
    tag = "domains",
    operation_id = "domains_change",
    params(
        ("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"),
        ("id" = i64, Path, description = "The change's id"),
    ),
    responses(
        (status = 200, description = "The change and where it is", body = Change),
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
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
