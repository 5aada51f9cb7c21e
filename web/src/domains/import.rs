//! `/domains/{name}/import`: a zone file (BIND, or a Cloudflare export) pasted, its dry-run
//! diff (added, removed, changed, warnings by line), then applied as one change; and
//! `/domains/{name}/export`, the zone file to download.

use apex_core::actor::Role;
use apex_core::zonefiles::{self, ImportMode, ImportOutcome};
use apex_core::{Core, CoreError};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{DomainHead, path_segment};
use crate::page::{Chrome, Errors, Failure, failure_page, render, sentence};
use crate::request::Posted;
use crate::session::Viewer;

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    chrome: Chrome,
    head: DomainHead,
    zone: String,
    replace: bool,
    /// The dry run's outcome, when previewing.
    preview: Option<ImportOutcome>,
    can_write: bool,
    errors: Errors,
    /// Problems in the file, by line.
    lines: Vec<String>,
}

/// The form: the file and how to apply it.
#[derive(Deserialize, Default)]
pub(crate) struct ImportForm {
    #[serde(default)]
    zone: String,
    /// An uploaded file's text (it wins over `zone` when both came).
    #[serde(default)]
    file: String,
    #[serde(default)]
    mode: String,
    /// Set by the preview's button: apply it.
    apply: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn page(
    core: &Core,
    viewer: &Viewer,
    name: &str,
    form: ImportForm,
    preview: Option<ImportOutcome>,
    errors: Errors,
    lines: Vec<String>,
    status: StatusCode,
) -> Response {
    let chrome = viewer.chrome.at("domains");
    let domain = match super::load(core, viewer, name).await {
        Ok(d) => d,
        Err(page) => return page,
    };
    let head = DomainHead::of(&domain, "import");
    render(
        status,
        &ImportPage {
            chrome,
            can_write: head.role.is_some_and(|r| r >= Role::Write),
            head,
            replace: form.mode == "replace",
            zone: form.zone,
            preview,
            errors,
            lines,
        },
    )
}

/// `GET /domains/{name}/import`.
pub(crate) async fn show(
    State(core): State<Core>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> Response {
    page(
        &core,
        &viewer,
        &name,
        ImportForm::default(),
        None,
        Errors::default(),
        Vec::new(),
        StatusCode::OK,
    )
    .await
}

/// `POST /domains/{name}/import`: without `apply`, the dry run; with it, the import.
pub(crate) async fn submit(
    State(core): State<Core>,
    viewer: Viewer,
    Path(name): Path<String>,
    Posted(mut form): Posted<ImportForm>,
) -> Response {
    if !form.file.trim().is_empty() {
        form.zone = std::mem::take(&mut form.file);
    }
    let mode = if form.mode == "replace" {
        ImportMode::Replace
    } else {
        ImportMode::Merge
    };
    let dry_run = form.apply.is_none();
    match zonefiles::import(
        &core,
        &viewer.actor,
        &name,
        form.zone.as_bytes(),
        mode,
        dry_run,
    )
    .await
    {
        Ok(outcome) if dry_run => {
            page(
                &core,
                &viewer,
                &name,
                form,
                Some(outcome),
                Errors::default(),
                Vec::new(),
                StatusCode::OK,
            )
            .await
        }
        Ok(outcome) => match outcome.change {
            Some(change) => Redirect::to(&format!(
                "/domains/{}?change={}",
                path_segment(&name),
                change.id
            ))
            .into_response(),
            None => Redirect::to(&format!("/domains/{}", path_segment(&name))).into_response(),
        },
        Err(e) => {
            let lines = match &e {
                CoreError::ZoneFile(problems) => problems
                    .iter()
                    .map(|p| format!("line {}: {}", p.line, p.message))
                    .collect(),
                _ => Vec::new(),
            };
            let f = Failure::from(e);
            let errors = Errors::one(Some("zone"), sentence("The zone file", &f.message));
            page(&core, &viewer, &name, form, None, errors, lines, f.status).await
        }
    }
}

/// `GET /domains/{name}/export`: the zone file, as a download.
pub(crate) async fn export(
    State(core): State<Core>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> Response {
    match zonefiles::export(&core, &viewer.actor, &name).await {
        Ok((text, _)) => {
            let file = format!(
                "attachment; filename=\"{}.zone\"",
                name.trim_end_matches('.').replace(['"', '\\', '/'], "")
            );
            (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("text/dns; charset=utf-8"),
                    ),
                    (
                        header::CONTENT_DISPOSITION,
                        HeaderValue::from_str(&file)
                            .unwrap_or(HeaderValue::from_static("attachment")),
                    ),
                ],
                text,
            )
                .into_response()
        }
        Err(e) => failure_page(Failure::from(e), viewer.chrome.at("domains")),
    }
}
