//! `/account`: who the viewer is, and links to the account's sections.

use apex_core::Core;
use apex_core::users::account;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::page::{Chrome, Failure, failure_page, render, when};
use crate::session::Viewer;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    chrome: Chrome,
    tab: &'static str,
    email: String,
    verified: bool,
    created: String,
    password_changed: String,
    totp: bool,
    totp_since: Option<String>,
    codes_left: i64,
    required: bool,
    admin: bool,
    permissions: Vec<&'static str>,
    owned: i64,
    quota: Option<i64>,
    impersonated_by: Option<String>,
}

/// `GET /account`.
pub(crate) async fn show(State(core): State<Core>, viewer: Viewer) -> Response {
    let chrome = viewer.chrome.at("account");
    let v = match account::view(&core, &viewer.actor).await {
        Ok(v) => v,
        Err(e) => return failure_page(Failure::from(e), chrome),
    };
    render(
        StatusCode::OK,
        &AccountPage {
            chrome,
            tab: "profile",
            email: v.email,
            verified: v.email_verified,
            created: when(&v.created_at),
            password_changed: when(&v.password_changed_at),
            totp: v.two_factor.totp,
            totp_since: v.two_factor.enabled_at.as_ref().map(when),
            codes_left: v.two_factor.recovery_codes_left,
            required: v.two_factor.required,
            admin: v.admin,
            permissions: v.permissions.iter().map(|p| p.as_str()).collect(),
            owned: v.domains_owned,
            quota: v.domain_quota,
            impersonated_by: v.impersonated_by,
        },
    )
}
