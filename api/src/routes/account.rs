//! `/api/v1/account`: your own account — its view, password, sessions, second factor, and
//! deleting it. Takes a signed-in session or a key allowed to manage the account.

use apex_core::auth::sessions::{self, SessionView};
use apex_core::ids::SessionId;
use apex_core::users::account::{self, AccountView, DeleteAccount};
use apex_core::users::passwords::{self, PasswordChange};
use apex_core::users::twofa::{self, CodeInput, DisableInput, Enrolment, RecoveryCodes};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{AccountAuth, JsonBody};
use crate::openapi::problem;

#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionList {
    sessions: Vec<SessionView>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Ended {
    sessions_ended: u64,
}

/// `GET /account`.
#[utoipa::path(
    get,
    path = "/account",
    tag = "account",
    operation_id = "account_show",
    responses(
        (status = 200, description = "The account", body = AccountView),
        problem::Unauthenticated,
        problem::Forbidden,
        problem::Internal,
    ),
    security(("api_key" = []), ("session" = [])),
)]
pub async fn show(
    State(s): State<AppState>,
    AccountAuth(actor): AccountAuth,
) -> Result<Json<AccountView>, ApiError> {
    Ok(Json(account::view(&s.core, &actor).await?))
}

/// `DELETE /account`.
#[utoipa::path(
    delete,
    path = "/account",
    tag = "account",
    operation_id = "account_delete",
    request_body = DeleteAccount,
    responses(
        (status = 204, description = "The account is deleted"),
        problem::BadRequest,
        problem::Unauthenticated,
        problem::Forbidden,
        problem::Conflict,
        problem::UnsupportedMediaType,
        problem::Invalid,
        problem::TooManyRequests,
        problem::Internal,
    ),
    security(("api_key" = []), ("session" = [])),
)]
pub async fn delete(
    State(s): State<AppState>,
    AccountAuth(actor): AccountAuth,
    JsonBody(body): JsonBody<DeleteAccount>,
) -> Result<StatusCode, ApiError> {
    account::delete(&s.core, &actor, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /account/password`.
#[utoipa::path(
    post,
    path = "/account/password",
    tag = "account",
    operation_id = "account_change_password",
    request_body = PasswordChange,
    responses(
        (status = 200, description = "Changed; the other sessions ended", body = Ended),
        problem::BadRequest,
        problem::Unauthenticated,
        problem::Forbidden,
        problem::UnsupportedMediaType,
        problem::Invalid,
        problem::TooManyRequests,
        problem::Internal,
    ),
    security(("api_key" = []), ("session" = [])),
)]
pub async fn change_password(
    State(s): State<AppState>,
    AccountAuth(actor): AccountAuth,
    JsonBody(body): JsonBody<PasswordChange>,
) -> Result<Json<Ended>, ApiError> {
    let ended = passwords::change(&s.core, &actor, &body).await?;
    Ok(Json(Ended {
        sessions_ended: ended,
    }))
}

/// `GET /account/sessions`.
#[utoipa::path(
    get,
    path = "/account/sessions",
    tag = "account",
    operation_id = "account_sessions",
    responses(
        (status = 200, description = "The active sessions", body = SessionList),
        problem::Unauthenticated,
        problem::Forbidden,
        problem::Internal,
    ),
    security(("api_key" = []), ("session" = [])),
)]
pub async fn sessions(
    State(s): State<AppState>,
    AccountAuth(actor): AccountAuth,
) -> Result<Json<SessionList>, ApiError> {
    Ok(Json(SessionList {
        sessions: sessions::list(&s.core, &actor).await?,
    }))
}

/// `DELETE /account/sessions/{id}`.
#[utoipa::path(
    delete,
    path = "/account/sessions/{id}",
    tag = "account",
    operation_id = "account_revoke_session",
    params(
        ("id" = i64, Path, description = "The session's id"),
    ),
    responses(
        (status = 204, description = "The session ended"),
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Internal,
    ),
    security(("api_key" = []), ("session" = [])),
)]
pub async fn revoke_session(
    State(s): State<AppState>,
    AccountAuth(actor): AccountAuth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = id
        .parse::<i64>()
        .map_err(|_| ApiError::NotFound(format!("session {id} not found")))?;
    sessions::revoke(&s.core, &actor, SessionId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /account/2fa/totp`: starts enrolment.
#[utoipa::path(
    post,
    path = "/account/2fa/totp",
    tag = "account",
    operation_id = "account_totp_start",
    responses(
        (status = 201, description = "Enrolment started", body = Enrolment),
        problem::Unauthenticated,
        problem::Forbidden,
        problem::Conflict,
        problem::Internal,
    ),
    security(("api_key" = []), ("session" = [])),
)]
pub async fn totp_start(
    State(s): State<AppState>,
    AccountAuth(actor): AccountAuth,
) -> Result<(StatusCode, Json<Enrolment>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(twofa::start(&s.core, &actor).await?),
    ))
}

/// `POST /account/2fa/totp/confirm`: turns it on with a code; answers the recovery codes.
#[utoipa::path(
    post,
    path = "/account/2fa/totp/confirm",
    tag = "account",
    operation_id = "account_totp_confirm",
    request_body = CodeInput,
    responses(
        (status = 200, description = "The second factor is on", body = RecoveryCodes),
        problem::BadRequest,
        problem::Unauthenticated,
        problem::Forbidden,
        problem::Conflict,
        problem::UnsupportedMediaType,
        problem::Invalid,
        problem::TooManyRequests,
        problem::Internal,
    ),
    security(("api_key" = []), ("session" = [])),
)]
pub async fn totp_confirm(
    State(s): State<AppState>,
    AccountAuth(actor): AccountAuth,
    JsonBody(body): JsonBody<CodeInput>,
) -> Result<Json<RecoveryCodes>, ApiError> {
    Ok(Json(twofa::confirm(&s.core, &actor, &body.code).await?))
}

/// `DELETE /account/2fa/totp`: turns it off.
#[utoipa::path(
    delete,
    path = "/account/2fa/totp",
    tag = "account",
    operation_id = "account_totp_disable",
    request_body = DisableInput,
    responses(
        (status = 204, description = "The second factor is off"),
        problem::BadRequest,
        problem::Unauthenticated,
        problem::Forbidden,
        problem::Conflict,
        problem::UnsupportedMediaType,
        problem::Invalid,
        problem::TooManyRequests,
        problem::Internal,
    ),
    security(("api_key" = []), ("session" = [])),
)]
pub async fn totp_disable(
    State(s): State<AppState>,
    AccountAuth(actor): AccountAuth,
    JsonBody(body): JsonBody<DisableInput>,
) -> Result<StatusCode, ApiError> {
    twofa::disable(&s.core, &actor, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /account/2fa/recovery-codes`: new codes for old.
#[utoipa::path(
    post,
    path = "/account/2fa/recovery-codes",
    tag = "account",
    operation_id = "account_recovery_codes",
    request_body = CodeInput,
    responses(
        (status = 200, description = "New codes; the old ones stop working", body = RecoveryCodes),
        problem::BadRequest,
        problem::Unauthenticated,
        problem::Forbidden,
        problem::Conflict,
        problem::UnsupportedMediaType,
        problem::Invalid,
        problem::TooManyRequests,
        problem::Internal,
    ),
    security(("api_key" = []), ("session" = [])),
)]
pub async fn recovery_codes(
    State(s): State<AppState>,
    AccountAuth(actor): AccountAuth,
    JsonBody(body): JsonBody<CodeInput>,
) -> Result<Json<RecoveryCodes>, ApiError> {
    Ok(Json(
        twofa::regenerate_codes(&s.core, &actor, &body.code).await?,
    ))
}
