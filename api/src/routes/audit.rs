//! `/api/v1/audit`: security events — your own, or everyone's with `view_audit`.

use apex_core::audit::{self, AuditPage, AuditQuery};
use axum::Json;
use axum::extract::State;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{AccountAuth, QueryParams};

/// `GET /audit?before=&limit=&all=&event=`.
pub async fn list(
    State(s): State<AppState>,
    AccountAuth(actor): AccountAuth,
    QueryParams(q): QueryParams<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    Ok(Json(audit::list(&s.core, &actor, &q).await?))
}
