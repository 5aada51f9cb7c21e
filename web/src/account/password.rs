//! `/account/password`: changing the password (the current one first); the other sessions
//! end.

use apex_core::Core;
use apex_core::auth::password::MIN_CHARS;
use apex_core::users::passwords::{self, PasswordChange};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use crate::page::{Chrome, Errors, Failure, Notice, render};
use crate::request::Posted;
use crate::session::Viewer;

#[derive(Template)]
#[template(path = "account_password.html")]
struct PasswordPage {
    chrome: Chrome,
    tab: &'static str,
    min_chars: usize,
    errors: Errors,
}

impl PasswordPage {
    fn described(&self, id: &str, hint: bool) -> String {
        self.errors.described(id, hint)
    }
}

fn page(viewer: &Viewer, errors: Errors, status: StatusCode) -> Response {
    render(
        status,
        &PasswordPage {
            chrome: viewer.chrome.at("account"),
            tab: "password",
            min_chars: MIN_CHARS,
            errors,
        },
    )
}

/// `GET /account/password`.
pub(crate) async fn show(viewer: Viewer) -> Response {
    page(&viewer, Errors::default(), StatusCode::OK)
}

/// The form: the passwords are never sent back into the page.
#[derive(Deserialize)]
pub(crate) struct ChangeForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /account/password`.
pub(crate) async fn change(
    State(core): State<Core>,
    viewer: Viewer,
    Posted(f): Posted<ChangeForm>,
) -> Response {
    if f.new_password != f.confirm {
        return page(
            &viewer,
            Errors::one(
                Some("confirm"),
                "The new password, typed again, is not the same: type it again.",
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let input = PasswordChange {
        current_password: f.current_password,
        new_password: f.new_password,
    };
    match passwords::change(&core, &viewer.actor, &input).await {
        Ok(ended) => {
            let others = match ended {
                0 => "You were signed in nowhere else.".to_string(),
                1 => "Your one other session was ended: sign in there again.".to_string(),
                n => format!("Your {n} other sessions were ended: sign in there again."),
            };
            Notice::ok(
                "Password changed",
                format!(
                    "Your new password works from now on. You stay signed in here; every other \
                     session was signed out. {others} We mailed you about the change."
                ),
            )
            .within(&viewer.chrome.at("account"))
            .then("/account", "Back to your account")
            .with(StatusCode::OK)
        }
        Err(e) => {
            let failure = Failure::from(e);
            let (field, label) = match failure.field.as_deref() {
                Some("current_password") => (Some("current_password"), "What you typed"),
                Some("new_password") => (Some("new_password"), "The new password"),
                _ => (None, "The password"),
            };
            if field.is_none() && failure.status.is_server_error() {
                return crate::page::failure_page(failure, viewer.chrome.at("account"));
            }
            let status = failure.status;
            page(&viewer, Errors::one(field, failure.sentence(label)), status)
        }
    }
}
