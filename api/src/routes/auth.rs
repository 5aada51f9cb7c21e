//! `/api/v1/auth`: sign-up, address verification, sign-in with its second step, sign-out,
//! password reset, accepting an invitation.

use apex_core::auth::device;
use apex_core::auth::sessions::{self, NewSession};
use apex_core::ids::{SessionId, UserId};
use apex_core::invitations;
use apex_core::users::login::{self, Outcome, SecondFactor};
use apex_core::users::passwords::{self, ResetConfirm};
use apex_core::users::signup::{self, SignupInput, SignupView};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{AccountAuth, ClientInfo, JsonBody};
use crate::openapi::problem;

/// The remembered-device cookie's name.
pub const DEVICE_COOKIE: &str = device::COOKIE;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    email: String,
    password: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    token: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailBody {
    email: String,
}

/// A sign-in step's answer: the session's fields are there once signed in. (Written out
/// rather than a flattened `Option<SignedIn>`, which the OpenAPI document would describe as
/// "null or a session", and the `second_factor_required` answer is neither.)
#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginAnswer {
    /// `signed_in` or `second_factor_required`.
    status: &'static str,
    /// The session's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    session_id: Option<SessionId>,
    /// The user.
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<UserId>,
    /// Their address.
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    /// When the session ends at the latest.
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Accepted {
    status: &'static str,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Verified {
    email: String,
    verified: bool,
}

fn cookie(
    state: &AppState,
    name: &'static str,
    value: String,
    max_age: chrono::TimeDelta,
) -> HeaderValue {
    let c = sessions::set_cookie(&state.core.platform.accounts, name, &value, max_age);
    HeaderValue::from_str(&c).unwrap_or(HeaderValue::from_static(""))
}

fn session_cookie(state: &AppState, s: &NewSession) -> HeaderValue {
    cookie(
        state,
        sessions::COOKIE,
        s.token.clone(),
        s.expires_at - chrono::Utc::now(),
    )
}

fn cleared(state: &AppState, name: &'static str) -> HeaderValue {
    cookie(state, name, String::new(), chrono::TimeDelta::zero())
}

fn answer(state: &AppState, outcome: Outcome) -> Response {
    let mut headers = HeaderMap::new();
    let body = match outcome {
        Outcome::SecondFactor(pending) => {
            headers.append(header::SET_COOKIE, session_cookie(state, &pending));
            LoginAnswer {
                status: "second_factor_required",
                session_id: None,
                user_id: None,
                email: None,
                expires_at: None,
            }
        }
        Outcome::SignedIn {
            session,
            device,
            user,
            email,
        } => {
            headers.append(header::SET_COOKIE, session_cookie(state, &session));
            if let Some(value) = device {
                headers.append(
                    header::SET_COOKIE,
                    cookie(
                        state,
                        DEVICE_COOKIE,
                        value,
                        chrono::TimeDelta::days(device::REMEMBER_DAYS),
                    ),
                );
            }
            LoginAnswer {
                status: "signed_in",
                session_id: Some(session.id),
                user_id: Some(user),
                email: Some(email),
                expires_at: Some(session.expires_at),
            }
        }
    };
    (StatusCode::OK, headers, Json(body)).into_response()
}

/// `POST /auth/login`: e-mail and password.
#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "auth",
    operation_id = "auth_login",
    request_body(content = Login, example = json!({"email": "erin@example.com", "password": "a long enough password"})),
    responses(
        (status = 200, description = "Signed in, or a second factor is wanted; the session cookie is set", body = LoginAnswer, headers(("Set-Cookie" = String, description = "`apex_session`"))),
        problem::BadRequest,
        problem::Unauthenticated,
        problem::Forbidden,
        problem::UnsupportedMediaType,
        problem::Invalid,
        problem::TooManyRequests,
        problem::Internal,
    ),
)]
pub async fn login(
    State(s): State<AppState>,
    ClientInfo(client): ClientInfo,
    jar: CookieJar,
    JsonBody(body): JsonBody<Login>,
) -> Result<Response, ApiError> {
    let remembered = jar.get(DEVICE_COOKIE).map(|c| c.value().to_string());
    let outcome = login::password_step(
        &s.core,
        &body.email,
        &body.password,
        &client,
        remembered.as_deref(),
    )
    .await?;
    Ok(answer(&s, outcome))
}

/// `POST /auth/login/2fa`: the second factor, in the pending session the first step set.
#[utoipa::path(
    post,
    path = "/auth/login/2fa",
    tag = "auth",
    operation_id = "auth_second_factor",
    request_body = SecondFactor,
    responses(
        (status = 200, description = "Signed in: a new session cookie (and `apex_device` when remembered)", body = LoginAnswer, headers(("Set-Cookie" = String, description = "`apex_session`, `apex_device`"))),
        problem::BadRequest,
        problem::Unauthenticated,
        problem::Forbidden,
        problem::UnsupportedMediaType,
        problem::Invalid,
        problem::TooManyRequests,
        problem::Internal,
    ),
)]
pub async fn second_factor(
    State(s): State<AppState>,
    ClientInfo(client): ClientInfo,
    jar: CookieJar,
    JsonBody(body): JsonBody<SecondFactor>,
) -> Result<Response, ApiError> {
    let pending = jar
        .get(sessions::COOKIE)
        .map(|c| c.value().to_string())
        .ok_or(ApiError::SignInFailed(
            "no sign-in is waiting for a second factor: sign in with your password first",
        ))?;
    let outcome = login::second_step(&s.core, &pending, &body, &client).await?;
    Ok(answer(&s, outcome))
}

/// `POST /auth/logout`: ends this session and clears its cookie.
#[utoipa::path(
    post,
    path = "/auth/logout",
    tag = "auth",
    operation_id = "auth_logout",
    responses(
        (status = 204, description = "This session ended and its cookie cleared"),
        problem::Unauthenticated,
        problem::Forbidden,
        problem::Invalid,
        problem::Internal,
    ),
    security(("api_key" = []), ("session" = [])),
)]
pub async fn logout(
    State(s): State<AppState>,
    AccountAuth(actor): AccountAuth,
) -> Result<Response, ApiError> {
    sessions::sign_out(&s.core, &actor).await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, cleared(&s, sessions::COOKIE))],
    )
        .into_response())
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Ended {
    sessions_ended: u64,
}

/// `POST /auth/logout-all`: ends every session of the user, this one too.
#[utoipa::path(
    post,
    path = "/auth/logout-all",
    tag = "auth",
    operation_id = "auth_logout_all",
    responses(
        (status = 200, description = "Every session of the user ended, this one too", body = Ended),
        problem::Unauthenticated,
        problem::Forbidden,
        problem::Internal,
    ),
    security(("api_key" = []), ("session" = [])),
)]
pub async fn logout_all(
    State(s): State<AppState>,
    AccountAuth(actor): AccountAuth,
) -> Result<Response, ApiError> {
    let ended = sessions::sign_out_everywhere(&s.core, &actor).await?;
    Ok((
        StatusCode::OK,
        [(header::SET_COOKIE, cleared(&s, sessions::COOKIE))],
        Json(Ended {
            sessions_ended: ended,
        }),
    )
        .into_response())
}

/// `POST /auth/signup`.
#[utoipa::path(
    post,
    path = "/auth/signup",
    tag = "auth",
    operation_id = "auth_signup",
    request_body(content = SignupInput, example = json!({"email": "erin@example.com", "password": "a long enough password"})),
    responses(
        (status = 202, description = "A verification mail is on its way (the same answer when the address has an account)", body = SignupView),
        problem::BadRequest,
        problem::Forbidden,
        problem::UnsupportedMediaType,
        problem::Invalid,
        problem::Internal,
    ),
)]
pub async fn signup(
    State(s): State<AppState>,
    ClientInfo(client): ClientInfo,
    JsonBody(body): JsonBody<SignupInput>,
) -> Result<(StatusCode, Json<SignupView>), ApiError> {
    let view = signup::signup(&s.core, &body, &client).await?;
    Ok((StatusCode::ACCEPTED, Json(view)))
}

/// `POST /auth/verify-email`: the token from the mailed link.
#[utoipa::path(
    post,
    path = "/auth/verify-email",
    tag = "auth",
    operation_id = "auth_verify_email",
    request_body = TokenBody,
    responses(
        (status = 200, description = "The address is confirmed", body = Verified),
        problem::BadRequest,
        problem::UnsupportedMediaType,
        problem::Invalid,
        problem::Internal,
    ),
)]
pub async fn verify_email(
    State(s): State<AppState>,
    ClientInfo(client): ClientInfo,
    JsonBody(body): JsonBody<TokenBody>,
) -> Result<Json<Verified>, ApiError> {
    let email = signup::verify_email(&s.core, &body.token, &client).await?;
    Ok(Json(Verified {
        email,
        verified: true,
    }))
}

/// `POST /auth/verify-email/resend`.
#[utoipa::path(
    post,
    path = "/auth/verify-email/resend",
    tag = "auth",
    operation_id = "auth_resend_verification",
    request_body = EmailBody,
    responses(
        (status = 202, description = "Sent if the address has an account waiting for verification", body = Accepted),
        problem::BadRequest,
        problem::UnsupportedMediaType,
        problem::Invalid,
        problem::Internal,
    ),
)]
pub async fn resend_verification(
    State(s): State<AppState>,
    ClientInfo(client): ClientInfo,
    JsonBody(body): JsonBody<EmailBody>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    signup::resend_verification(&s.core, &body.email, &client).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            status: "sent if the address has an account waiting for verification",
        }),
    ))
}

/// `POST /auth/password-reset`.
#[utoipa::path(
    post,
    path = "/auth/password-reset",
    tag = "auth",
    operation_id = "auth_password_reset",
    request_body = EmailBody,
    responses(
        (status = 202, description = "A link is mailed if the address has an account", body = Accepted),
        problem::BadRequest,
        problem::UnsupportedMediaType,
        problem::Invalid,
        problem::TooManyRequests,
        problem::Internal,
    ),
)]
pub async fn password_reset(
    State(s): State<AppState>,
    ClientInfo(client): ClientInfo,
    JsonBody(body): JsonBody<EmailBody>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    passwords::request_reset(&s.core, &body.email, &client).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            status: "sent if the address has an account",
        }),
    ))
}

/// `POST /auth/password-reset/confirm`.
#[utoipa::path(
    post,
    path = "/auth/password-reset/confirm",
    tag = "auth",
    operation_id = "auth_password_reset_confirm",
    request_body = ResetConfirm,
    responses(
        (status = 204, description = "The password is set; every session ended"),
        problem::BadRequest,
        problem::UnsupportedMediaType,
        problem::Invalid,
        problem::TooManyRequests,
        problem::Internal,
    ),
)]
pub async fn password_reset_confirm(
    State(s): State<AppState>,
    ClientInfo(client): ClientInfo,
    JsonBody(body): JsonBody<ResetConfirm>,
) -> Result<StatusCode, ApiError> {
    passwords::confirm_reset(&s.core, &body, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /auth/invitations/accept`: a signed-in user takes an invitation.
#[utoipa::path(
    post,
    path = "/auth/invitations/accept",
    tag = "auth",
    operation_id = "auth_accept_invitation",
    request_body = TokenBody,
    responses(
        (status = 204, description = "The invitation is taken"),
        problem::BadRequest,
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Conflict,
        problem::UnsupportedMediaType,
        problem::Invalid,
        problem::Internal,
    ),
    security(("api_key" = []), ("session" = [])),
)]
pub async fn accept_invitation(
    State(s): State<AppState>,
    AccountAuth(actor): AccountAuth,
    JsonBody(body): JsonBody<TokenBody>,
) -> Result<StatusCode, ApiError> {
    invitations::accept_signed_in(&s.core, &actor, &body.token).await?;
    Ok(StatusCode::NO_CONTENT)
}
