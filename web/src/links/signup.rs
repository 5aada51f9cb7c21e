//! `/signup`: creating an account, with the invitation from a mail (or, on a platform open
//! to all, without one).

use apex_core::auth::password::MIN_CHARS;
use apex_core::config::Signup;
use apex_core::users::signup::{self, SignupInput};
use apex_core::{Core, invitations};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::PASSWORDS_DIFFER;
use crate::csrf::Csrf;
use crate::page::{Chrome, Errors, Failure, Notice, render};
use crate::request::{ClientInfo, Posted};

/// Whom an invitation is for.
struct Invited {
    email: String,
    domain: Option<String>,
}

/// The sign-up form.
#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage {
    chrome: Chrome,
    /// The invitation's token, posted back.
    invitation: Option<String>,
    /// What the invitation says, shown.
    invited: Option<Invited>,
    /// The address typed (open sign-up only).
    email: String,
    min_chars: usize,
    errors: Errors,
}

/// `?invitation=…` of an invitation link.
#[derive(Deserialize)]
pub(super) struct SignupQuery {
    invitation: Option<String>,
}

/// Why the form is not offered: the platform takes no sign-ups, or none without an
/// invitation, or the invitation does not work.
fn refused(failure: &Failure) -> Response {
    let title = if failure.field.as_deref() == Some("invitation") {
        "This invitation does not work"
    } else {
        "Sign-up"
    };
    Notice::failed(title, failure.sentence("The invitation")).with(failure.status)
}

/// The form for `invitation` (looked up again, to show whom it is for), with `errors`.
async fn form(
    core: &Core,
    csrf: String,
    invitation: Option<String>,
    email: String,
    errors: Errors,
    status: StatusCode,
) -> Response {
    let mode = core.platform.accounts.signup;
    let invited = match &invitation {
        _ if mode == Signup::Closed => {
            return refused(&Failure {
                status: StatusCode::FORBIDDEN,
                field: None,
                message: "this platform takes no sign-ups; ask its administrators for an account"
                    .into(),
            });
        }
        Some(token) => match invitations::find(&core.pool, token).await {
            Ok(Some(pending)) => Some(Invited {
                email: pending.email,
                domain: pending.domain.map(|(_, name)| name),
            }),
            Ok(None) => return refused(&Failure::from(invitations::invalid_invitation())),
            Err(e) => return refused(&Failure::from(e)),
        },
        None if mode == Signup::Invite => {
            return refused(&Failure {
                status: StatusCode::FORBIDDEN,
                field: None,
                message: "sign-up on this platform needs an invitation: use the link in the \
                          invitation mail"
                    .into(),
            });
        }
        None => None,
    };
    render(
        status,
        &SignupPage {
            chrome: Chrome::anonymous(csrf),
            invitation,
            invited,
            email,
            min_chars: MIN_CHARS,
            errors,
        },
    )
}

/// `GET /signup[?invitation=…]`: the form, or why there is none.
pub(super) async fn show(
    State(core): State<Core>,
    Csrf(csrf): Csrf,
    Query(query): Query<SignupQuery>,
) -> Response {
    let invitation = query.invitation.filter(|t| !t.trim().is_empty());
    form(
        &core,
        csrf,
        invitation,
        String::new(),
        Errors::default(),
        StatusCode::OK,
    )
    .await
}

/// The sign-up form as posted.
#[derive(Deserialize)]
pub(super) struct SignupForm {
    invitation: Option<String>,
    email: Option<String>,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /signup`: creates the account, which mails a link to confirm the address.
pub(super) async fn submit(
    State(core): State<Core>,
    ClientInfo(client): ClientInfo,
    Csrf(csrf): Csrf,
    Posted(posted): Posted<SignupForm>,
) -> Response {
    let invitation = posted.invitation.filter(|t| !t.trim().is_empty());
    // With an invitation, the address is the invitation's.
    let email = if invitation.is_some() {
        None
    } else {
        posted.email
    };
    if posted.password != posted.confirm {
        let errors = Errors::one(Some("confirm"), PASSWORDS_DIFFER);
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return form(
            &core,
            csrf,
            invitation,
            email.unwrap_or_default(),
            errors,
            status,
        )
        .await;
    }
    let input = SignupInput {
        email,
        password: posted.password,
        invitation,
    };
    match signup::signup(&core, &input, &client).await {
        Ok(view) => Notice::ok(
            "Check your mail",
            format!(
                "We sent a link to {}; open it to confirm your address, then sign in.",
                view.email
            ),
        )
        .with(StatusCode::OK),
        Err(e) => {
            let failure = Failure::from(e);
            let field = match failure.field.as_deref() {
                Some("password") => Some(("password", "The password")),
                Some("email") if input.invitation.is_none() => Some(("email", "E-mail address")),
                _ => None,
            };
            match field {
                Some((id, label)) => {
                    let errors = Errors::one(Some(id), failure.sentence(label));
                    let email = input.email.unwrap_or_default();
                    form(&core, csrf, input.invitation, email, errors, failure.status).await
                }
                None => refused(&failure),
            }
        }
    }
}
