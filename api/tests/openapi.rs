//! The OpenAPI document against the router it is built with: every (method, path) the router
//! answers is an operation of the document, and every operation is routed. Also what the
//! document must be (OpenAPI 3.1, references that resolve, the security schemes it names),
//! that it is served, and that the reference page loads nothing from another site.
//!
//! None of these calls reaches the database: the router answers them before a handler would
//! (405, 401, 415), so the pool is a lazy one that never connects.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use apex_core::config::Config;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"];

fn router() -> axum::Router {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(Duration::from_secs(1))
        .connect_lazy("postgres://apex@127.0.0.1:9/unused")
        .unwrap();
    common::router_for(&pool, &Config::defaults())
}

async fn get(router: &axum::Router, uri: &str) -> (StatusCode, String, Vec<u8>) {
    let req = Request::builder().uri(uri).body(Body::empty()).unwrap();
    let resp = router.clone().oneshot(req).await.unwrap();
    let ctype = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, ctype, body)
}

/// Every (method, path) the router answers: each path it was built with, and the methods that
/// do not get 405 there.
async fn routed(router: &axum::Router) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for path in apex_api::route_paths() {
        // Any value will do for a path parameter: the route matches before it is parsed.
        let concrete = path
            .split('/')
            .map(|seg| if seg.starts_with('{') { "1" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        for method in METHODS {
            let req = Request::builder()
                .method(method)
                .uri(&concrete)
                .body(Body::empty())
                .unwrap();
            let status = router.clone().oneshot(req).await.unwrap().status();
            if status != StatusCode::METHOD_NOT_ALLOWED {
                found.insert((method.to_string(), path.clone()));
            }
        }
    }
    found
}

fn document() -> Value {
    serde_json::to_value(apex_api::openapi()).unwrap()
}

/// Every (method, path) with an operation in the document.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if item.get(method.to_ascii_lowercase()).is_some() {
                found.insert((method.to_string(), path.clone()));
            }
        }
    }
    found
}

#[tokio::test]
async fn the_document_has_every_route_and_only_those() {
    let routed = routed(&router()).await;
    let documented = documented(&document());
    assert!(
        routed.len() > 60,
        "the probe found too few routes: {routed:?}"
    );
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "routed but not in the OpenAPI document: {undocumented:?}; in the document but not routed: {unrouted:?}"
    );
}

/// Every `$ref` in `v`.
fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn the_document_is_openapi_3_1_and_whole() {
    let doc = document();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(doc["servers"][0]["url"], "/");

    // Every reference resolves.
    let mut all = Vec::new();
    refs(&doc, &mut all);
    for r in all {
        let pointer = r.strip_prefix('#').expect("only local references");
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }

    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    assert_eq!(schemes["api_key"]["scheme"], "bearer");
    assert_eq!(schemes["session"]["in"], "cookie");
    assert_eq!(schemes["session"]["name"], "apex_session");
    let problem = &doc["components"]["schemas"]["Problem"]["properties"];
    for member in ["type", "title", "status", "detail", "errors", "lines"] {
        assert!(problem.get(member).is_some(), "Problem has no {member}");
    }

    let public = [
        "/healthz",
        "/readyz",
        "/api/v1/openapi.json",
        "/api/v1/auth/signup",
        "/api/v1/auth/verify-email",
        "/api/v1/auth/verify-email/resend",
        "/api/v1/auth/login",
        "/api/v1/auth/login/2fa",
        "/api/v1/auth/password-reset",
        "/api/v1/auth/password-reset/confirm",
    ];
    let mut operation_ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let at = format!("{method} {path}");
            let id = op["operationId"].as_str().unwrap_or_default();
            assert!(
                operation_ids.insert(id.to_string()),
                "{at}: operationId {id:?} is not unique"
            );
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{at} has no success response"
            );
            // The JSON body extractor answers these three whatever the endpoint.
            if op["requestBody"]["content"]
                .get("application/json")
                .is_some()
            {
                for status in ["400", "415", "422"] {
                    assert!(responses.contains_key(status), "{at} does not say {status}");
                }
            }
            let security = op.get("security").and_then(Value::as_array);
            if public.contains(&path.as_str()) {
                assert!(
                    security.is_none(),
                    "{at} is public but asks for {security:?}"
                );
                continue;
            }
            let names: BTreeSet<&str> = security
                .unwrap_or_else(|| panic!("{at} names no security scheme"))
                .iter()
                .flat_map(|req| req.as_object().unwrap().keys().map(String::as_str))
                .collect();
            assert!(names.contains("api_key"), "{at}: {names:?}");
            assert!(
                names.iter().all(|n| schemes.contains_key(*n)),
                "{at}: {names:?}"
            );
            // A credential can be missing or refused on every one of them.
            assert!(responses.contains_key("401"), "{at} does not say 401");
        }
    }
}

#[tokio::test]
async fn the_document_is_served() {
    let router = router();
    let (status, ctype, body) = get(&router, "/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ctype, "application/json");
    let served: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(served, document());
}

#[tokio::test]
async fn the_reference_page_is_served_from_the_binary() {
    let router = router();
    let (status, _, _) = get(&router, "/api/docs").await;
    assert!(status.is_redirection(), "{status}");
    let (status, ctype, body) = get(&router, "/api/docs/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("text/html"), "{ctype}");
    let html = String::from_utf8(body).unwrap();

    // Every script, style sheet and icon is ours, and is there.
    let mut assets = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for part in html.split(attr).skip(1) {
            assets.push(part.split('"').next().unwrap().to_string());
        }
    }
    assert!(assets.len() >= 3, "{html}");
    for asset in &assets {
        assert!(
            !asset.contains("//") && !asset.starts_with("data:"),
            "the page loads {asset} from elsewhere"
        );
        let uri = format!("/api/docs/{}", asset.trim_start_matches("./"));
        let (status, _, body) = get(&router, &uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        let text = String::from_utf8_lossy(&body);
        if asset.ends_with("swagger-initializer.js") {
            assert!(text.contains("/api/v1/openapi.json"), "{text}");
            // No badge from the online validator either.
            let compact: String = text.split_whitespace().collect();
            assert!(compact.contains(r#""validatorUrl":"none""#), "{text}");
        }
    }
    assert!(
        assets.iter().any(|a| a.ends_with("swagger-initializer.js")),
        "{html}"
    );
}

/// Enums written for the document alone follow the values the code accepts.
#[test]
fn documented_values_follow_the_code() {
    let doc = document();
    let params = doc["paths"]["/api/v1/admin/jobs"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let state = params.iter().find(|p| p["name"] == "state").unwrap();
    let values: Vec<&str> = state["schema"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(values, apex_core::jobs::STATES);
}
