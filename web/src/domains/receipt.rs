//! A change's receipt: committed → published → served by N of N nameservers. The page
//! reloads itself until the change is served everywhere (no JavaScript needed); with
//! JavaScript, `apex.js` follows `…/state` instead and updates the steps in place.

use apex_core::actor::Actor;
use apex_core::change_action::ChangeAction;
use apex_core::changes::ChangeState;
use apex_core::ids::ChangeId;
use apex_core::{Core, CoreError, changes};
use askama::Template;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::{DomainHead, path_segment};
use crate::page::{Chrome, Failure, failure_page, render};
use crate::session::Viewer;

/// How long a receipt follows a change that is not served everywhere yet.
const STALE: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// Where a change stands, for the page and for the script.
pub(crate) struct Receipt {
    pub id: ChangeId,
    /// `record.create` …, in words.
    pub what: String,
    pub serial: Option<u32>,
    pub published: bool,
    pub served: bool,
    /// Not served everywhere long after it was made: the page stops waiting for it.
    pub stale: bool,
    /// Nameservers serving it.
    pub serving: usize,
    /// Nameservers in the fleet.
    pub fleet: usize,
    /// The URL of its state (JSON).
    pub state_url: String,
    /// Each nameserver and the serial seen there.
    pub nameservers: Vec<(String, Option<u32>)>,
    /// Who made it, through what.
    pub by: String,
    pub created_at: String,
}

impl Receipt {
    pub(crate) async fn load(
        core: &Core,
        actor: &Actor,
        zone: &str,
        id: ChangeId,
    ) -> Result<Self, CoreError> {
        let c = changes::get(&core.pool, actor, zone, id).await?;
        let serving = c.nameservers.iter().filter(|n| n.serial.is_some()).count();
        let by = match (&c.by.user, c.by.api_key_id) {
            (Some(u), Some(k)) => format!("{u} with API key {k}"),
            (Some(u), None) => u.clone(),
            (None, Some(k)) => format!("domain key {k}"),
            (None, None) => "the platform".into(),
        };
        Ok(Self {
            id: c.id,
            what: action_words(c.action).into(),
            serial: c.serial,
            published: c.state != ChangeState::Committed,
            served: c.state == ChangeState::InSync,
            stale: c.state != ChangeState::InSync && chrono::Utc::now() - c.created_at > STALE,
            serving,
            fleet: c.nameservers.len(),
            state_url: format!("/domains/{}/changes/{}/state", path_segment(&c.zone), c.id),
            nameservers: c
                .nameservers
                .into_iter()
                .map(|n| (n.nameserver, n.serial))
                .collect(),
            by: format!("{by} via {}", c.by.via),
            created_at: c.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        })
    }

    /// One line on where it is.
    pub(crate) fn summary(&self) -> String {
        if self.stale {
            format!(
                "Not served by every nameserver {} minutes after it was saved ({} of {} so far): \
                 a platform administrator can see why on the publishing jobs and fleet pages.",
                STALE.num_minutes(),
                self.serving,
                self.fleet
            )
        } else if self.served {
            format!(
                "Served by all nameservers ({} of {}).",
                self.serving, self.fleet
            )
        } else if self.published {
            format!(
                "Published; served by {} of {} nameservers so far.",
                self.serving, self.fleet
            )
        } else {
            "Saved; waiting to be published.".into()
        }
    }
}

/// An action in words.
pub(crate) fn action_words(action: ChangeAction) -> &'static str {
    match action {
        ChangeAction::RecordCreate => "Record added",
        ChangeAction::RecordUpdate => "Record changed",
        ChangeAction::RecordDelete => "Records deleted",
        ChangeAction::DomainCreate => "Domain created",
        ChangeAction::DomainDelete => "Domain deleted",
        ChangeAction::ZoneImport => "Zone file imported",
        ChangeAction::DomainUpdate => "Settings changed",
        ChangeAction::DnssecRenew => "Signatures renewed",
        ChangeAction::DnssecRemove => "DNSSEC removed",
        ChangeAction::RrsetsUpdate => "Records changed",
        ChangeAction::DnsUpdate => "Records changed by DNS UPDATE",
        ChangeAction::ZoneRevert => "Records reverted",
    }
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    chrome: Chrome,
    head: DomainHead,
    r: Receipt,
}

/// `GET /domains/{name}/changes/{id}`.
pub(crate) async fn show(
    State(core): State<Core>,
    viewer: Viewer,
    Path((name, id)): Path<(String, i64)>,
) -> Response {
    let chrome = viewer.chrome.at("domains");
    let domain = match super::load(&core, &viewer, &name).await {
        Ok(d) => d,
        Err(page) => return page,
    };
    match Receipt::load(&core, &viewer.actor, &name, ChangeId(id)).await {
        Ok(r) => render(
            StatusCode::OK,
            &ReceiptPage {
                chrome,
                head: DomainHead::of(&domain, "history"),
                r,
            },
        ),
        Err(e) => failure_page(Failure::from(e), chrome),
    }
}

/// The state as the script reads it.
#[derive(Serialize)]
struct State_ {
    steps: Steps,
    summary: String,
    #[serde(rename = "final")]
    done: bool,
}

#[derive(Serialize)]
struct Steps {
    committed: bool,
    published: bool,
    /// `true`, `false`, or `"failed"` once the page stops waiting.
    served: serde_json::Value,
}

/// `GET /domains/{name}/changes/{id}/state`: JSON for `apex.js`.
pub(crate) async fn state(
    State(core): State<Core>,
    viewer: Viewer,
    Path((name, id)): Path<(String, i64)>,
) -> Response {
    match Receipt::load(&core, &viewer.actor, &name, ChangeId(id)).await {
        Ok(r) => Json(State_ {
            steps: Steps {
                committed: true,
                published: r.published,
                served: if r.stale {
                    serde_json::json!("failed")
                } else {
                    serde_json::json!(r.served)
                },
            },
            summary: r.summary(),
            done: r.served || r.stale,
        })
        .into_response(),
        Err(e) => Failure::from(e).status.into_response(),
    }
}
