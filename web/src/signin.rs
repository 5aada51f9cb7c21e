//! Signing in (password, then the second factor when the account has one) and out.
//!
//! | page          | GET                         | POST                                      |
//! |---------------|-----------------------------|-------------------------------------------|
//! | `/login`      | e-mail and password         | first step; on to `/login/2fa` or `next`  |
//! | `/login/2fa`  | code or recovery code       | second step; on to `next`                 |
//! | `/logout`     | –                           | ends this session                         |
//!
//! Both steps are apex-core's (`users::login`), as in the API: the same throttling, the same
//! audit events, the same answer for an unknown address and a wrong password.

use apex_core::Core;
use apex_core::auth::{device, sessions};
use apex_core::config::Signup;
use apex_core::users::login::{self, LoginError, Outcome, SecondFactor};
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use crate::csrf::Csrf;
use crate::page::{Chrome, Errors, Failure, Notice, render};
use crate::request::{ClientInfo, Posted};
use crate::session::{Viewer, clear_cookie, safe_next, set_cookie};

/// The sign-in routes.
pub(crate) fn routes() -> Router<Core> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/domains") }))
        .route("/login", get(show).post(password))
        .route("/login/2fa", get(show_code).post(code))
        .route("/logout", post(logout))
}

/// `?next=…`: where to go once signed in.
#[derive(Deserialize, Default)]
pub(crate) struct NextQuery {
    next: Option<String>,
}

/// E-mail and password.
#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    email: String,
    next: String,
    signup_open: bool,
    errors: Errors,
}

/// `GET /login`.
async fn show(State(core): State<Core>, Csrf(csrf): Csrf, Query(q): Query<NextQuery>) -> Response {
    login_page(
        &core,
        csrf,
        String::new(),
        q.next,
        Errors::default(),
        StatusCode::OK,
    )
}

fn login_page(
    core: &Core,
    csrf: String,
    email: String,
    next: Option<String>,
    errors: Errors,
    status: StatusCode,
) -> Response {
    render(
        status,
        &LoginPage {
            chrome: Chrome::anonymous(csrf),
            email,
            next: safe_next(next.as_deref()),
            signup_open: core.platform.accounts.signup == Signup::Open,
            errors,
        },
    )
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

/// A sign-in that did not go through, in words for the form.
fn refusal(e: LoginError) -> (StatusCode, String, Option<HeaderValue>) {
    match e {
        LoginError::Invalid(m) => (StatusCode::UNAUTHORIZED, crate::page::sentence("", m), None),
        LoginError::Throttled(wait) => {
            let minutes = wait.as_secs().div_ceil(60).max(1);
            (
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Too many failed attempts. Wait {minutes} minute{} and try again.",
                    if minutes == 1 { "" } else { "s" }
                ),
                HeaderValue::from_str(&wait.as_secs().max(1).to_string()).ok(),
            )
        }
        LoginError::Refused(m) => (StatusCode::FORBIDDEN, crate::page::sentence("", &m), None),
        LoginError::Core(e) => {
            let f = Failure::from(e);
            (f.status, f.sentence("Sign-in"), None)
        }
    }
}

/// Sets the cookies of `outcome` and goes on: to the code form, or to `next`.
fn go_on(core: &Core, outcome: Outcome, next: &str) -> Response {
    let lifetime = |until: chrono::DateTime<chrono::Utc>| until - chrono::Utc::now();
    match outcome {
        Outcome::SecondFactor(pending) => {
            let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
            let mut response = Redirect::to(&format!("/login/2fa?next={next}")).into_response();
            let age = lifetime(pending.expires_at);
            set_cookie(core, &mut response, sessions::COOKIE, &pending.token, age);
            response
        }
        Outcome::SignedIn {
            session, device, ..
        } => {
            let mut response = Redirect::to(next).into_response();
            let age = lifetime(session.expires_at);
            set_cookie(core, &mut response, sessions::COOKIE, &session.token, age);
            if let Some(value) = device {
                let age = chrono::TimeDelta::days(device::REMEMBER_DAYS);
                set_cookie(core, &mut response, device::COOKIE, &value, age);
            }
            response
        }
    }
}

/// `POST /login`: the password step.
async fn password(
    State(core): State<Core>,
    ClientInfo(client): ClientInfo,
    Csrf(csrf): Csrf,
    jar: CookieJar,
    Posted(form): Posted<PasswordForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    let remembered = jar.get(device::COOKIE).map(|c| c.value().to_string());
    match login::password_step(
        &core,
        &form.email,
        &form.password,
        &client,
        remembered.as_deref(),
    )
    .await
    {
        Ok(outcome) => go_on(&core, outcome, &next),
        Err(e) => {
            let (status, message, retry) = refusal(e);
            let mut page = login_page(
                &core,
                csrf,
                form.email,
                Some(next),
                Errors::one(None, message),
                status,
            );
            if let Some(r) = retry {
                page.headers_mut().insert(header::RETRY_AFTER, r);
            }
            page
        }
    }
}

/// The second factor.
#[derive(Template)]
#[template(path = "login_2fa.html")]
struct CodePage {
    chrome: Chrome,
    next: String,
    errors: Errors,
}

/// `GET /login/2fa`: the code form (after the password step set a pending session).
async fn show_code(Csrf(csrf): Csrf, jar: CookieJar, Query(q): Query<NextQuery>) -> Response {
    if jar.get(sessions::COOKIE).is_none() {
        return Redirect::to("/login").into_response();
    }
    render(
        StatusCode::OK,
        &CodePage {
            chrome: Chrome::anonymous(csrf),
            next: safe_next(q.next.as_deref()),
            errors: Errors::default(),
        },
    )
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    recovery_code: String,
    remember: Option<String>,
    next: Option<String>,
}

/// `POST /login/2fa`: the second step.
async fn code(
    State(core): State<Core>,
    ClientInfo(client): ClientInfo,
    Csrf(csrf): Csrf,
    jar: CookieJar,
    Posted(form): Posted<CodeForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    let Some(pending) = jar.get(sessions::COOKIE).map(|c| c.value().to_string()) else {
        return Redirect::to("/login").into_response();
    };
    let input = SecondFactor {
        code: Some(form.code.trim().to_string()).filter(|c| !c.is_empty()),
        recovery_code: Some(form.recovery_code.trim().to_string()).filter(|c| !c.is_empty()),
        remember_device: form.remember.is_some(),
    };
    if input.code.is_none() && input.recovery_code.is_none() {
        return render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &CodePage {
                chrome: Chrome::anonymous(csrf),
                next,
                errors: Errors::one(
                    Some("code"),
                    "Type the 6-digit code from your authenticator app, or a recovery code.",
                ),
            },
        );
    }
    match login::second_step(&core, &pending, &input, &client).await {
        Ok(outcome) => go_on(&core, outcome, &next),
        Err(e) => {
            let (status, message, retry) = refusal(e);
            let mut page = render(
                status,
                &CodePage {
                    chrome: Chrome::anonymous(csrf),
                    next,
                    errors: Errors::one(Some("code"), message),
                },
            );
            if let Some(r) = retry {
                page.headers_mut().insert(header::RETRY_AFTER, r);
            }
            page
        }
    }
}

/// `POST /logout`: ends this session.
async fn logout(
    State(core): State<Core>,
    viewer: Viewer,
    ClientInfo(client): ClientInfo,
    jar: CookieJar,
    Posted(_): Posted<crate::request::Empty>,
) -> Response {
    let impersonating = viewer.actor.impersonator.is_some();
    if let Err(e) = sessions::sign_out(&core, &viewer.actor).await {
        return crate::page::failure_page(Failure::from(e), viewer.chrome);
    }
    // Signing out while impersonating signs the administrator out too: their own session,
    // kept aside in this browser, ends as well.
    if impersonating
        && let Some(kept) = jar.get(crate::admin::ADMIN_COOKIE)
        && let Ok(admin) = sessions::authenticate(&core, kept.value(), &client).await
        && let Err(e) = sessions::sign_out(&core, &admin).await
    {
        return crate::page::failure_page(Failure::from(e), viewer.chrome);
    }
    let mut response = Notice::ok("Signed out", "You are signed out. See you soon.")
        .then("/login", "Sign in again")
        .with(StatusCode::OK);
    clear_cookie(&core, &mut response, sessions::COOKIE);
    if impersonating {
        // Signing out while impersonating: the administrator's own session is not kept
        // in this browser either.
        clear_cookie(&core, &mut response, crate::admin::ADMIN_COOKIE);
    }
    response
}
