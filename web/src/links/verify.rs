//! `/verify-email`: confirming an address from the mailed link.

use apex_core::Core;
use apex_core::users::signup;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{TokenQuery, incomplete_link};
use crate::csrf::Csrf;
use crate::page::{Chrome, Failure, Notice, render};
use crate::request::{ClientInfo, Posted};

/// The button that confirms.
#[derive(Template)]
#[template(path = "verify_email.html")]
struct VerifyPage {
    chrome: Chrome,
    token: String,
}

/// `GET /verify-email?token=…`: the button, nothing more.
pub(super) async fn show(Csrf(csrf): Csrf, Query(query): Query<TokenQuery>) -> Response {
    match query.token() {
        Some(token) => render(
            StatusCode::OK,
            &VerifyPage {
                chrome: Chrome::anonymous(csrf),
                token,
            },
        ),
        None => incomplete_link("Confirm your address"),
    }
}

/// The confirming form.
#[derive(Deserialize)]
pub(super) struct TokenForm {
    #[serde(default)]
    token: String,
}

/// `POST /verify-email`: confirms the address.
pub(super) async fn confirm(
    State(core): State<Core>,
    ClientInfo(client): ClientInfo,
    Posted(form): Posted<TokenForm>,
) -> Response {
    match signup::verify_email(&core, &form.token, &client).await {
        Ok(email) => Notice::ok(
            "Address confirmed",
            format!("Your address {email} is confirmed. You can now sign in."),
        )
        .with(StatusCode::OK),
        Err(e) => {
            let failure = Failure::from(e);
            Notice::failed("This link does not work", failure.sentence("The link"))
                .with(failure.status)
        }
    }
}
