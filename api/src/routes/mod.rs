//! Routes, one file per resource. Every route is added through [`Routes`], which remembers
//! its path, so tests can list every route of the router (the authorization matrix fails
//! on a route it has no row for).

mod account;
mod admin;
mod audit;
mod auth;
mod domains;
mod health;
mod history;
mod keys;
mod members;
mod records;
mod rrsets;
mod templates;
mod webhooks;
mod zonefile;

use axum::Router;
use axum::routing::{MethodRouter, delete, get, patch, post};

use apex_core::changes::Change;
use serde::Serialize;

use crate::AppState;
use crate::error::ApiError;

/// The answer to a write that leaves no resource to show (a deletion).
#[derive(Serialize)]
pub struct ChangeOnly {
    change: Change,
}

/// A router that remembers the paths it was given.
struct Routes {
    router: Router<AppState>,
    paths: Vec<&'static str>,
}

impl Routes {
    fn new() -> Self {
        Self {
            router: Router::new(),
            paths: Vec::new(),
        }
    }

    fn route(mut self, path: &'static str, methods: MethodRouter<AppState>) -> Self {
        self.paths.push(path);
        self.router = self.router.route(path, methods);
        self
    }
}

/// The whole router, and the path of every route in it.
pub fn router() -> (Router<AppState>, Vec<String>) {
    let v1 = v1();
    let mut paths = vec!["/healthz".to_string(), "/readyz".to_string()];
    paths.extend(v1.paths.iter().map(|p| format!("/api/v1{p}")));
    let router = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .nest("/api/v1", v1.router);
    (router, paths)
}

fn v1() -> Routes {
    use axum::extract::DefaultBodyLimit;
    let routes = Routes::new()
        // Signing in and out, signing up, mailed links.
        .route("/auth/signup", post(auth::signup))
        .route("/auth/verify-email", post(auth::verify_email))
        .route("/auth/verify-email/resend", post(auth::resend_verification))
        .route("/auth/login", post(auth::login))
        .route("/auth/login/2fa", post(auth::second_factor))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/logout-all", post(auth::logout_all))
        .route("/auth/password-reset", post(auth::password_reset))
        .route(
            "/auth/password-reset/confirm",
            post(auth::password_reset_confirm),
        )
        .route("/auth/invitations/accept", post(auth::accept_invitation))
        // One's own account and keys.
        .route("/account", get(account::show).delete(account::delete))
        .route("/account/password", post(account::change_password))
        .route("/account/sessions", get(account::sessions))
        .route("/account/sessions/{id}", delete(account::revoke_session))
        .route(
            "/account/2fa/totp",
            post(account::totp_start).delete(account::totp_disable),
        )
        .route("/account/2fa/totp/confirm", post(account::totp_confirm))
        .route("/account/2fa/recovery-codes", post(account::recovery_codes))
        .route(
            "/account/template",
            get(templates::own).put(templates::set_own),
        )
        .route("/keys", get(keys::list).post(keys::create))
        .route(
            "/keys/{id}",
            get(keys::show).patch(keys::update).delete(keys::revoke),
        )
        .route("/audit", get(audit::list))
        // Platform administration.
        .route("/admin/jobs", get(admin::jobs))
        .route("/admin/jobs/{id}/retry", post(admin::retry))
        .route("/admin/users", get(admin::users).post(admin::create_user))
        .route(
            "/admin/users/{id}",
            get(admin::user).patch(admin::update_user),
        )
        .route("/admin/users/{id}/reset-2fa", post(admin::reset_2fa))
        .route("/admin/invitations", post(admin::invite))
        .route(
            "/admin/template",
            get(templates::platform).put(templates::set_platform),
        )
        // Domains and what is in them.
        .route("/domains", get(domains::list).post(domains::create))
        .route(
            "/domains/{name}",
            get(domains::show)
                .patch(domains::update)
                .delete(domains::delete),
        )
        .route("/domains/{name}/changes", get(history::changes))
        .route("/domains/{name}/changes/{id}", get(domains::change))
        .route("/domains/{name}/versions", get(history::versions))
        .route(
            "/domains/{name}/versions/{serial}/export",
            get(history::version_export),
        )
        .route("/domains/{name}/revert", post(history::revert))
        .route("/domains/{name}/rrsets", get(rrsets::list).put(rrsets::put))
        .route("/domains/{name}/dnssec", get(domains::dnssec))
        .route(
            "/domains/{name}/records",
            get(records::list).post(records::create),
        )
        .route(
            "/domains/{name}/records/{id}",
            patch(records::update).delete(records::delete),
        )
        .route(
            "/domains/{name}/import",
            post(zonefile::import).layer(DefaultBodyLimit::max(zonefile::MAX_UPLOAD)),
        )
        .route("/domains/{name}/export", get(zonefile::export))
        .route(
            "/domains/{name}/webhooks",
            get(webhooks::list).post(webhooks::create),
        )
        .route(
            "/domains/{name}/webhooks/{id}",
            get(webhooks::show).delete(webhooks::delete),
        )
        .route(
            "/domains/{name}/webhooks/{id}/deliveries",
            get(webhooks::deliveries),
        )
        .route(
            "/domains/{name}/members",
            get(members::list).post(members::add),
        )
        .route(
            "/domains/{name}/members/{user}",
            patch(members::update).delete(members::remove),
        )
        .route(
            "/domains/{name}/invitations/{id}",
            delete(members::revoke_invitation),
        )
        .route(
            "/domains/{name}/keys",
            get(keys::domain_list).post(keys::domain_create),
        )
        .route(
            "/domains/{name}/keys/{id}",
            get(keys::domain_show)
                .patch(keys::domain_update)
                .delete(keys::domain_revoke),
        );
    Routes {
        router: routes
            .router
            .fallback(|| async { ApiError::NotFound("no such API endpoint".into()) }),
        paths: routes.paths,
    }
}
