//! The domains: the list, creating one, and each domain's pages (records, receipts).
//!
//! | page                                   | GET                        | POST                      |
//! |----------------------------------------|----------------------------|---------------------------|
//! | `/domains`                             | list, search, filter       | create (from `/new`)      |
//! | `/domains/new`                         | name, optional zone file   | –                         |
//! | `/domains/{name}`                      | records, grouped, filtered | –                         |
//! | `/domains/{name}/records/new?type=MX`  | a form that fits the type  | `/domains/{name}/records` |
//! | `/domains/{name}/records/{id}`         | edit form                  | save                      |
//! | `/domains/{name}/records/delete`       | –                          | confirm, then delete      |
//! | `/domains/{name}/import`               | paste a file; its preview  | dry run, then apply       |
//! | `/domains/{name}/export`               | the zone file, downloaded  | –                         |
//! | `/domains/{name}/dnssec`               | state, DS, on/off forms    | turn on or off            |
//! | `/domains/{name}/history`              | changes with their diffs   | –                         |
//! | `/domains/{name}/sharing`              | members, invitations       | `…/members[/{user}[/remove]]`, `…/invitations/{id}/revoke` |
//! | `/domains/{name}/settings`             | SOA, secondaries, delete   | `…/settings`, `…/secondaries`, `…/delete` |
//! | `/domains/{name}/webhooks[/{id}]`      | webhooks; one's deliveries | create (secret shown once), `…/{id}/enable`, `…/{id}/disable`, `…/{id}/delete` |
//! | `/domains/{name}/keys[/{id}]`          | domain keys; one to change | create (secret shown once), change, `…/{id}/revoke` |
//! | `/domains/{name}/changes/{id}`         | the receipt, live          | –                         |

mod dnssec;
mod form;
mod history;
mod import;
mod keys;
mod list;
mod receipt;
mod records;
mod settings;
mod sharing;
mod webhooks;

use apex_core::Core;
use apex_core::actor::Role;
use apex_core::authz::Action;
use apex_core::domain::{self, DomainView};
use apex_core::zonefiles;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::Response;
use axum::routing::{get, post};

pub(crate) use crate::page::path_segment;
use crate::page::{Failure, failure_page};
use crate::session::Viewer;

/// The domain routes.
pub(crate) fn routes() -> Router<Core> {
    Router::new()
        .route(
            "/domains",
            get(list::show)
                .post(list::create)
                .layer(DefaultBodyLimit::max(zonefiles::MAX_FILE)),
        )
        .route("/domains/new", get(list::new))
        .route("/domains/{name}", get(records::show))
        .route(
            "/domains/{name}/records",
            get(records::show_redirect).post(records::create),
        )
        .route("/domains/{name}/records/new", get(records::new))
        .route(
            "/domains/{name}/records/{id}",
            get(records::edit).post(records::update),
        )
        .route("/domains/{name}/records/delete", post(records::delete))
        .route(
            "/domains/{name}/dnssec",
            get(dnssec::show).post(dnssec::update),
        )
        .route(
            "/domains/{name}/import",
            get(import::show)
                .post(import::submit)
                .layer(DefaultBodyLimit::max(zonefiles::MAX_FILE)),
        )
        .route("/domains/{name}/export", get(import::export))
        .route("/domains/{name}/history", get(history::show))
        .route("/domains/{name}/sharing", get(sharing::show))
        .route(
            "/domains/{name}/settings",
            get(settings::show).post(settings::update),
        )
        .route("/domains/{name}/secondaries", post(settings::secondaries))
        .route("/domains/{name}/delete", post(settings::delete))
        .route(
            "/domains/{name}/webhooks",
            get(webhooks::show).post(webhooks::create),
        )
        .route("/domains/{name}/webhooks/{id}", get(webhooks::deliveries))
        .route("/domains/{name}/keys", get(keys::show).post(keys::create))
        .route(
            "/domains/{name}/keys/{id}",
            get(keys::edit).post(keys::update),
        )
        .route("/domains/{name}/keys/{id}/revoke", post(keys::revoke))
        .route(
            "/domains/{name}/webhooks/{id}/delete",
            post(webhooks::delete),
        )
        .route(
            "/domains/{name}/webhooks/{id}/enable",
            post(webhooks::enable),
        )
        .route(
            "/domains/{name}/webhooks/{id}/disable",
            post(webhooks::disable),
        )
        .route("/domains/{name}/members", post(sharing::invite))
        .route("/domains/{name}/members/{user}", post(sharing::change))
        .route(
            "/domains/{name}/members/{user}/remove",
            post(sharing::remove),
        )
        .route(
            "/domains/{name}/invitations/{id}/revoke",
            post(sharing::revoke),
        )
        .route("/domains/{name}/changes/{id}", get(receipt::show))
        .route("/domains/{name}/changes/{id}/state", get(receipt::state))
}

/// The domain `name` as the viewer may see it, or the page that says why not (not found,
/// not theirs).
pub(crate) async fn load(core: &Core, viewer: &Viewer, name: &str) -> Result<DomainView, Response> {
    domain::load(&core.pool, &viewer.actor, name, Action::Read)
        .await
        .map(|d| d.view(core))
        .map_err(|e| failure_page(Failure::from(e), viewer.chrome.at("domains")))
}

/// The heading and tabs of a domain's pages.
pub(crate) struct DomainHead {
    /// A-label name, for URLs.
    pub name: String,
    /// As people read it.
    pub unicode: String,
    /// The viewer's role on it.
    pub role: Option<Role>,
    /// `pending` or `published`.
    pub state: &'static str,
    /// `off`, `signed`, `disabling`.
    pub dnssec: &'static str,
    /// The current tab: `records`, `import`, `dnssec`, `history`, `sharing`, `settings`.
    pub tab: &'static str,
}

impl DomainHead {
    pub(crate) fn of(view: &DomainView, tab: &'static str) -> Self {
        Self {
            name: view.name.clone(),
            unicode: view.name_unicode.clone(),
            role: view.role,
            state: view.state.as_str(),
            dnssec: view.dnssec.as_str(),
            tab,
        }
    }

    /// Whether the viewer may change records (the button is shown; apex-core decides).
    pub(crate) fn can_write(&self) -> bool {
        self.role.is_some_and(|r| r >= Role::Write)
    }

    /// The viewer's role in words.
    pub(crate) fn role_name(&self) -> &'static str {
        role_name(self.role)
    }
}

/// A role in words.
pub(crate) fn role_name(role: Option<Role>) -> &'static str {
    match role {
        Some(Role::Owner) => "owner",
        Some(Role::Admin) => "admin",
        Some(Role::Write) => "editor",
        Some(Role::Read) => "read-only",
        None => "platform access",
    }
}

/// The domain as typed in a URL, in A-labels and without a final dot (for host names typed
/// without a dot, which are inside it).
pub(crate) fn zone_text(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}
