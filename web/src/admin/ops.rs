//! The platform's machinery: publishing and webhook jobs (and retrying one), how far behind
//! each fleet nameserver is, and the audit log of everyone's security events.

use apex_core::audit::{self, AuditQuery};
use apex_core::{Core, fleet, jobs};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::AdminHead;
use crate::events::EventRow;
use crate::page::{Chrome, Failure, failure_page, path_segment, query, render, when, when_opt};
use crate::request::Posted;
use crate::session::Viewer;

/// `?state=&retried=`.
#[derive(Deserialize, Default)]
pub(crate) struct JobsQuery {
    #[serde(default)]
    state: String,
    /// A job just retried.
    #[serde(default)]
    retried: String,
    /// Its signature ([`crate::csrf::sign_note`]): without it, no notice.
    #[serde(default)]
    sig: String,
}

/// A job as the page shows it.
struct JobRow {
    id: String,
    /// The retry form's action.
    retry: String,
    job: &'static str,
    state: &'static str,
    zone: String,
    attempts: i32,
    last_error: Option<String>,
    since: String,
    next_attempt: String,
}

#[derive(Template)]
#[template(path = "admin_jobs.html")]
struct JobsPage {
    chrome: Chrome,
    head: AdminHead,
    state: String,
    states: &'static [&'static str],
    rows: Vec<JobRow>,
    retried: String,
}

/// `GET /admin/jobs`.
pub(crate) async fn jobs(
    State(core): State<Core>,
    viewer: Viewer,
    Query(q): Query<JobsQuery>,
) -> Response {
    let chrome = viewer.chrome.at("admin");
    let state = q.state.trim().to_string();
    let list = match jobs::list(
        &core,
        &viewer.actor,
        (!state.is_empty()).then_some(state.as_str()),
    )
    .await
    {
        Ok(l) => l,
        Err(e) => return failure_page(Failure::from(e), chrome),
    };
    let rows = list
        .into_iter()
        .map(|j| JobRow {
            retry: format!("/admin/jobs/{}/retry", path_segment(&j.id)),
            id: j.id,
            job: j.job,
            state: j.state,
            zone: j.zone,
            attempts: j.attempts,
            last_error: j.last_error,
            since: when_opt(j.since.as_ref()),
            next_attempt: j
                .next_attempt_at
                .as_ref()
                .map_or_else(|| "as soon as a worker can".into(), when),
        })
        .collect();
    render(
        StatusCode::OK,
        &JobsPage {
            head: AdminHead::of(&viewer, "jobs"),
            chrome,
            state,
            states: &jobs::STATES,
            rows,
            retried: if crate::csrf::note_signed(&viewer.chrome.csrf, &q.retried, &q.sig) {
                q.retried
            } else {
                String::new()
            },
        },
    )
}

/// `?state=` kept across the retry.
#[derive(Deserialize)]
pub(crate) struct RetryForm {
    #[serde(default)]
    state: String,
}

/// `POST /admin/jobs/{id}/retry`: makes the job due now.
pub(crate) async fn retry(
    State(core): State<Core>,
    viewer: Viewer,
    Path(id): Path<String>,
    Posted(form): Posted<RetryForm>,
) -> Response {
    match jobs::retry(&core, &viewer.actor, &id).await {
        Ok(()) => Redirect::to(&format!(
            "/admin/jobs?{}",
            query(&[
                ("state", &form.state),
                ("retried", &id),
                ("sig", &crate::csrf::sign_note(&viewer.chrome.csrf, &id)),
            ])
        ))
        .into_response(),
        Err(e) => failure_page(Failure::from(e), viewer.chrome.at("admin")),
    }
}

/// A nameserver as the fleet page shows it.
struct NameserverRow {
    nameserver: String,
    versions: i64,
    domains: i64,
    since: String,
    last_seen: String,
}

#[derive(Template)]
#[template(path = "admin_fleet.html")]
struct FleetPage {
    chrome: Chrome,
    head: AdminHead,
    rows: Vec<NameserverRow>,
}

/// `GET /admin/fleet`.
pub(crate) async fn fleet(State(core): State<Core>, viewer: Viewer) -> Response {
    let chrome = viewer.chrome.at("admin");
    let lag = match fleet::status(&core, &viewer.actor).await {
        Ok(l) => l,
        Err(e) => return failure_page(Failure::from(e), chrome),
    };
    let rows = lag
        .into_iter()
        .map(|n| NameserverRow {
            nameserver: n.nameserver,
            versions: n.versions_waiting,
            domains: n.domains_waiting,
            since: when_opt(n.waiting_since.as_ref()),
            last_seen: when_opt(n.last_seen_at.as_ref()),
        })
        .collect();
    render(
        StatusCode::OK,
        &FleetPage {
            head: AdminHead::of(&viewer, "fleet"),
            chrome,
            rows,
        },
    )
}

/// `?event=&before=`.
#[derive(Deserialize, Default)]
pub(crate) struct AuditParams {
    #[serde(default)]
    event: String,
    before: Option<i64>,
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
struct AuditPage {
    chrome: Chrome,
    head: AdminHead,
    event: String,
    paged: bool,
    rows: Vec<EventRow>,
    first: String,
    next: Option<String>,
}

/// `GET /admin/audit`: everyone's events (apex-core asks for `view_audit`).
pub(crate) async fn audit(
    State(core): State<Core>,
    viewer: Viewer,
    Query(q): Query<AuditParams>,
) -> Response {
    let chrome = viewer.chrome.at("admin");
    let event = q.event.trim().to_string();
    let page = audit::list(
        &core,
        &viewer.actor,
        &AuditQuery {
            before: q.before,
            limit: None,
            all: true,
            event: (!event.is_empty()).then(|| event.clone()),
        },
    )
    .await;
    let page = match page {
        Ok(p) => p,
        Err(e) => return failure_page(Failure::from(e), chrome),
    };
    let rows: Vec<EventRow> = page.events.into_iter().map(EventRow::from).collect();
    let next = page.next.map(|n| {
        format!(
            "/admin/audit?{}",
            query(&[("event", &event), ("before", &n.to_string())])
        )
    });
    render(
        StatusCode::OK,
        &AuditPage {
            head: AdminHead::of(&viewer, "audit"),
            chrome,
            paged: q.before.is_some(),
            first: format!("/admin/audit?{}", query(&[("event", &event)])),
            event,
            rows,
            next,
        },
    )
}
