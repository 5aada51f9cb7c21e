//! `/api/v1/auth`: sign-up, address verification, sign-in with its second step, sign-out,
//! password reset, accepting an invitation.

use apex_core::auth::device;
use apex_core::auth::sessions::{self, NewSession};
use apex_core::invitations;
use apex_core::users::login::{self, Outcome, SecondFactor, SignedIn};
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

/// The remembered-device cookie's name.
pub const DEVICE_COOKIE: &str = device::COOKIE;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    email: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    token: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailBody {
    email: String,
}

#[derive(Serialize)]
pub struct LoginAnswer {
    /// `signed_in` or `second_factor_required`.
    status: &'static str,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    session: Option<SignedIn>,
}

#[derive(Serialize)]
pub struct Accepted {
    status: &'static str,
}

#[derive(Serialize)]
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
                session: None,
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
                session: Some(SignedIn {
                    session_id: session.id,
                    user_id: user,
                    email,
                    expires_at: session.expires_at,
                }),
            }
        }
    };
    (StatusCode::OK, headers, Json(body)).into_response()
}

/// `POST /auth/login`: e-mail and password.
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

#[derive(Serialize)]
pub struct Ended {
    sessions_ended: u64,
}

/// `POST /auth/logout-all`: ends every session of the user, this one too.
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
pub async fn signup(
    State(s): State<AppState>,
    ClientInfo(client): ClientInfo,
    JsonBody(body): JsonBody<SignupInput>,
) -> Result<(StatusCode, Json<SignupView>), ApiError> {
    let view = signup::signup(&s.core, &body, &client).await?;
    Ok((StatusCode::ACCEPTED, Json(view)))
}

/// `POST /auth/verify-email`: the token from the mailed link.
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
pub async fn password_reset_confirm(
    State(s): State<AppState>,
    ClientInfo(client): ClientInfo,
    JsonBody(body): JsonBody<ResetConfirm>,
) -> Result<StatusCode, ApiError> {
    passwords::confirm_reset(&s.core, &body, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /auth/invitations/accept`: a signed-in user takes an invitation.
pub async fn accept_invitation(
    State(s): State<AppState>,
    AccountAuth(actor): AccountAuth,
    JsonBody(body): JsonBody<TokenBody>,
) -> Result<StatusCode, ApiError> {
    invitations::accept_signed_in(&s.core, &actor, &body.token).await?;
    Ok(StatusCode::NO_CONTENT)
}
