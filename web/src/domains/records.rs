//! A domain's records: the list (grouped by name and type, searched, filtered, paged), the
//! forms to add and edit one, and deleting one or several.

use apex_core::Core;
use apex_core::ids::{ChangeId, RecordId};
use apex_core::records::{self, RecordFilter, RecordPatch};
use askama::Template;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::form::{RecordFields, TTL_PRESETS, TYPES};
use super::receipt::Receipt;
use super::{DomainHead, path_segment};
use crate::csrf;
use crate::page::{Chrome, Errors, Failure, failure_page, query, render};
use crate::request::Posted;
use crate::session::Viewer;

/// Records per page.
const PER_PAGE: i64 = 100;

/// `?q=&type=&page=&change=&warning=`.
#[derive(Deserialize, Default)]
pub(crate) struct RecordsQuery {
    #[serde(default)]
    q: String,
    #[serde(default, rename = "type")]
    rtype: String,
    page: Option<i64>,
    /// A change just made: its receipt is shown at the top.
    change: Option<i64>,
    /// Remarks about the record just saved.
    #[serde(default)]
    warning: Vec<String>,
    /// Their signature ([`csrf::sign_note`]): without it, they are not shown.
    #[serde(default)]
    sig: String,
}

/// A row of the list.
struct Row {
    id: RecordId,
    /// The first record of its name and type: the name and type are shown.
    first: bool,
    name: String,
    rtype: String,
    ttl: u32,
    content: String,
    comment: Option<String>,
    /// Kept, not published.
    disabled: bool,
}

#[derive(Template)]
#[template(path = "records.html")]
struct RecordsPage {
    chrome: Chrome,
    head: DomainHead,
    rows: Vec<Row>,
    q: String,
    rtype: String,
    types: Vec<(String, i64)>,
    all_types: &'static [(&'static str, &'static str)],
    total: i64,
    page: i64,
    pages: i64,
    prev: Option<String>,
    next: Option<String>,
    receipt: Option<Receipt>,
    warnings: Vec<String>,
}

fn list_href(name: &str, q: &str, rtype: &str, page: i64) -> String {
    let page = page.to_string();
    format!(
        "/domains/{}?{}",
        path_segment(name),
        query(&[("q", q), ("type", rtype), ("page", &page)])
    )
}

/// `GET /domains/{name}`.
pub(crate) async fn show(
    State(core): State<Core>,
    viewer: Viewer,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    // Repeated `warning=` fields: the same parser as the forms' (axum's `Query` takes one).
    let q: RecordsQuery =
        serde_html_form::from_str(raw.as_deref().unwrap_or_default()).unwrap_or_default();
    let chrome = viewer.chrome.at("domains");
    let domain = match super::load(&core, &viewer, &name).await {
        Ok(d) => d,
        Err(page) => return page,
    };
    let page = q.page.unwrap_or(1).clamp(1, i64::MAX / PER_PAGE);
    let filter = RecordFilter {
        search: Some(q.q.clone()),
        rtype: Some(q.rtype.clone()),
        offset: (page - 1) * PER_PAGE,
        limit: PER_PAGE,
    };
    let found = match records::page(&core, &viewer.actor, &domain.name, &filter).await {
        Ok(p) => p,
        Err(e) => return failure_page(Failure::from(e), chrome),
    };
    let receipt = match q.change {
        Some(id) => Receipt::load(&core, &viewer.actor, &domain.name, ChangeId(id))
            .await
            .ok(),
        None => None,
    };
    if found.records.is_empty() && page > 1 {
        // Past the last page (the zone shrank, or a typed URL): to the first.
        return Redirect::to(&list_href(&domain.name, &q.q, &q.rtype, 1)).into_response();
    }
    let pages = (found.total + PER_PAGE - 1).div_euclid(PER_PAGE).max(1);
    let mut rows = Vec::with_capacity(found.records.len());
    let mut last: Option<(String, String)> = None;
    for r in found.records {
        let key = (r.fqdn.clone(), r.rtype.clone());
        let first = last.as_ref() != Some(&key);
        last = Some(key);
        rows.push(Row {
            id: r.id,
            first,
            name: r.name_unicode.unwrap_or(r.name),
            content: r.text.map_or(r.content, |t| format!("\u{201c}{t}\u{201d}")),
            rtype: r.rtype,
            ttl: r.ttl,
            comment: r.comment,
            disabled: r.disabled,
        });
    }
    let view = RecordsPage {
        prev: (page > 1).then(|| list_href(&domain.name, &q.q, &q.rtype, page - 1)),
        next: (page < pages).then(|| list_href(&domain.name, &q.q, &q.rtype, page + 1)),
        head: DomainHead::of(&domain, "records"),
        chrome,
        rows,
        q: q.q,
        rtype: q.rtype,
        types: found.types,
        all_types: TYPES,
        total: found.total,
        page,
        pages,
        receipt,
        warnings: if csrf::note_signed(&viewer.chrome.csrf, &q.warning.join("\n"), &q.sig) {
            q.warning
        } else {
            Vec::new()
        },
    };
    render(StatusCode::OK, &view)
}

/// `GET /domains/{name}/records`: the list is the domain's page.
pub(crate) async fn show_redirect(Path(name): Path<String>) -> Redirect {
    Redirect::to(&format!("/domains/{}", path_segment(&name)))
}

/// The add and edit form.
#[derive(Template)]
#[template(path = "record_form.html")]
struct FormPage {
    chrome: Chrome,
    head: DomainHead,
    /// `None` for a new record.
    id: Option<RecordId>,
    f: RecordFields,
    kind: &'static str,
    presets: &'static [(u32, &'static str)],
    errors: Errors,
}

impl FormPage {
    /// The form's action.
    fn action(&self) -> String {
        match self.id {
            Some(id) => format!("/domains/{}/records/{id}", path_segment(&self.head.name)),
            None => format!("/domains/{}/records", path_segment(&self.head.name)),
        }
    }

    /// `aria-describedby` and `aria-invalid` for input `id`, with hint `hint` if any.
    fn described(&self, id: &str, hint: bool) -> String {
        self.errors.described(id, hint)
    }
}

async fn form_page(
    core: &Core,
    viewer: &Viewer,
    name: &str,
    id: Option<RecordId>,
    f: RecordFields,
    errors: Errors,
    status: StatusCode,
) -> Response {
    let chrome = viewer.chrome.at("domains");
    let domain = match super::load(core, viewer, name).await {
        Ok(d) => d,
        Err(page) => return page,
    };
    render(
        status,
        &FormPage {
            chrome,
            head: DomainHead::of(&domain, "records"),
            id,
            kind: f.kind().as_str(),
            f,
            presets: TTL_PRESETS,
            errors,
        },
    )
}

/// `?type=MX`.
#[derive(Deserialize)]
pub(crate) struct NewQuery {
    #[serde(default, rename = "type")]
    rtype: String,
}

/// `GET /domains/{name}/records/new?type=…`.
pub(crate) async fn new(
    State(core): State<Core>,
    viewer: Viewer,
    Path(name): Path<String>,
    Query(q): Query<NewQuery>,
) -> Response {
    let rtype = if q.rtype.trim().is_empty() {
        "A"
    } else {
        &q.rtype
    };
    let f = RecordFields::blank(rtype);
    form_page(
        &core,
        &viewer,
        &name,
        None,
        f,
        Errors::default(),
        StatusCode::OK,
    )
    .await
}

/// apex-core's error about a record form, next to the field it is about.
fn field_errors(f: &RecordFields, e: apex_core::CoreError) -> (Errors, StatusCode) {
    let failure = Failure::from(e);
    let field = failure.field.as_deref().and_then(|c| f.field_of(c));
    let text = failure.sentence(field.map_or("The record", RecordFields::label));
    (Errors::one(field, text), failure.status)
}

/// Back to the list with the change's receipt (and any remarks) at the top.
fn saved(viewer: &Viewer, name: &str, change: ChangeId, warnings: &[String]) -> Response {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    s.append_pair("change", &change.to_string());
    for w in warnings {
        s.append_pair("warning", w);
    }
    if !warnings.is_empty() {
        s.append_pair(
            "sig",
            &csrf::sign_note(&viewer.chrome.csrf, &warnings.join("\n")),
        );
    }
    Redirect::to(&format!("/domains/{}?{}", path_segment(name), s.finish())).into_response()
}

/// `POST /domains/{name}/records`: adds the record.
pub(crate) async fn create(
    State(core): State<Core>,
    viewer: Viewer,
    Path(name): Path<String>,
    Posted(f): Posted<RecordFields>,
) -> Response {
    let zone = super::zone_text(&name);
    let input = match f.input(&zone) {
        Ok(i) => i,
        Err(errors) => {
            return form_page(
                &core,
                &viewer,
                &name,
                None,
                f,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    match records::create(&core, &viewer.actor, &name, &input).await {
        Ok((_, change, warnings)) => saved(&viewer, &name, change.id, &warnings),
        Err(e) => {
            let (errors, status) = field_errors(&f, e);
            form_page(&core, &viewer, &name, None, f, errors, status).await
        }
    }
}

/// `GET /domains/{name}/records/{id}`: the edit form.
pub(crate) async fn edit(
    State(core): State<Core>,
    viewer: Viewer,
    Path((name, id)): Path<(String, i64)>,
) -> Response {
    match records::get(&core, &viewer.actor, &name, RecordId(id)).await {
        Ok(r) => {
            let f = RecordFields::of(&r);
            form_page(
                &core,
                &viewer,
                &name,
                Some(r.id),
                f,
                Errors::default(),
                StatusCode::OK,
            )
            .await
        }
        Err(e) => failure_page(Failure::from(e), viewer.chrome.at("domains")),
    }
}

/// `POST /domains/{name}/records/{id}`: saves the edit.
pub(crate) async fn update(
    State(core): State<Core>,
    viewer: Viewer,
    Path((name, id)): Path<(String, i64)>,
    Posted(f): Posted<RecordFields>,
) -> Response {
    let id = RecordId(id);
    let zone = super::zone_text(&name);
    let input = match f.input(&zone) {
        Ok(i) => i,
        Err(errors) => {
            return form_page(
                &core,
                &viewer,
                &name,
                Some(id),
                f,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let patch = RecordPatch {
        name: Some(input.name),
        rtype: Some(input.rtype),
        ttl: input.ttl,
        content: Some(input.content),
        comment: Some(input.comment.unwrap_or_default()),
        disabled: Some(input.disabled),
    };
    match records::update(&core, &viewer.actor, &name, id, &patch).await {
        Ok((_, change, warnings)) => saved(&viewer, &name, change.id, &warnings),
        Err(e) => {
            let (errors, status) = field_errors(&f, e);
            form_page(&core, &viewer, &name, Some(id), f, errors, status).await
        }
    }
}

/// Deleting: the boxes ticked (`id`), or one row's button (`one`); `confirm` once the
/// person has seen what goes.
#[derive(Deserialize)]
pub(crate) struct DeleteForm {
    #[serde(default)]
    id: Vec<i64>,
    one: Option<i64>,
    confirm: Option<String>,
}

#[derive(Template)]
#[template(path = "record_delete.html")]
struct DeletePage {
    chrome: Chrome,
    head: DomainHead,
    rows: Vec<Row>,
}

/// `POST /domains/{name}/records/delete`: first shows what would go, then deletes it, all
/// in one change.
pub(crate) async fn delete(
    State(core): State<Core>,
    viewer: Viewer,
    Path(name): Path<String>,
    Posted(form): Posted<DeleteForm>,
) -> Response {
    let chrome = viewer.chrome.at("domains");
    let ids: Vec<RecordId> = match form.one {
        Some(one) => vec![RecordId(one)],
        None => form.id.iter().copied().map(RecordId).collect(),
    };
    if ids.is_empty() {
        return Redirect::to(&format!("/domains/{}", path_segment(&name))).into_response();
    }
    if form.confirm.is_some() {
        return match records::delete_many(&core, &viewer.actor, &name, &ids).await {
            Ok(change) => saved(&viewer, &name, change.id, &[]),
            Err(e) => failure_page(Failure::from(e), chrome),
        };
    }
    let domain = match super::load(&core, &viewer, &name).await {
        Ok(d) => d,
        Err(page) => return page,
    };
    let mut rows = Vec::new();
    for id in ids {
        match records::get(&core, &viewer.actor, &name, id).await {
            Ok(r) => rows.push(Row {
                id: r.id,
                first: true,
                name: r.name_unicode.unwrap_or(r.name),
                rtype: r.rtype,
                ttl: r.ttl,
                content: r.content,
                comment: r.comment,
                disabled: r.disabled,
            }),
            Err(e) => return failure_page(Failure::from(e), chrome),
        }
    }
    render(
        StatusCode::OK,
        &DeletePage {
            chrome,
            head: DomainHead::of(&domain, "records"),
            rows,
        },
    )
}
