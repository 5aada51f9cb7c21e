//! `/account/sessions`: where the user is signed in, and ending those sessions.

use apex_core::Core;
use apex_core::auth::sessions;
use apex_core::ids::SessionId;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::page::{Chrome, Failure, Notice, failure_page, render, when};
use crate::request::{Empty, Posted};
use crate::session::Viewer;

/// A row of the list.
struct Row {
    id: SessionId,
    current: bool,
    created: String,
    last_seen: String,
    expires: String,
    ip: String,
    agent: String,
    impersonator: Option<String>,
}

#[derive(Template)]
#[template(path = "account_sessions.html")]
struct SessionsPage {
    chrome: Chrome,
    tab: &'static str,
    rows: Vec<Row>,
    ended: bool,
}

/// `?ended=1` after ending one.
#[derive(Deserialize, Default)]
pub(crate) struct SessionsQuery {
    #[serde(default)]
    ended: Option<String>,
}

/// `GET /account/sessions`.
pub(crate) async fn show(
    State(core): State<Core>,
    viewer: Viewer,
    Query(q): Query<SessionsQuery>,
) -> Response {
    let chrome = viewer.chrome.at("account");
    let list = match sessions::list(&core, &viewer.actor).await {
        Ok(l) => l,
        Err(e) => return failure_page(Failure::from(e), chrome),
    };
    let rows = list
        .into_iter()
        .map(|s| Row {
            id: s.id,
            current: s.current,
            created: when(&s.created_at),
            last_seen: when(&s.last_seen_at),
            expires: when(&s.expires_at),
            ip: s.source_ip.unwrap_or_else(|| "unknown".into()),
            agent: s.user_agent.unwrap_or_else(|| "unknown browser".into()),
            impersonator: s.impersonator,
        })
        .collect();
    render(
        StatusCode::OK,
        &SessionsPage {
            chrome,
            tab: "sessions",
            rows,
            ended: q.ended.is_some(),
        },
    )
}

/// `POST /account/sessions/{id}/revoke`: ends that session.
pub(crate) async fn revoke(
    State(core): State<Core>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Posted(Empty {}): Posted<Empty>,
) -> Response {
    match sessions::revoke(&core, &viewer.actor, SessionId(id)).await {
        Ok(()) if viewer.actor.session_id() == Some(SessionId(id)) => {
            signed_out(&core, Redirect::to("/login").into_response())
        }
        Ok(()) => Redirect::to("/account/sessions?ended=1").into_response(),
        Err(e) => failure_page(Failure::from(e), viewer.chrome.at("account")),
    }
}

/// `POST /account/sessions/end-all`: signs out everywhere, here too.
pub(crate) async fn end_all(
    State(core): State<Core>,
    viewer: Viewer,
    Posted(Empty {}): Posted<Empty>,
) -> Response {
    match sessions::sign_out_everywhere(&core, &viewer.actor).await {
        Ok(n) => signed_out(
            &core,
            Notice::ok(
                "Signed out everywhere",
                format!(
                    "{n} session{} ended, this one too. Sign in again to go on.",
                    if n == 1 { "" } else { "s" }
                ),
            )
            .then("/login", "Sign in")
            .with(StatusCode::OK),
        ),
        Err(e) => failure_page(Failure::from(e), viewer.chrome.at("account")),
    }
}

/// `response`, telling the browser to forget its session cookie (the session has ended).
fn signed_out(core: &Core, mut response: Response) -> Response {
    crate::session::clear_cookie(core, &mut response, sessions::COOKIE);
    // An administrator's session kept aside while impersonating goes with it.
    crate::session::clear_cookie(core, &mut response, crate::admin::ADMIN_COOKIE);
    response
}
