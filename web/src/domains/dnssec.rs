//! `/domains/{name}/dnssec`: turning signing on (algorithm, denial, key layout) or off, the
//! state, the DS records to give the registrar (with copy buttons), the CDS status, and in
//! plain words what to do at the registrar.

use apex_core::actor::Role;
use apex_core::authz::Action;
use apex_core::dnssec::{self, Patch, State as Signing};
use apex_core::domain;
use apex_core::settings::SettingsPatch;
use apex_core::{Core, domains};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{DomainHead, path_segment};
use crate::page::{Chrome, Errors, Failure, failure_page, render};
use crate::request::Posted;
use crate::session::Viewer;

#[derive(Template)]
#[template(path = "dnssec.html")]
struct DnssecPage {
    chrome: Chrome,
    head: DomainHead,
    view: dnssec::View,
    /// `off`, `signed`, `disabling`.
    state: &'static str,
    /// Hours a zone turned off keeps signing (the CDS delete records are out meanwhile).
    removal_hours: u32,
    can_change: bool,
    errors: Errors,
}

async fn page(
    core: &Core,
    viewer: &Viewer,
    name: &str,
    errors: Errors,
    status: StatusCode,
) -> Response {
    let chrome = viewer.chrome.at("domains");
    let domain = match domain::load(&core.pool, &viewer.actor, name, Action::Read).await {
        Ok(d) => d,
        Err(e) => return failure_page(Failure::from(e), chrome),
    };
    let view =
        match dnssec::view(&core.pool, domain.id, &domain.zone, &domain.settings.dnssec).await {
            Ok(v) => v,
            Err(e) => return failure_page(Failure::from(e), chrome),
        };
    let head = DomainHead::of(&domain.view(core), "dnssec");
    render(
        status,
        &DnssecPage {
            can_change: head.role.is_some_and(|r| r >= Role::Admin),
            head,
            chrome,
            state: match view.state {
                Signing::Off => "off",
                Signing::Signed => "signed",
                Signing::Disabling => "disabling",
            },
            view,
            removal_hours: core.platform.dnssec.removal / 3600,
            errors,
        },
    )
}

/// `GET /domains/{name}/dnssec`.
pub(crate) async fn show(
    State(core): State<Core>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> Response {
    page(&core, &viewer, &name, Errors::default(), StatusCode::OK).await
}

/// Turning on (with choices) or off (`force`: at once).
#[derive(Deserialize)]
pub(crate) struct DnssecForm {
    enabled: String,
    algorithm: Option<String>,
    denial: Option<String>,
    keys: Option<String>,
    force: Option<String>,
}

/// `POST /domains/{name}/dnssec`: the same settings change as `PATCH /api/v1/domains/{name}`.
pub(crate) async fn update(
    State(core): State<Core>,
    viewer: Viewer,
    Path(name): Path<String>,
    Posted(form): Posted<DnssecForm>,
) -> Response {
    let on = form.enabled == "true";
    let patch = SettingsPatch {
        dnssec: Some(Patch {
            enabled: Some(on),
            algorithm: form.algorithm.filter(|_| on),
            denial: form.denial.filter(|_| on),
            keys: form.keys.filter(|_| on),
            force: (!on && form.force.is_some()).then_some(true),
        }),
        ..SettingsPatch::default()
    };
    match domains::update(&core, &viewer.actor, &name, &patch).await {
        Ok((domain, _)) => {
            Redirect::to(&format!("/domains/{}/dnssec", path_segment(&domain.name))).into_response()
        }
        Err(e) => {
            let f = Failure::from(e);
            let errors = Errors::one(None, f.sentence("DNSSEC"));
            page(&core, &viewer, &name, errors, f.status).await
        }
    }
}
