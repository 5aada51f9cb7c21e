//! `/verify-email/resend`: a new confirmation link for an account still waiting for one.
//! The answer is the same whether or not the address has such an account.

use apex_core::Core;
use apex_core::users::signup;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use crate::csrf::Csrf;
use crate::page::{Chrome, Errors, Failure, Notice, render};
use crate::request::{ClientInfo, Posted};

#[derive(Template)]
#[template(path = "resend_verification.html")]
struct ResendPage {
    chrome: Chrome,
    email: String,
    errors: Errors,
}

/// `GET /verify-email/resend`.
pub(super) async fn show(Csrf(csrf): Csrf) -> Response {
    render(
        StatusCode::OK,
        &ResendPage {
            chrome: Chrome::anonymous(csrf),
            email: String::new(),
            errors: Errors::default(),
        },
    )
}

#[derive(Deserialize)]
pub(super) struct EmailForm {
    #[serde(default)]
    email: String,
}

/// `POST /verify-email/resend`.
pub(super) async fn send(
    State(core): State<Core>,
    ClientInfo(client): ClientInfo,
    Csrf(csrf): Csrf,
    Posted(form): Posted<EmailForm>,
) -> Response {
    match signup::resend_verification(&core, &form.email, &client).await {
        Ok(()) => Notice::ok(
            "Check your mail",
            "If an account with this address is waiting to be confirmed, a new link is on its way.",
        )
        .with(StatusCode::OK),
        Err(e) => {
            let failure = Failure::from(e);
            render(
                failure.status,
                &ResendPage {
                    chrome: Chrome::anonymous(csrf),
                    email: form.email,
                    errors: Errors::one(Some("email"), failure.sentence("E-mail address")),
                },
            )
        }
    }
}
