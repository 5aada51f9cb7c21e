//! `/account/delete`: deleting one's own account, with the password (and a code when the
//! second factor is on). apex-core refuses while the user owns domains.

use apex_core::Core;
use apex_core::auth::sessions;
use apex_core::users::account::{self, DeleteAccount};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use crate::page::{Chrome, Errors, Failure, Notice, failure_page, render};
use crate::request::Posted;
use crate::session::Viewer;

#[derive(Template)]
#[template(path = "account_delete.html")]
struct DeletePage {
    chrome: Chrome,
    tab: &'static str,
    totp: bool,
    owned: i64,
    errors: Errors,
}

impl DeletePage {
    fn described(&self, id: &str, hint: bool) -> String {
        self.errors.described(id, hint)
    }
}

async fn page(core: &Core, viewer: &Viewer, errors: Errors, status: StatusCode) -> Response {
    let chrome = viewer.chrome.at("account");
    match account::view(core, &viewer.actor).await {
        Ok(v) => render(
            status,
            &DeletePage {
                chrome,
                tab: "profile",
                totp: v.two_factor.totp,
                owned: v.domains_owned,
                errors,
            },
        ),
        Err(e) => failure_page(Failure::from(e), chrome),
    }
}

/// `GET /account/delete`.
pub(crate) async fn show(State(core): State<Core>, viewer: Viewer) -> Response {
    page(&core, &viewer, Errors::default(), StatusCode::OK).await
}

#[derive(Deserialize)]
pub(crate) struct DeleteForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
}

/// `POST /account/delete`: deletes the account and signs out.
pub(crate) async fn delete(
    State(core): State<Core>,
    viewer: Viewer,
    Posted(f): Posted<DeleteForm>,
) -> Response {
    let input = DeleteAccount {
        password: f.password,
        code: Some(f.code.trim().to_string()).filter(|c| !c.is_empty()),
    };
    match account::delete(&core, &viewer.actor, &input).await {
        Ok(()) => {
            let mut response = Notice::ok(
                "Account deleted",
                "Your account, its keys and its sessions are gone. Thank you for using Apex.",
            )
            .with(StatusCode::OK);
            crate::session::clear_cookie(&core, &mut response, sessions::COOKIE);
            response
        }
        Err(e) => {
            let failure = Failure::from(e);
            let (id, label) = match failure.field.as_deref() {
                Some("password") => (Some("password"), "The password"),
                Some("code") => (Some("code"), "The code"),
                _ => (None, "Deleting the account"),
            };
            let errors = Errors::one(id, failure.sentence(label));
            page(&core, &viewer, errors, failure.status).await
        }
    }
}
