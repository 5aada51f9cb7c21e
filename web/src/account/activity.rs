//! `/account/activity`: the events of one's own account (sign-ins, failed ones too, keys,
//! second factor, memberships), newest first: what `GET /api/v1/audit` answers.

use apex_core::Core;
use apex_core::audit::{self, AuditQuery};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use crate::events::EventRow;
use crate::page::{Chrome, Failure, failure_page, render};
use crate::session::Viewer;

/// Events per page.
const PER_PAGE: i64 = 50;

#[derive(Template)]
#[template(path = "account_activity.html")]
struct ActivityPage {
    chrome: Chrome,
    tab: &'static str,
    rows: Vec<EventRow>,
    older: Option<String>,
}

/// `?before=`.
#[derive(Deserialize)]
pub(crate) struct ActivityQuery {
    before: Option<i64>,
}

/// `GET /account/activity`.
pub(crate) async fn show(
    State(core): State<Core>,
    viewer: Viewer,
    Query(q): Query<ActivityQuery>,
) -> Response {
    let chrome = viewer.chrome.at("account");
    let query = AuditQuery {
        before: q.before,
        limit: Some(PER_PAGE),
        all: false,
        event: None,
    };
    match audit::list(&core, &viewer.actor, &query).await {
        Ok(page) => render(
            StatusCode::OK,
            &ActivityPage {
                chrome,
                tab: "activity",
                rows: page.events.into_iter().map(EventRow::from).collect(),
                older: page.next.map(|n| format!("/account/activity?before={n}")),
            },
        ),
        Err(e) => failure_page(Failure::from(e), chrome),
    }
}
