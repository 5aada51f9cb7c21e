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

#[derive(Serialize)]
pub struct SessionList {
    sessions: Vec<SessionView>,
}

#[derive(Serialize)]
pub struct Ended {
    sessions_ended: u64,
}

/// `GET /account`.
pub async fn show(
    State(s): State<AppState>,
    AccountAuth(actor): AccountAuth,
) -> Result<Json<AccountView>, ApiError> {
    Ok(Json(account::view(&s.core, &actor).await?))
}

/// `DELETE /account`.
pub async fn delete(
    State(s): State<AppState>,
    AccountAuth(actor): AccountAuth,
    JsonBody(body): JsonBody<DeleteAccount>,
) -> Result<StatusCode, ApiError> {
    account::delete(&s.core, &actor, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /account/password`.
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
pub async fn sessions(
    State(s): State<AppState>,
    AccountAuth(actor): AccountAuth,
) -> Result<Json<SessionList>, ApiError> {
    Ok(Json(SessionList {
        sessions: sessions::list(&s.core, &actor).await?,
    }))
}

/// `DELETE /account/sessions/{id}`.
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
pub async fn totp_confirm(
    State(s): State<AppState>,
    AccountAuth(actor): AccountAuth,
    JsonBody(body): JsonBody<CodeInput>,
) -> Result<Json<RecoveryCodes>, ApiError> {
    Ok(Json(twofa::confirm(&s.core, &actor, &body.code).await?))
}

/// `DELETE /account/2fa/totp`: turns it off.
pub async fn totp_disable(
    State(s): State<AppState>,
    AccountAuth(actor): AccountAuth,
    JsonBody(body): JsonBody<DisableInput>,
) -> Result<StatusCode, ApiError> {
    twofa::disable(&s.core, &actor, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /account/2fa/recovery-codes`: new codes for old.
pub async fn recovery_codes(
    State(s): State<AppState>,
    AccountAuth(actor): AccountAuth,
    JsonBody(body): JsonBody<CodeInput>,
) -> Result<Json<RecoveryCodes>, ApiError> {
    Ok(Json(
        twofa::regenerate_codes(&s.core, &actor, &body.code).await?,
    ))
}
