//! apex-web: the dashboard, rendered on the server with askama; every page works without
//! JavaScript, and a little of our own ([`assets`]) makes some of them livelier.
//!
//! Handlers are thin, like the API's: they read the form, call the same apex-core function
//! as the API (which calls `authz::authorize`, the one place rules live), and render the
//! answer or the error next to the field it is about.
//!
//! Every response carries `Cache-Control: no-store` (pages show tokens and private data),
//! `Referrer-Policy: same-origin` (a token in a URL never leaves the site; with
//! `no-referrer` browsers would send `Origin: null` on our own forms), `X-Content-Type-Options:
//! nosniff` and a
//! Content-Security-Policy that loads nothing from elsewhere, runs no inline script and lets
//! no other site frame a page; every POST goes through [`request::Posted`], which refuses a
//! form without this browser's CSRF token ([`csrf`]) or from another origin.

mod account;
mod admin;
mod assets;
mod csrf;
mod domains;
mod events;
mod links;
mod page;
mod request;
mod session;
mod signin;

use apex_core::Core;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::middleware;
use axum::response::Response;

/// Part of the stylesheet's and script's URLs, so a new release is fetched afresh.
pub(crate) const ASSET_VERSION: &str = env!("CARGO_PKG_VERSION");

/// What the browser is told about every page: scripts, styles and images from this site
/// only (no inline script or style), requests back to this site only, forms posted here
/// only, and no framing by anyone (a framed "Delete" button could be clicked by trickery).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

async fn protect(mut response: Response) -> Response {
    let headers = response.headers_mut();
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// The dashboard's routes, on `core`. Tests drive it with `tower::ServiceExt::oneshot`;
/// give it `MockConnectInfo` to stand in for the client's address.
pub fn router(core: Core) -> Router {
    Router::new()
        .merge(signin::routes())
        .merge(domains::routes())
        .merge(links::routes())
        .merge(account::routes())
        .merge(admin::routes())
        .layer(middleware::from_fn_with_state(
            core.clone(),
            csrf::ensure_cookie,
        ))
        .merge(assets::routes())
        .layer(middleware::map_response(protect))
        .with_state(core)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    /// A core whose pool never connects: the assets and the redirect do not touch it.
    fn core() -> Core {
        let config = apex_core::config::Config::defaults();
        Core {
            pool: sqlx::postgres::PgPoolOptions::new()
                .connect_lazy("postgres://nobody@127.0.0.1:1/none")
                .unwrap(),
            queue: apex_core::queue::Queue::disabled(),
            platform: std::sync::Arc::new(config.platform().unwrap()),
        }
    }

    #[tokio::test]
    async fn assets_are_served_with_the_security_headers() {
        let resp = router(core())
            .oneshot(
                Request::get("/assets/apex.css")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            resp.headers()[header::CONTENT_TYPE],
            "text/css; charset=utf-8"
        );
        assert_eq!(
            resp.headers()[header::CACHE_CONTROL],
            "public, max-age=86400"
        );
        assert_eq!(
            resp.headers()[header::CONTENT_SECURITY_POLICY],
            CONTENT_SECURITY_POLICY
        );
        assert_eq!(resp.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    }

    #[tokio::test]
    async fn the_front_door_leads_to_the_domains() {
        let resp = router(core())
            .oneshot(Request::get("/").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(resp.headers()[header::LOCATION], "/domains");
        assert!(
            resp.headers()[header::SET_COOKIE]
                .to_str()
                .unwrap()
                .starts_with("apex_csrf=")
        );
    }
}
