//! Routes, one file per resource. Every route is added through [`Routes::route`], which
//! takes the handlers of one path as `utoipa_axum::routes!(...)`: each is routed for the
//! method its `#[utoipa::path]` names, and that operation goes into the OpenAPI document, so
//! no handler is routed undocumented. `Routes` also remembers the path it routed, so tests can
//! list every route of the router (the authorization matrix fails on a route it has no row
//! for; `tests/openapi.rs` on a method or path the document and the router disagree on).

mod account;
mod admin;
mod audit;
mod auth;
mod catalog;
mod docs;
mod domains;
mod health;
mod history;
mod keys;
mod members;
mod records;
mod rrsets;
mod templates;
mod tsig_keys;
mod webhooks;
mod zonefile;

use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use apex_core::changes::Change;
use serde::Serialize;

use crate::AppState;
use crate::error::ApiError;
use crate::openapi::ApiDoc;

/// The answer to a write that leaves no resource to show (a deletion).
#[derive(Serialize, utoipa::ToSchema)]
pub struct ChangeOnly {
    change: Change,
}

/// A router that documents what it routes and remembers the paths it was given.
struct Routes {
    router: OpenApiRouter<AppState>,
    paths: Vec<String>,
}

impl Routes {
    fn new() -> Self {
        Self {
            router: OpenApiRouter::new(),
            paths: Vec::new(),
        }
    }

    /// Routes `handlers` (one `routes!(...)`, every handler of `path`) at `path`, and adds
    /// their operations to the document under the path their annotations name: the two must
    /// agree, which `tests/openapi.rs` checks.
    fn route(mut self, path: &'static str, handlers: UtoipaMethodRouter<AppState>) -> Self {
        let (schemas, operations, methods) = handlers;
        self.paths.push(path.to_string());
        self.router = self.router.route(path, methods);
        let doc = self.router.get_openapi_mut();
        for (at, item) in operations.paths {
            match doc.paths.paths.get_mut(&at) {
                Some(existing) => existing.merge_operations(item),
                None => {
                    doc.paths.paths.insert(at, item);
                }
            }
        }
        doc.components
            .get_or_insert_with(Default::default)
            .schemas
            .extend(schemas);
        self
    }

    fn nest(mut self, prefix: &str, inner: Routes) -> Self {
        self.paths
            .extend(inner.paths.iter().map(|p| format!("{prefix}{p}")));
        self.router = self.router.nest(prefix, inner.router);
        self
    }
}

/// The whole API: its router, the path of every route in it, and its OpenAPI document.
pub struct Api {
    /// The router, without state.
    pub router: Router<AppState>,
    /// Every route's path, in the order they were added.
    pub paths: Vec<String>,
    /// The document of every operation the router answers.
    pub openapi: utoipa::openapi::OpenApi,
}

/// The whole API.
pub fn router() -> Api {
    let root = Routes::new()
        .route("/healthz", routes!(health::healthz))
        .route("/readyz", routes!(health::readyz))
        .nest("/api/v1", v1());
    let (router, documented) = root.router.split_for_parts();
    let mut openapi = ApiDoc::openapi();
    openapi.merge(documented);
    crate::openapi::every_operation_may_be_limited(&mut openapi);
    Api {
        router,
        paths: root.paths,
        openapi,
    }
}

fn v1() -> Routes {
    use axum::extract::DefaultBodyLimit;
    let routes = Routes::new()
        // This API's OpenAPI document.
        .route("/openapi.json", routes!(docs::document))
        // Signing in and out, signing up, mailed links.
        .route("/auth/signup", routes!(auth::signup))
        .route("/auth/verify-email", routes!(auth::verify_email))
        .route(
            "/auth/verify-email/resend",
            routes!(auth::resend_verification),
        )
        .route("/auth/login", routes!(auth::login))
        .route("/auth/login/2fa", routes!(auth::second_factor))
        .route("/auth/logout", routes!(auth::logout))
        .route("/auth/logout-all", routes!(auth::logout_all))
        .route("/auth/password-reset", routes!(auth::password_reset))
        .route(
            "/auth/password-reset/confirm",
            routes!(auth::password_reset_confirm),
        )
        .route("/auth/invitations/accept", routes!(auth::accept_invitation))
        // One's own account and keys.
        .route("/account", routes!(account::show, account::delete))
        .route("/account/password", routes!(account::change_password))
        .route("/account/sessions", routes!(account::sessions))
        .route("/account/sessions/{id}", routes!(account::revoke_session))
        .route(
            "/account/2fa/totp",
            routes!(account::totp_start, account::totp_disable),
        )
        .route("/account/2fa/totp/confirm", routes!(account::totp_confirm))
        .route(
            "/account/2fa/recovery-codes",
            routes!(account::recovery_codes),
        )
        .route(
            "/account/template",
            routes!(templates::own, templates::set_own),
        )
        .route(
            "/account/catalog",
            routes!(
                catalog::show,
                catalog::enable,
                catalog::update,
                catalog::disable
            ),
        )
        .route("/account/catalog/key", routes!(catalog::rotate_key))
        .route("/keys", routes!(keys::list, keys::create))
        .route(
            "/keys/{id}",
            routes!(keys::show, keys::update, keys::revoke),
        )
        .route("/audit", routes!(audit::list))
        // Platform administration.
        .route("/admin/jobs", routes!(admin::jobs))
        .route("/admin/jobs/{id}/retry", routes!(admin::retry))
        .route("/admin/users", routes!(admin::users, admin::create_user))
        .route(
            "/admin/users/{id}",
            routes!(admin::user, admin::update_user),
        )
        .route("/admin/users/{id}/reset-2fa", routes!(admin::reset_2fa))
        .route("/admin/invitations", routes!(admin::invite))
        .route(
            "/admin/template",
            routes!(templates::platform, templates::set_platform),
        )
        // Domains and what is in them.
        .route("/domains", routes!(domains::list, domains::create))
        .route(
            "/domains/{name}",
            routes!(domains::show, domains::update, domains::delete),
        )
        .route("/domains/{name}/changes", routes!(history::changes))
        .route("/domains/{name}/changes/{id}", routes!(domains::change))
        .route("/domains/{name}/versions", routes!(history::versions))
        .route(
            "/domains/{name}/versions/{serial}/export",
            routes!(history::version_export),
        )
        .route("/domains/{name}/revert", routes!(history::revert))
        .route(
            "/domains/{name}/rrsets",
            routes!(rrsets::list, rrsets::put)
                .layer(DefaultBodyLimit::max(crate::extract::RRSETS_BODY_LIMIT)),
        )
        .route("/domains/{name}/dnssec", routes!(domains::dnssec))
        .route(
            "/domains/{name}/records",
            routes!(records::list, records::create),
        )
        .route(
            "/domains/{name}/records/{id}",
            routes!(records::update, records::delete),
        )
        .route(
            "/domains/{name}/import",
            routes!(zonefile::import).layer(DefaultBodyLimit::max(zonefile::MAX_UPLOAD)),
        )
        .route("/domains/{name}/export", routes!(zonefile::export))
        .route(
            "/domains/{name}/webhooks",
            routes!(webhooks::list, webhooks::create),
        )
        .route(
            "/domains/{name}/webhooks/{id}",
            routes!(webhooks::show, webhooks::update, webhooks::delete),
        )
        .route(
            "/domains/{name}/tsig-keys",
            routes!(tsig_keys::list, tsig_keys::create),
        )
        .route(
            "/domains/{name}/tsig-keys/{id}",
            routes!(tsig_keys::show, tsig_keys::delete),
        )
        .route(
            "/domains/{name}/webhooks/{id}/deliveries",
            routes!(webhooks::deliveries),
        )
        .route(
            "/domains/{name}/members",
            routes!(members::list, members::add),
        )
        .route(
            "/domains/{name}/members/{user}",
            routes!(members::update, members::remove),
        )
        .route(
            "/domains/{name}/invitations/{id}",
            routes!(members::revoke_invitation),
        )
        .route(
            "/domains/{name}/keys",
            routes!(keys::domain_list, keys::domain_create),
        )
        .route(
            "/domains/{name}/keys/{id}",
            routes!(keys::domain_show, keys::domain_update, keys::domain_revoke),
        );
    Routes {
        router: routes
            .router
            .fallback(|| async { ApiError::NotFound("no such API endpoint".into()) }),
        paths: routes.paths,
    }
}
