//! The pages the account mails link to. None acts on a GET: mail scanners and link
//! previews open links, so a GET only shows a form, and the form's POST does the deed.
//!
//! | link in the mail                    | GET shows                  | POST                       |
//! |-------------------------------------|----------------------------|----------------------------|
//! | `/verify-email?token=…`             | a "Confirm" button         | `/verify-email`            |
//! | `/reset-password?token=…`           | a new-password form        | `/reset-password/confirm`  |
//! | `/reset-password` (no token)        | an e-mail form             | `/reset-password`          |
//! | `/signup?invitation=…`              | a password form            | `/signup`                  |
//! | `/verify-email/resend`              | an e-mail form             | `/verify-email/resend`     |
//! | `/invitations/accept?token=…`       | signed in: an "Accept" button | `/invitations/accept`   |

mod accept;
mod resend;
mod reset;
mod signup;
mod verify;

use apex_core::Core;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::page::Notice;

/// The routes of the mailed links.
pub(crate) fn routes() -> Router<Core> {
    Router::new()
        .route("/verify-email", get(verify::show).post(verify::confirm))
        .route("/reset-password", get(reset::show).post(reset::request))
        .route(
            "/reset-password/confirm",
            // A reload or a typed address: back to the start.
            get(|| async { Redirect::to("/reset-password") }).post(reset::confirm),
        )
        .route("/signup", get(signup::show).post(signup::submit))
        .route("/verify-email/resend", get(resend::show).post(resend::send))
        .route(
            "/invitations/accept",
            get(accept::show).post(accept::accept),
        )
}

/// `?token=…` of a mailed link.
#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

impl TokenQuery {
    /// The token, if the link had a non-empty one.
    fn token(self) -> Option<String> {
        self.token.filter(|t| !t.trim().is_empty())
    }
}

/// A link whose token was cut off (a mail program that wrapped the line).
fn incomplete_link(title: &str) -> Response {
    Notice::failed(
        title,
        "This link is incomplete: it has no token. Open the link from the mail again, or copy \
         the whole of it into the address bar.",
    )
    .with(StatusCode::BAD_REQUEST)
}

/// The two passwords typed differ.
const PASSWORDS_DIFFER: &str = "The two passwords differ: type the same password in both fields.";
