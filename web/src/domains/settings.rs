//! `/domains/{name}/settings`: the SOA timers and serial policy, the domain's own secondary
//! nameservers, and deleting the domain (the owner, typing its name).

use apex_core::actor::Role;
use apex_core::domain::DomainView;
use apex_core::domains;
use apex_core::secondaries::SecondaryInput;
use apex_core::settings::{SettingsPatch, SoaPatch};
use apex_core::{Core, CoreError};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{DomainHead, path_segment};
use crate::page::{Chrome, Errors, Failure, failure_page, render};
use crate::request::Posted;
use crate::session::Viewer;

/// What the forms show: the values typed (after a refusal) or the domain's.
#[derive(Default, Deserialize)]
pub(crate) struct SettingsForm {
    #[serde(default)]
    refresh: String,
    #[serde(default)]
    retry: String,
    #[serde(default)]
    expire: String,
    #[serde(default)]
    minimum: String,
    #[serde(default)]
    ttl: String,
    #[serde(default)]
    serial_policy: String,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    chrome: Chrome,
    head: DomainHead,
    f: SettingsForm,
    /// One secondary per line: host, then addresses.
    secondaries: String,
    nameservers: Vec<String>,
    mname: String,
    rname: String,
    admin: bool,
    owner: bool,
    saved: bool,
    errors: Errors,
}

fn form_of(d: &DomainView) -> SettingsForm {
    SettingsForm {
        refresh: d.soa.refresh.to_string(),
        retry: d.soa.retry.to_string(),
        expire: d.soa.expire.to_string(),
        minimum: d.soa.minimum.to_string(),
        ttl: d.soa.ttl.to_string(),
        serial_policy: d.serial_policy.to_string(),
    }
}

fn secondaries_text(d: &DomainView) -> String {
    d.secondaries
        .iter()
        .map(|s| {
            let mut line = s.host.clone();
            for a in &s.addresses {
                line.push(' ');
                line.push_str(&a.to_string());
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[allow(clippy::too_many_arguments)]
async fn page(
    core: &Core,
    viewer: &Viewer,
    name: &str,
    typed: Option<SettingsForm>,
    secondaries: Option<String>,
    saved: bool,
    errors: Errors,
    status: StatusCode,
) -> Response {
    let chrome = viewer.chrome.at("domains");
    let domain = match super::load(core, viewer, name).await {
        Ok(d) => d,
        Err(page) => return page,
    };
    let head = DomainHead::of(&domain, "settings");
    render(
        status,
        &SettingsPage {
            chrome,
            admin: head.role.is_some_and(|r| r >= Role::Admin),
            owner: head.role == Some(Role::Owner),
            head,
            f: typed.unwrap_or_else(|| form_of(&domain)),
            secondaries: secondaries.unwrap_or_else(|| secondaries_text(&domain)),
            nameservers: domain.nameservers.clone(),
            mname: domain.soa.mname.clone(),
            rname: domain.soa.rname.clone(),
            saved,
            errors,
        },
    )
}

#[derive(Deserialize)]
pub(crate) struct SavedQuery {
    saved: Option<String>,
}

/// `GET /domains/{name}/settings`.
pub(crate) async fn show(
    State(core): State<Core>,
    viewer: Viewer,
    Path(name): Path<String>,
    Query(q): Query<SavedQuery>,
) -> Response {
    page(
        &core,
        &viewer,
        &name,
        None,
        None,
        q.saved.is_some(),
        Errors::default(),
        StatusCode::OK,
    )
    .await
}

/// The input an apex-core error about `field` (`soa.refresh` …) belongs next to.
fn input_of(field: Option<&str>) -> Option<&'static str> {
    match field? {
        "soa.refresh" => Some("refresh"),
        "soa.retry" => Some("retry"),
        "soa.expire" => Some("expire"),
        "soa.minimum" => Some("minimum"),
        "soa.ttl" => Some("ttl"),
        "serial_policy" => Some("serial_policy"),
        f if f.starts_with("secondaries") => Some("secondaries"),
        _ => None,
    }
}

/// A timer as typed: empty is the platform's default.
fn timer(typed: &str, id: &'static str, errors: &mut Errors) -> Option<Option<i64>> {
    match typed.trim() {
        "" => Some(None),
        t => match t.parse::<i64>() {
            Ok(v) => Some(Some(v)),
            Err(_) => {
                errors.push(
                    Some(id),
                    "Type a number of seconds, or leave it empty for the platform's default.",
                );
                None
            }
        },
    }
}

fn saved(name: &str) -> Response {
    Redirect::to(&format!("/domains/{}/settings?saved=1", path_segment(name))).into_response()
}

async fn apply(
    core: &Core,
    viewer: &Viewer,
    name: &str,
    patch: SettingsPatch,
) -> Result<(), (Errors, StatusCode)> {
    domains::update(core, &viewer.actor, name, &patch)
        .await
        .map(|_| ())
        .map_err(|e| {
            let f = Failure::from(e);
            let id = input_of(f.field.as_deref());
            let text = f.sentence(match id {
                Some("secondaries") => "Secondaries",
                Some("serial_policy") => "Serial policy",
                Some(_) => "This timer",
                None => "The change",
            });
            (Errors::one(id, text), f.status)
        })
}

/// `POST /domains/{name}/settings`: the SOA timers and the serial policy.
pub(crate) async fn update(
    State(core): State<Core>,
    viewer: Viewer,
    Path(name): Path<String>,
    Posted(f): Posted<SettingsForm>,
) -> Response {
    let mut errors = Errors::default();
    let soa = SoaPatch {
        refresh: timer(&f.refresh, "refresh", &mut errors),
        retry: timer(&f.retry, "retry", &mut errors),
        expire: timer(&f.expire, "expire", &mut errors),
        minimum: timer(&f.minimum, "minimum", &mut errors),
        ttl: timer(&f.ttl, "ttl", &mut errors),
    };
    if !errors.is_empty() {
        return page(
            &core,
            &viewer,
            &name,
            Some(f),
            None,
            false,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let patch = SettingsPatch {
        serial_policy: Some(f.serial_policy.clone()),
        soa: Some(soa),
        ..SettingsPatch::default()
    };
    match apply(&core, &viewer, &name, patch).await {
        Ok(()) => saved(&name),
        Err((errors, status)) => {
            page(&core, &viewer, &name, Some(f), None, false, errors, status).await
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct SecondariesForm {
    #[serde(default)]
    secondaries: String,
}

/// `POST /domains/{name}/secondaries`: the whole list, one per line (`host address…`).
pub(crate) async fn secondaries(
    State(core): State<Core>,
    viewer: Viewer,
    Path(name): Path<String>,
    Posted(form): Posted<SecondariesForm>,
) -> Response {
    let list: Vec<SecondaryInput> = form
        .secondaries
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|w| !w.is_empty())
        .map(|w| SecondaryInput {
            host: w[0].to_string(),
            addresses: w[1..].iter().map(ToString::to_string).collect(),
        })
        .collect();
    let patch = SettingsPatch {
        secondaries: Some(list),
        ..SettingsPatch::default()
    };
    match apply(&core, &viewer, &name, patch).await {
        Ok(()) => saved(&name),
        Err((errors, status)) => {
            page(
                &core,
                &viewer,
                &name,
                None,
                Some(form.secondaries),
                false,
                errors,
                status,
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct DeleteForm {
    #[serde(default)]
    confirm_name: String,
}

/// `POST /domains/{name}/delete`: deletes the domain once its name was typed.
pub(crate) async fn delete(
    State(core): State<Core>,
    viewer: Viewer,
    Path(name): Path<String>,
    Posted(form): Posted<DeleteForm>,
) -> Response {
    let typed = form
        .confirm_name
        .trim()
        .trim_end_matches('.')
        .to_lowercase();
    let wanted = super::zone_text(&name);
    if typed != wanted {
        let errors = Errors::one(Some("confirm_name"), format!("Type {wanted} to confirm."));
        return page(
            &core,
            &viewer,
            &name,
            None,
            None,
            false,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    match domains::delete(&core, &viewer.actor, &name).await {
        Ok(_) => Redirect::to("/domains").into_response(),
        Err(e @ CoreError::Forbidden(_)) => {
            failure_page(Failure::from(e), viewer.chrome.at("domains"))
        }
        Err(e) => {
            let f = Failure::from(e);
            let errors = Errors::one(Some("confirm_name"), f.sentence("Deleting"));
            page(&core, &viewer, &name, None, None, false, errors, f.status).await
        }
    }
}
