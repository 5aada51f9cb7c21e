//! `/api/v1/audit`: security events — your own, or everyone's with `view_audit`.

use apex_core::audit::{self, AuditPage, AuditQuery};
use axum::Json;
use axum::extract::State;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{AccountAuth, QueryParams};
use crate::openapi::problem;

/// `GET /audit?before=&limit=&all=&event=`.
#[utoipa::path(
    get,
    path = "/audit",
    tag = "audit",
    operation_id = "audit_list",
    params(
        ("before" = Option<i64>, Query, description = "Events older than this id (the `next` of the previous page)"),
        ("limit" = Option<i64>, Query, description = "How many (default 50)"),
        ("event" = Option<String>, Query, description = "Only events of this name, e.g. `login.success`"),
        ("all" = Option<bool>, Query, description = "Everyone's events (needs the `view_audit` platform role)"),
    ),
    responses(
        (status = 200, description = "Events, newest first", body = AuditPage),
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
    QueryParams(q): QueryParams<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    Ok(Json(audit::list(&s.core, &actor, &q).await?))
}
