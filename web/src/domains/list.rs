//! `/domains`: every domain the viewer may see, searched, filtered and paged; and creating
//! one, optionally filled from a zone file.

use apex_core::actor::Role;
use apex_core::dnssec::State as Dnssec;
use apex_core::domain::{DomainView, ZoneState};
use apex_core::domains;
use apex_core::zonefiles;
use apex_core::{Core, CoreError};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{path_segment, role_name};
use crate::page::{Chrome, Errors, Failure, failure_page, query, render, sentence};
use crate::request::Posted;
use crate::session::Viewer;

/// Domains per page.
const PER_PAGE: usize = 50;

/// `?q=&role=&dnssec=&state=&page=`.
#[derive(Deserialize, Default)]
pub(crate) struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    dnssec: String,
    #[serde(default)]
    state: String,
    page: Option<usize>,
}

impl ListQuery {
    fn matches(&self, d: &DomainView) -> bool {
        let q = self.q.trim().to_lowercase();
        (q.is_empty() || d.name.contains(&q) || d.name_unicode.to_lowercase().contains(&q))
            && (self.role.is_empty() || d.role.map(Role::as_str) == Some(self.role.as_str()))
            && match self.dnssec.as_str() {
                "on" => d.dnssec != Dnssec::Off,
                "off" => d.dnssec == Dnssec::Off,
                _ => true,
            }
            && (self.state.is_empty() || d.state.as_str() == self.state)
    }

    /// This filter on another page.
    fn href(&self, page: usize) -> String {
        let page = page.to_string();
        let q = query(&[
            ("q", self.q.as_str()),
            ("role", &self.role),
            ("dnssec", &self.dnssec),
            ("state", &self.state),
            ("page", &page),
        ]);
        format!("/domains?{q}")
    }

    fn filtered(&self) -> bool {
        !(self.q.is_empty()
            && self.role.is_empty()
            && self.dnssec.is_empty()
            && self.state.is_empty())
    }
}

/// A row of the list.
struct Row {
    href: String,
    name: String,
    unicode: Option<String>,
    role: &'static str,
    dnssec: &'static str,
    state: &'static str,
    serial: u32,
}

#[derive(Template)]
#[template(path = "domains.html")]
struct ListPage {
    chrome: Chrome,
    q: ListQuery,
    rows: Vec<Row>,
    /// Domains the viewer has, in all.
    total: usize,
    /// Of those, matching the filter.
    matching: usize,
    page: usize,
    pages: usize,
    prev: Option<String>,
    next: Option<String>,
    signed: usize,
    pending: usize,
}

/// `GET /domains`.
pub(crate) async fn show(
    State(core): State<Core>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
) -> Response {
    let chrome = viewer.chrome.at("domains");
    let all = match domains::list(&core, &viewer.actor, &apex_core::page::Window::all()).await {
        Ok((all, _)) => all,
        Err(e) => return failure_page(Failure::from(e), chrome),
    };
    let total = all.len();
    let signed = all.iter().filter(|d| d.dnssec != Dnssec::Off).count();
    let pending = all.iter().filter(|d| d.state == ZoneState::Pending).count();
    let matching: Vec<&DomainView> = all.iter().filter(|d| q.matches(d)).collect();
    let pages = matching.len().div_ceil(PER_PAGE).max(1);
    let page = q.page.unwrap_or(1).clamp(1, pages);
    let rows = matching
        .iter()
        .skip((page - 1) * PER_PAGE)
        .take(PER_PAGE)
        .map(|d| Row {
            href: format!("/domains/{}", path_segment(&d.name)),
            name: d.name.clone(),
            unicode: (d.name_unicode != d.name).then(|| d.name_unicode.clone()),
            role: role_name(d.role),
            dnssec: d.dnssec.as_str(),
            state: d.state.as_str(),
            serial: d.serial,
        })
        .collect();
    let page_view = ListPage {
        prev: (page > 1).then(|| q.href(page - 1)),
        next: (page < pages).then(|| q.href(page + 1)),
        chrome,
        matching: matching.len(),
        q,
        rows,
        total,
        page,
        pages,
        signed,
        pending,
    };
    render(StatusCode::OK, &page_view)
}

#[derive(Template)]
#[template(path = "domain_new.html")]
struct NewPage {
    chrome: Chrome,
    name: String,
    zone: String,
    errors: Errors,
    /// Problems in the zone file, by line.
    lines: Vec<String>,
}

/// `GET /domains/new`.
pub(crate) async fn new(viewer: Viewer) -> Response {
    render(
        StatusCode::OK,
        &NewPage {
            chrome: viewer.chrome.at("domains"),
            name: String::new(),
            zone: String::new(),
            errors: Errors::default(),
            lines: Vec::new(),
        },
    )
}

#[derive(Deserialize)]
pub(crate) struct NewForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    zone: String,
    /// An uploaded file's text (it wins over `zone`).
    #[serde(default)]
    file: String,
}

/// `POST /domains`: creates the domain, filled from the zone file when one came, in one
/// transaction: a file that is refused (a line that does not parse, a rule over the whole
/// zone) leaves no domain, and the form shows the problems by line.
pub(crate) async fn create(
    State(core): State<Core>,
    viewer: Viewer,
    Posted(mut form): Posted<NewForm>,
) -> Response {
    if !form.file.trim().is_empty() {
        form.zone = std::mem::take(&mut form.file);
    }
    let chrome = viewer.chrome.at("domains");
    let again = |errors: Errors, lines: Vec<String>, status: StatusCode, form: NewForm| {
        render(
            status,
            &NewPage {
                chrome: chrome.clone(),
                name: form.name,
                zone: form.zone,
                errors,
                lines,
            },
        )
    };
    let created = if form.zone.trim().is_empty() {
        domains::create(&core, &viewer.actor, &form.name).await
    } else {
        zonefiles::create_from(&core, &viewer.actor, &form.name, form.zone.as_bytes()).await
    };
    match created {
        Ok((domain, change)) => Redirect::to(&format!(
            "/domains/{}/changes/{}",
            path_segment(&domain.name),
            change.id
        ))
        .into_response(),
        Err(e) => {
            let lines = match &e {
                CoreError::ZoneFile(problems) => problems
                    .iter()
                    .map(|p| format!("line {}: {}", p.line, p.message))
                    .collect(),
                _ => Vec::new(),
            };
            let f = Failure::from(e);
            let errors = match f.field.as_deref() {
                Some("name") | None if lines.is_empty() => {
                    Errors::one(Some("name"), f.sentence("The domain name"))
                }
                _ => Errors::one(Some("zone"), sentence("The zone file", &f.message)),
            };
            again(errors, lines, f.status, form)
        }
    }
}
