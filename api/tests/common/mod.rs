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
pub async fn setup_with(pool: PgPool, mut config: Config) -> Api {
    // Tests drive the API faster than people do; tests/limits.rs tests the limits.
    config.rate_limit = false;
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

/// A platform configuration for account tests: a master key (TOTP secrets are sealed), and
/// sign-up by invitation (the default).
pub fn accounts_config() -> Config {
    let mut config = Config::defaults();
    config.master_key = Some(secrecy::SecretString::from(
        "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".to_string(),
    ));
    config
}

/// The router as a server would run it: every request comes from 127.0.0.1.
pub fn router_for(pool: &PgPool, config: &Config) -> axum::Router {
    let mut config = config.clone();
    config.rate_limit = false;
    let core = Core {
        pool: pool.clone(),
        queue: Queue::disabled(),
        platform: Arc::new(config.platform().unwrap()),
    };
    app(AppState { core }).layer(axum::extract::connect_info::MockConnectInfo(
        std::net::SocketAddr::from(([127, 0, 0, 1], 40000)),
    ))
}

/// An answer: status, JSON body (Null if none), headers.
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub headers: axum::http::HeaderMap,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A client with a cookie jar (a browser, as far as the API can tell), or a key.
pub struct Client {
    pub router: axum::Router,
    pub cookies: std::collections::BTreeMap<String, String>,
    pub key: Option<String>,
    pub headers: Vec<(String, String)>,
}

impl Client {
    pub fn new(router: &axum::Router) -> Self {
        Self {
            router: router.clone(),
            cookies: Default::default(),
            key: None,
            headers: vec![],
        }
    }

    pub fn with_key(router: &axum::Router, key: &str) -> Self {
        let mut c = Self::new(router);
        c.key = Some(key.to_string());
        c
    }

    pub async fn send(&mut self, method: &str, uri: &str, body: Option<Value>) -> Answer {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(k) = &self.key {
            req = req.header(header::AUTHORIZATION, format!("Bearer {k}"));
        }
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.header(header::COOKIE, jar.join("; "));
        }
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        let req = req
            .body(Body::from(body.map(|b| b.to_string()).unwrap_or_default()))
            .unwrap();
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        for set in headers.get_all(header::SET_COOKIE) {
            let set = set.to_str().unwrap();
            let (pair, attrs) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attrs.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            headers,
        }
    }

    pub async fn get(&mut self, uri: &str) -> Answer {
        self.send("GET", uri, None).await
    }

    pub async fn post(&mut self, uri: &str, body: Value) -> Answer {
        self.send("POST", uri, Some(body)).await
    }
}

/// The newest mail of `kind` to `to`, from the outbox (API tests run no worker).
pub async fn last_mail(pool: &PgPool, to: &str, kind: &str) -> String {
    sqlx::query_scalar::<_, String>(
        "SELECT body FROM mail_outbox WHERE recipient = $1 AND kind = $2 ORDER BY id DESC LIMIT 1",
    )
    .bind(to)
    .bind(kind)
    .fetch_optional(pool)
    .await
    .unwrap()
    .unwrap_or_else(|| panic!("no {kind} mail to {to}"))
}

/// The `token` (or `invitation`) query value of the first link in a mail.
pub fn link_token(body: &str) -> String {
    let start = body
        .find("token=")
        .map(|i| i + "token=".len())
        .or_else(|| body.find("invitation=").map(|i| i + "invitation=".len()))
        .unwrap_or_else(|| panic!("no link with a token in {body:?}"));
    body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect()
}

/// The TOTP code for a base32 secret, now (or `offset` steps away).
pub fn totp_code(secret_b32: &str, offset: i64) -> String {
    let secret = apex_core::auth::totp::secret_from_base32(secret_b32).unwrap();
    let now = chrono::Utc::now().timestamp() + offset * 30;
    apex_core::auth::totp::code_at(&secret, u64::try_from(now).unwrap())
}
