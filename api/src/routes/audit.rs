//! `/api/v1/audit`: security events — your own, or everyone's with `view_audit`.

use apex_core::audit::{self, AuditQuery, AuditView};
use axum::Json;
use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{AccountAuth, QueryParams};
use crate::openapi::problem;
use crate::page;

#[derive(Deserialize, Serialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// From the `next` link of the page before.
    #[serde(skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
    /// Events per page (default 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// Everyone's events (holders of `view_audit`); otherwise your own.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    all: bool,
    /// Only events whose name starts with this (`login.`).
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditList {
    events: Vec<AuditView>,
    /// The next page (older events), when there is one.
    next: Option<String>,
}

/// `GET /audit?cursor=&limit=&all=&event=`: newest first.
#[utoipa::path(
    get,
    path = "/audit",
    tag = "audit",
    operation_id = "audit_list",
    params(ListQuery),
    responses(
        (status = 200, description = "Events, newest first", body = AuditList),
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
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<Response, ApiError> {
    let before = q.cursor.as_deref().map(page::id_of).transpose()?;
    let found = audit::list(
        &s.core,
        &actor,
        &AuditQuery {
            before,
            limit: q.limit,
            all: q.all,
            event: q.event.clone(),
        },
    )
    .await?;
    let next = found.next.map(|id| {
        page::next_link(
            "/api/v1/audit",
            &ListQuery {
                cursor: Some(page::cursor(&[&id.to_string()])),
                ..q
            },
        )
    });
    Ok(page::linked(
        next.clone(),
        Json(AuditList {
            events: found.events,
            next,
        }),
    ))
}
