//! apex-web: the dashboard. This first version is a landing page; the dashboard proper calls
//! the same apex-core functions as the API (a later issue).

use askama::Template;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

#[derive(Template)]
#[template(path = "index.html")]
struct Index {
    version: &'static str,
}

async fn index() -> Response {
    match (Index {
        version: env!("CARGO_PKG_VERSION"),
    })
    .render()
    {
        Ok(html) => ([(header::CACHE_CONTROL, "no-cache")], Html(html)).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The dashboard's routes.
pub fn router() -> Router {
    Router::new().route("/", get(index))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    #[tokio::test]
    async fn landing_page() {
        let resp = router()
            .oneshot(Request::get("/").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        let html = String::from_utf8(body.to_vec()).unwrap();
        assert!(html.contains("<title>Apex</title>"));
        assert!(html.contains("/api/v1/domains"));
    }
}
