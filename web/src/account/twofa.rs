//! `/account/2fa`: the second factor. Turning it on is two steps (the secret, as a QR code
//! and as text; then a code from the app), after which the recovery codes are shown once;
//! when it is on, new recovery codes, or turning it off.
//!
//! The secret being enrolled is kept by apex-core (sealed, on the user), never in the page's
//! form: the confirming code is all that comes back.

use apex_core::Core;
use apex_core::users::{account, twofa};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use crate::page::{Chrome, Errors, Failure, Notice, failure_page, render, when};
use crate::request::{Empty, Posted};
use crate::session::Viewer;

/// The status page, with the forms that fit it.
#[derive(Template)]
#[template(path = "account_2fa.html")]
struct StatusPage {
    chrome: Chrome,
    tab: &'static str,
    on: bool,
    since: Option<String>,
    codes_left: i64,
    required: bool,
    impersonated: bool,
    errors: Errors,
}

impl StatusPage {
    fn described(&self, id: &str, hint: bool) -> String {
        self.errors.described(id, hint)
    }
}

async fn status_page(core: &Core, viewer: &Viewer, errors: Errors, status: StatusCode) -> Response {
    let chrome = viewer.chrome.at("account");
    let v = match account::view(core, &viewer.actor).await {
        Ok(v) => v,
        Err(e) => return failure_page(Failure::from(e), chrome),
    };
    render(
        status,
        &StatusPage {
            chrome,
            tab: "2fa",
            on: v.two_factor.totp,
            since: v.two_factor.enabled_at.as_ref().map(when),
            codes_left: v.two_factor.recovery_codes_left,
            required: v.two_factor.required,
            impersonated: v.impersonated_by.is_some(),
            errors,
        },
    )
}

/// `GET /account/2fa`.
pub(crate) async fn show(State(core): State<Core>, viewer: Viewer) -> Response {
    status_page(&core, &viewer, Errors::default(), StatusCode::OK).await
}

/// The second step of enrolment: the secret to add to the app (absent when the page is
/// shown again after a wrong code: apex-core keeps it, and hands it out only once), and the
/// field for the app's code.
#[derive(Template)]
#[template(path = "account_2fa_enrol.html")]
struct EnrolPage {
    chrome: Chrome,
    tab: &'static str,
    enrolment: Option<Shown>,
    errors: Errors,
}

impl EnrolPage {
    fn described(&self, id: &str, hint: bool) -> String {
        self.errors.described(id, hint)
    }
}

/// The secret as the page shows it.
struct Shown {
    secret: String,
    uri: String,
    /// apex-core's SVG document, without its XML declaration.
    qr_svg: String,
}

/// A failure that leaves a form on the page: the problem goes to the field it is about, or
/// on top. Internal errors come back, for their own page.
fn problem(
    e: apex_core::CoreError,
    field: impl Fn(&str) -> Option<(&'static str, &'static str)>,
) -> Result<(Errors, StatusCode), Failure> {
    let failure = Failure::from(e);
    if failure.status.is_server_error() {
        return Err(failure);
    }
    let (id, label) = failure
        .field
        .as_deref()
        .and_then(&field)
        .map_or((None, "It"), |(id, label)| (Some(id), label));
    Ok((Errors::one(id, failure.sentence(label)), failure.status))
}

/// `POST /account/2fa/start`: a new secret, shown as a QR code and as text.
pub(crate) async fn start(
    State(core): State<Core>,
    viewer: Viewer,
    Posted(Empty {}): Posted<Empty>,
) -> Response {
    match twofa::start(&core, &viewer.actor).await {
        Ok(e) => {
            let svg = e
                .qr_svg
                .find("<svg")
                .map_or(e.qr_svg.as_str(), |at| &e.qr_svg[at..])
                .to_string();
            render(
                StatusCode::OK,
                &EnrolPage {
                    chrome: viewer.chrome.at("account"),
                    tab: "2fa",
                    enrolment: Some(Shown {
                        secret: e.secret,
                        uri: e.otpauth_uri,
                        qr_svg: svg,
                    }),
                    errors: Errors::default(),
                },
            )
        }
        Err(e) => match problem(e, |_| None) {
            Ok((errors, status)) => status_page(&core, &viewer, errors, status).await,
            Err(failure) => failure_page(failure, viewer.chrome.at("account")),
        },
    }
}

/// A code from the app.
#[derive(Deserialize)]
pub(crate) struct CodeForm {
    #[serde(default)]
    code: String,
}

/// Recovery codes, shown once.
#[derive(Template)]
#[template(path = "account_codes.html")]
struct CodesPage {
    chrome: Chrome,
    tab: &'static str,
    /// Just turned on (rather than new codes).
    enabled: bool,
    codes: Vec<String>,
}

/// `POST /account/2fa/confirm`: turns the second factor on and shows the recovery codes.
pub(crate) async fn confirm(
    State(core): State<Core>,
    viewer: Viewer,
    Posted(f): Posted<CodeForm>,
) -> Response {
    match twofa::confirm(&core, &viewer.actor, &f.code).await {
        Ok(codes) => render(
            StatusCode::OK,
            &CodesPage {
                chrome: viewer.chrome.at("account"),
                tab: "2fa",
                enabled: true,
                codes: codes.recovery_codes,
            },
        ),
        Err(e) => match problem(e, |f| (f == "code").then_some(("code", "The code"))) {
            Ok((errors, status)) => render(
                status,
                &EnrolPage {
                    chrome: viewer.chrome.at("account"),
                    tab: "2fa",
                    enrolment: None,
                    errors,
                },
            ),
            Err(failure) => failure_page(failure, viewer.chrome.at("account")),
        },
    }
}

/// `POST /account/2fa/codes`: new recovery codes, proved by a code from the app.
pub(crate) async fn regenerate(
    State(core): State<Core>,
    viewer: Viewer,
    Posted(f): Posted<CodeForm>,
) -> Response {
    match twofa::regenerate_codes(&core, &viewer.actor, &f.code).await {
        Ok(codes) => render(
            StatusCode::OK,
            &CodesPage {
                chrome: viewer.chrome.at("account"),
                tab: "2fa",
                enabled: false,
                codes: codes.recovery_codes,
            },
        ),
        Err(e) => match problem(e, |f| (f == "code").then_some(("regen_code", "The code"))) {
            Ok((errors, status)) => status_page(&core, &viewer, errors, status).await,
            Err(failure) => failure_page(failure, viewer.chrome.at("account")),
        },
    }
}

/// Turning it off: the password and a code.
#[derive(Deserialize)]
pub(crate) struct DisableForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
}

/// `POST /account/2fa/disable`.
pub(crate) async fn disable(
    State(core): State<Core>,
    viewer: Viewer,
    Posted(f): Posted<DisableForm>,
) -> Response {
    let input = twofa::DisableInput {
        password: f.password,
        code: f.code,
    };
    match twofa::disable(&core, &viewer.actor, &input).await {
        Ok(()) => Notice::ok(
            "Two-factor sign-in is off",
            "Signing in now needs only your password, and your recovery codes no longer work. \
             We mailed you about the change.",
        )
        .within(&viewer.chrome.at("account"))
        .then("/account/2fa", "Back to two-factor sign-in")
        .with(StatusCode::OK),
        Err(e) => match problem(e, |f| match f {
            "password" => Some(("disable_password", "What you typed")),
            "code" => Some(("disable_code", "The code")),
            _ => None,
        }) {
            Ok((errors, status)) => status_page(&core, &viewer, errors, status).await,
            Err(failure) => failure_page(failure, viewer.chrome.at("account")),
        },
    }
}
