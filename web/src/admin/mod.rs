//! Administration, for holders of platform roles: users (search, create, invite, disable,
//! quota, platform roles, second factor, impersonation), publishing jobs, the fleet's
//! progress and the audit log.
//!
//! | page                              | GET                          | POST                          |
//! |-----------------------------------|------------------------------|-------------------------------|
//! | `/admin`                          | the sections the viewer has  | –                             |
//! | `/admin/users?q=&before=`         | search, paged; new user form | create a user                 |
//! | `/admin/invitations`              | –                            | invite to the platform        |
//! | `/admin/users/{id}`               | details and their forms      | –                             |
//! | `/admin/users/{id}/roles`         | –                            | set the platform roles        |
//! | `/admin/users/{id}/status`        | –                            | disable or enable             |
//! | `/admin/users/{id}/quota`         | –                            | set the domain quota          |
//! | `/admin/users/{id}/reset-2fa`     | asks to confirm              | removes the second factor     |
//! | `/admin/users/{id}/impersonate`   | –                            | act as the user               |
//! | `/admin/stop-impersonating`       | –                            | back to the administrator     |
//! | `/admin/jobs?state=`              | publishing and webhook jobs  | –                             |
//! | `/admin/jobs/{id}/retry`          | –                            | make the job due now          |
//! | `/admin/fleet`                    | each nameserver's lag        | –                             |
//! | `/admin/audit?event=&before=`     | everyone's security events   | –                             |
//!
//! Which sections a viewer sees follows their platform roles (`authz::holds`); every page
//! still calls the apex-core function, which authorizes itself, so a section not shown
//! answers with apex-core's 403.

mod impersonation;
mod ops;
mod users;

pub(crate) use impersonation::ADMIN_COOKIE;

use apex_core::Core;
use apex_core::CoreError;
use apex_core::actor::Permission;
use apex_core::authz;
use askama::Template;
use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};

use crate::page::{Chrome, Failure, failure_page, render};
use crate::session::Viewer;

/// The administration routes.
pub(crate) fn routes() -> Router<Core> {
    Router::new()
        .route("/admin", get(overview))
        .route("/admin/users", get(users::list).post(users::create))
        .route("/admin/invitations", post(users::invite))
        .route("/admin/users/{id}", get(users::show))
        .route("/admin/users/{id}/roles", post(users::roles))
        .route("/admin/users/{id}/status", post(users::status))
        .route("/admin/users/{id}/quota", post(users::quota))
        .route(
            "/admin/users/{id}/reset-2fa",
            get(users::reset_2fa_confirm).post(users::reset_2fa),
        )
        .route("/admin/users/{id}/impersonate", post(impersonation::start))
        .route("/admin/stop-impersonating", post(impersonation::stop))
        .route("/admin/jobs", get(ops::jobs))
        .route("/admin/jobs/{id}/retry", post(ops::retry))
        .route("/admin/fleet", get(ops::fleet))
        .route("/admin/audit", get(ops::audit))
}

/// The heading and tabs of the administration pages: the sections the viewer's platform
/// roles open (apex-core still decides on each page).
pub(crate) struct AdminHead {
    /// Users (`manage_users`).
    pub users: bool,
    /// Publishing jobs and the fleet (`manage_domains`).
    pub domains: bool,
    /// The audit log (`view_audit`).
    pub audit: bool,
    /// Acting as users (`impersonate`).
    pub impersonate: bool,
    /// The current tab: `overview`, `users`, `jobs`, `fleet`, `audit`.
    pub tab: &'static str,
}

impl AdminHead {
    pub(crate) fn of(viewer: &Viewer, tab: &'static str) -> Self {
        let a = &viewer.actor;
        Self {
            users: authz::holds(a, Permission::ManageUsers),
            domains: authz::holds(a, Permission::ManageDomains),
            audit: authz::holds(a, Permission::ViewAudit),
            impersonate: authz::holds(a, Permission::Impersonate),
            tab,
        }
    }

    /// Any section at all.
    fn any(&self) -> bool {
        self.users || self.domains || self.audit || self.impersonate
    }
}

#[derive(Template)]
#[template(path = "admin.html")]
struct OverviewPage {
    chrome: Chrome,
    head: AdminHead,
}

/// `GET /admin`: links to the sections the viewer may use.
async fn overview(viewer: Viewer) -> Response {
    let chrome = viewer.chrome.at("admin");
    let head = AdminHead::of(&viewer, "overview");
    if !head.any() {
        // apex-core's own refusal, as any section would give it.
        let refused = authz::platform(&viewer.actor, Permission::ManageUsers)
            .err()
            .unwrap_or_else(|| CoreError::Forbidden("this needs a platform role".into()));
        return failure_page(Failure::from(refused), chrome);
    }
    render(StatusCode::OK, &OverviewPage { chrome, head })
}
