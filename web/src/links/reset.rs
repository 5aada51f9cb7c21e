//! `/reset-password`: asking for a reset link, and choosing a new password with it.

use apex_core::Core;
use apex_core::auth::password::MIN_CHARS;
use apex_core::users::passwords::{self, ResetConfirm};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{PASSWORDS_DIFFER, TokenQuery};
use crate::csrf::Csrf;
use crate::page::{Chrome, Errors, Failure, Notice, render};
use crate::request::{ClientInfo, Posted};

/// Asks for a link.
#[derive(Template)]
#[template(path = "reset_request.html")]
struct RequestPage {
    chrome: Chrome,
    email: String,
    errors: Errors,
}

/// Chooses the new password.
#[derive(Template)]
#[template(path = "reset_password.html")]
struct PasswordPage {
    chrome: Chrome,
    token: String,
    min_chars: usize,
    errors: Errors,
}

impl PasswordPage {
    fn with(csrf: String, token: String, errors: Errors) -> Self {
        Self {
            chrome: Chrome::anonymous(csrf),
            token,
            min_chars: MIN_CHARS,
            errors,
        }
    }
}

/// `GET /reset-password[?token=…]`: with the mailed token, the new-password form; without,
/// the form that asks for a link.
pub(super) async fn show(Csrf(csrf): Csrf, Query(query): Query<TokenQuery>) -> Response {
    match query.token() {
        Some(token) => render(
            StatusCode::OK,
            &PasswordPage::with(csrf, token, Errors::default()),
        ),
        None => render(
            StatusCode::OK,
            &RequestPage {
                chrome: Chrome::anonymous(csrf),
                email: String::new(),
                errors: Errors::default(),
            },
        ),
    }
}

/// The form asking for a link.
#[derive(Deserialize)]
pub(super) struct EmailForm {
    #[serde(default)]
    email: String,
}

/// `POST /reset-password`: mails a link if the address has an account; the answer is the
/// same either way.
pub(super) async fn request(
    State(core): State<Core>,
    ClientInfo(client): ClientInfo,
    Csrf(csrf): Csrf,
    Posted(form): Posted<EmailForm>,
) -> Response {
    match passwords::request_reset(&core, &form.email, &client).await {
        Ok(()) => Notice::ok(
            "Check your mail",
            "If an account has this address, a link is on its way (it works for one hour).",
        )
        .with(StatusCode::OK),
        Err(e) => {
            let failure = Failure::from(e);
            match failure.field.as_deref() {
                Some("email") => render(
                    failure.status,
                    &RequestPage {
                        chrome: Chrome::anonymous(csrf),
                        email: form.email,
                        errors: Errors::one(Some("email"), failure.sentence("E-mail address")),
                    },
                ),
                _ => Notice::failed("Reset your password", failure.sentence("The request"))
                    .with(failure.status),
            }
        }
    }
}

/// The new password, twice, and the token.
#[derive(Deserialize)]
pub(super) struct NewPasswordForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /reset-password/confirm`: sets the new password. A password that is refused keeps
/// the form (and the token, still unused) for another try.
pub(super) async fn confirm(
    State(core): State<Core>,
    ClientInfo(client): ClientInfo,
    Csrf(csrf): Csrf,
    Posted(form): Posted<NewPasswordForm>,
) -> Response {
    if form.password != form.confirm {
        return render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &PasswordPage::with(
                csrf,
                form.token,
                Errors::one(Some("confirm"), PASSWORDS_DIFFER),
            ),
        );
    }
    let input = ResetConfirm {
        token: form.token,
        password: form.password,
    };
    match passwords::confirm_reset(&core, &input, &client).await {
        Ok(()) => Notice::ok(
            "Password changed",
            "Your new password is set, and every session of your account has ended. \
             You can now sign in with the new password.",
        )
        .with(StatusCode::OK),
        Err(e) => {
            let failure = Failure::from(e);
            match failure.field.as_deref() {
                Some("password") => render(
                    failure.status,
                    &PasswordPage::with(
                        csrf,
                        input.token,
                        Errors::one(Some("password"), failure.sentence("The new password")),
                    ),
                ),
                _ => Notice::failed("This link does not work", failure.sentence("The link"))
                    .then("/reset-password", "Ask for a new link")
                    .with(failure.status),
            }
        }
    }
}
