//! `/domains/{name}/webhooks`: the domain's webhooks (created with their secret shown once,
//! disabled and enabled again, deleted), and each one's deliveries.

use apex_core::Core;
use apex_core::actor::Role;
use apex_core::ids::WebhookId;
use apex_core::webhooks::{self, CreatedWebhook, DeliveryView, NewWebhook, WebhookView};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{DomainHead, path_segment};
use crate::page::{Chrome, Errors, Failure, failure_page, render};
use crate::request::{Empty, Posted};
use crate::session::Viewer;

/// Deliveries listed per webhook.
const DELIVERIES: i64 = 100;

#[derive(Template)]
#[template(path = "webhooks.html")]
struct WebhooksPage {
    chrome: Chrome,
    head: DomainHead,
    hooks: Vec<WebhookView>,
    admin: bool,
    /// Just made: its secret, shown this once.
    created: Option<CreatedWebhook>,
    f: HookForm,
    events: &'static [&'static str],
    errors: Errors,
}

impl WebhooksPage {
    fn chosen(&self, event: &&str) -> bool {
        self.f.events.is_empty() || self.f.events.iter().any(|e| e == event)
    }
}

/// The form for a new webhook.
#[derive(Default, Deserialize)]
pub(crate) struct HookForm {
    #[serde(default)]
    url: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    events: Vec<String>,
}

#[allow(clippy::too_many_arguments)]
async fn page(
    core: &Core,
    viewer: &Viewer,
    name: &str,
    created: Option<CreatedWebhook>,
    f: HookForm,
    errors: Errors,
    status: StatusCode,
) -> Response {
    let chrome = viewer.chrome.at("domains");
    let domain = match super::load(core, viewer, name).await {
        Ok(d) => d,
        Err(page) => return page,
    };
    let hooks =
        match webhooks::list(core, &viewer.actor, name, &apex_core::page::Window::all()).await {
            Ok(h) => h,
            Err(e) => return failure_page(Failure::from(e), chrome),
        };
    let head = DomainHead::of(&domain, "webhooks");
    render(
        status,
        &WebhooksPage {
            chrome,
            admin: head.role.is_some_and(|r| r >= Role::Admin),
            head,
            hooks,
            created,
            f,
            events: &webhooks::EVENTS,
            errors,
        },
    )
}

/// `GET /domains/{name}/webhooks`.
pub(crate) async fn show(
    State(core): State<Core>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> Response {
    page(
        &core,
        &viewer,
        &name,
        None,
        HookForm::default(),
        Errors::default(),
        StatusCode::OK,
    )
    .await
}

/// `POST /domains/{name}/webhooks`: creates one; the page shows its secret this once.
pub(crate) async fn create(
    State(core): State<Core>,
    viewer: Viewer,
    Path(name): Path<String>,
    Posted(f): Posted<HookForm>,
) -> Response {
    let new = NewWebhook {
        url: f.url.trim().to_string(),
        events: Some(f.events.clone()).filter(|e| !e.is_empty()),
        description: Some(f.description.clone()).filter(|d| !d.trim().is_empty()),
    };
    match webhooks::create(&core, &viewer.actor, &name, &new).await {
        Ok(created) => {
            page(
                &core,
                &viewer,
                &name,
                Some(created),
                HookForm::default(),
                Errors::default(),
                StatusCode::CREATED,
            )
            .await
        }
        Err(e) => {
            let fl = Failure::from(e);
            let (id, label) = match fl.field.as_deref() {
                Some("url") => (Some("url"), "URL"),
                Some("events") => (Some("events"), "Events"),
                Some("description") => (Some("description"), "Description"),
                _ => (None, "The webhook"),
            };
            let errors = Errors::one(id, fl.sentence(label));
            page(&core, &viewer, &name, None, f, errors, fl.status).await
        }
    }
}

/// `POST /domains/{name}/webhooks/{id}/enable` and `…/disable`.
pub(crate) async fn set_enabled(
    core: &Core,
    viewer: &Viewer,
    name: &str,
    id: i64,
    enabled: bool,
) -> Response {
    let patch = webhooks::WebhookPatch { enabled };
    match webhooks::set_enabled(core, &viewer.actor, name, WebhookId(id), &patch).await {
        Ok(_) => Redirect::to(&format!("/domains/{}/webhooks", path_segment(name))).into_response(),
        Err(e) => failure_page(Failure::from(e), viewer.chrome.at("domains")),
    }
}

/// `POST /domains/{name}/webhooks/{id}/enable`.
pub(crate) async fn enable(
    State(core): State<Core>,
    viewer: Viewer,
    Path((name, id)): Path<(String, i64)>,
    Posted(_): Posted<Empty>,
) -> Response {
    set_enabled(&core, &viewer, &name, id, true).await
}

/// `POST /domains/{name}/webhooks/{id}/disable`.
pub(crate) async fn disable(
    State(core): State<Core>,
    viewer: Viewer,
    Path((name, id)): Path<(String, i64)>,
    Posted(_): Posted<Empty>,
) -> Response {
    set_enabled(&core, &viewer, &name, id, false).await
}

/// `POST /domains/{name}/webhooks/{id}/delete`.
pub(crate) async fn delete(
    State(core): State<Core>,
    viewer: Viewer,
    Path((name, id)): Path<(String, i64)>,
    Posted(_): Posted<Empty>,
) -> Response {
    match webhooks::delete(&core, &viewer.actor, &name, WebhookId(id)).await {
        Ok(_) => {
            Redirect::to(&format!("/domains/{}/webhooks", path_segment(&name))).into_response()
        }
        Err(e) => failure_page(Failure::from(e), viewer.chrome.at("domains")),
    }
}

#[derive(Template)]
#[template(path = "deliveries.html")]
struct DeliveriesPage {
    chrome: Chrome,
    head: DomainHead,
    hook: WebhookView,
    deliveries: Vec<DeliveryView>,
}

/// `GET /domains/{name}/webhooks/{id}`: the webhook and its deliveries, newest first.
pub(crate) async fn deliveries(
    State(core): State<Core>,
    viewer: Viewer,
    Path((name, id)): Path<(String, i64)>,
) -> Response {
    let chrome = viewer.chrome.at("domains");
    let domain = match super::load(&core, &viewer, &name).await {
        Ok(d) => d,
        Err(page) => return page,
    };
    let id = WebhookId(id);
    let found = match webhooks::get(&core, &viewer.actor, &name, id).await {
        Ok(h) => h,
        Err(e) => return failure_page(Failure::from(e), chrome),
    };
    match webhooks::deliveries(
        &core,
        &viewer.actor,
        &name,
        id,
        &apex_core::page::Window::new(None, DELIVERIES),
    )
    .await
    {
        Ok(deliveries) => render(
            StatusCode::OK,
            &DeliveriesPage {
                chrome,
                head: DomainHead::of(&domain, "webhooks"),
                hook: found,
                deliveries,
            },
        ),
        Err(e) => failure_page(Failure::from(e), chrome),
    }
}
