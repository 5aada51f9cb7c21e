//! apex-web: the dashboard, rendered on the server with askama; every page works without
//! JavaScript.
//!
//! For now it holds the landing page and the pages that the account mails link to
//! ([`links`]): confirming an address, resetting a password, signing up with an invitation.
//! Handlers are thin, like the API's: they read the form, call the same apex-core function
//! as the API, and render the answer or the error next to the field it is about. The
//! dashboard proper is a later issue.
//!
//! Every response carries `Cache-Control: no-store` and `Referrer-Policy: no-referrer` (the
//! mailed tokens are in the URL), and every POST goes through [`request::Posted`], which
//! refuses another origin's form.

mod links;
mod page;
mod request;

use apex_core::Core;
use askama::Template;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::middleware;
use axum::response::Response;
use axum::routing::get;

/// The landing page.
#[derive(Template)]
#[template(path = "index.html")]
struct Index {
    version: &'static str,
}

async fn index() -> Response {
    page::render(
        axum::http::StatusCode::OK,
        &Index {
            version: env!("CARGO_PKG_VERSION"),
        },
    )
}

/// What the browser is told about every page: nothing is cached (a page may show a token or
/// an address), the token in the URL goes to no other site, nothing is loaded from
/// elsewhere, no form posts elsewhere, and no other site may frame a page (a framed
/// "Confirm" button could be clicked by trickery).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
     img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn protect(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    response
}

/// The dashboard's routes, on `core`. Tests drive it with `tower::ServiceExt::oneshot`;
/// give it `MockConnectInfo` to stand in for the client's address.
pub fn router(core: Core) -> Router {
    Router::new()
        .route("/", get(index))
        .merge(links::routes())
        .layer(middleware::map_response(protect))
        .with_state(core)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    /// A core whose pool never connects: the landing page does not touch the database.
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
    async fn landing_page() {
        let resp = router(core())
            .oneshot(Request::get("/").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(resp.headers()[header::REFERRER_POLICY], "no-referrer");
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        let html = String::from_utf8(body.to_vec()).unwrap();
        assert!(html.contains("<title>Apex</title>"));
        assert!(html.contains("/api/v1/domains"));
    }
}
