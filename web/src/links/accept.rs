//! `/invitations/accept?token=…`: a signed-in user takes an invitation with the account they
//! have (one sent before they had it, or to another address of theirs: the link is the
//! proof). Signed out, the page asks to sign in first and comes back.

use apex_core::{Core, invitations};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{TokenQuery, incomplete_link};
use crate::page::{Chrome, Failure, Notice, render};
use crate::request::Posted;
use crate::session::Viewer;

#[derive(Template)]
#[template(path = "accept_invitation.html")]
struct AcceptPage {
    chrome: Chrome,
    token: String,
    /// The domain it gives a role on, if any.
    domain: Option<String>,
    role: Option<&'static str>,
    email: String,
}

/// `GET /invitations/accept?token=…`: what the invitation offers, and a button.
pub(super) async fn show(
    State(core): State<Core>,
    viewer: Viewer,
    Query(query): Query<TokenQuery>,
) -> Response {
    let Some(token) = query.token() else {
        return incomplete_link("Accept the invitation");
    };
    match invitations::find(&core.pool, &token).await {
        Ok(Some(p)) => render(
            StatusCode::OK,
            &AcceptPage {
                email: viewer.actor.email.clone().unwrap_or_default(),
                chrome: viewer.chrome,
                token,
                domain: p.domain.map(|(_, name)| name),
                role: p.role.map(|r| crate::domains::role_name(Some(r))),
            },
        ),
        Ok(None) => Notice::failed(
            "This invitation does not work",
            Failure::from(invitations::invalid_invitation()).sentence("The invitation"),
        )
        .within(&viewer.chrome)
        .with(StatusCode::NOT_FOUND),
        Err(e) => crate::page::failure_page(Failure::from(e), viewer.chrome),
    }
}

#[derive(Deserialize)]
pub(super) struct AcceptForm {
    #[serde(default)]
    token: String,
}

/// `POST /invitations/accept`: takes it; on to the domain.
pub(super) async fn accept(
    State(core): State<Core>,
    viewer: Viewer,
    Posted(form): Posted<AcceptForm>,
) -> Response {
    let domain = invitations::find(&core.pool, &form.token)
        .await
        .ok()
        .flatten()
        .and_then(|p| p.domain.map(|(_, name)| name));
    match invitations::accept_signed_in(&core, &viewer.actor, &form.token).await {
        Ok(()) => match domain {
            Some(d) => Redirect::to(&format!("/domains/{}", crate::domains::path_segment(&d)))
                .into_response(),
            None => Redirect::to("/domains").into_response(),
        },
        Err(e) => {
            let failure = Failure::from(e);
            Notice::failed(
                "This invitation does not work",
                failure.sentence("The invitation"),
            )
            .within(&viewer.chrome)
            .with(failure.status)
        }
    }
}
