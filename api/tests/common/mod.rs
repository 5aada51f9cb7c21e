//! Shared by the API tests: a router on a test database, and a user with an API key.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use apex_api::{AppState, app};
use apex_core::config::Config;
use apex_core::queue::Queue;
use apex_core::{Core, auth, users};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use sqlx::PgPool;
use tower::ServiceExt;

pub struct Api {
    pub router: axum::Router,
    pub key: String,
    pub pool: PgPool,
}

pub async fn setup(pool: PgPool) -> Api {
    setup_with(pool, Config::defaults()).await
}

/// Like [`setup`], on a platform configured by `config` (a master key, private webhooks).
pub async fn setup_with(pool: PgPool, config: Config) -> Api {
    let core = Core {
        pool: pool.clone(),
        queue: Queue::disabled(),
        platform: Arc::new(config.platform().unwrap()),
    };
    let user = users::create_user(&pool, "alice@example.com", "a long enough password", false)
        .await
        .unwrap();
    let key = auth::keys::create_full(&pool, user, "test")
        .await
        .unwrap()
        .1;
    Api {
        router: app(AppState { core }),
        key,
        pool,
    }
}

impl Api {
    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        body: Option<&str>,
    ) -> (StatusCode, Value, String) {
        self.call_as(&self.key, method, uri, body).await
    }

    pub async fn call_as(
        &self,
        key: &str,
        method: &str,
        uri: &str,
        body: Option<&str>,
    ) -> (StatusCode, Value, String) {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {key}"));
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        let req = req
            .body(Body::from(body.unwrap_or("").to_string()))
            .unwrap();
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let ctype = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, value, ctype)
    }

    /// Sends a raw body (a zone file) with a content type.
    pub async fn upload(&self, uri: &str, content_type: &str, body: &str) -> (StatusCode, Value) {
        let req = Request::builder()
            .method("POST")
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.key))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body.to_string()))
            .unwrap();
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// GETs a text resource: (status, content type, body).
    pub async fn get_text(&self, uri: &str) -> (StatusCode, String, String) {
        let req = Request::builder()
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.key))
            .body(Body::empty())
            .unwrap();
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let ctype = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, ctype, String::from_utf8(bytes.to_vec()).unwrap())
    }

    pub async fn post(&self, uri: &str, body: Value) -> (StatusCode, Value) {
        let (s, v, _) = self.call("POST", uri, Some(&body.to_string())).await;
        (s, v)
    }

    /// Rows in records and changes, and the zone's wanted serial: what "changes nothing" means.
    pub async fn state(&self) -> (i64, i64, Vec<i64>) {
        let records = sqlx::query_scalar::<_, i64>("SELECT count(*) FROM records")
            .fetch_one(&self.pool)
            .await
            .unwrap();
        let changes = sqlx::query_scalar::<_, i64>("SELECT count(*) FROM changes")
            .fetch_one(&self.pool)
            .await
            .unwrap();
        let serials = sqlx::query_scalar::<_, i64>("SELECT wanted_serial FROM domains ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .unwrap();
        (records, changes, serials)
    }
}

pub fn assert_problem(
    status: StatusCode,
    body: &Value,
    ctype: &str,
    want: StatusCode,
    pointer: Option<&str>,
) {
    assert_eq!(status, want, "body: {body}");
    assert_eq!(ctype, "application/problem+json");
    assert_eq!(body["status"], want.as_u16());
    assert!(
        body["type"]
            .as_str()
            .unwrap()
            .starts_with("urn:apex:problem:")
    );
    assert!(!body["detail"].as_str().unwrap().is_empty());
    if let Some(p) = pointer {
        assert_eq!(body["errors"][0]["pointer"], p, "body: {body}");
    }
}
