//! A browser without JavaScript, for router tests: it keeps cookies, and posts each form
//! with the CSRF token of the last page it read, as a page's own form would.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use apex_core::Core;
use apex_core::config::Config;
use apex_core::queue::Queue;
use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use scraper::{Html, Selector};
use sqlx::PgPool;
use tower::ServiceExt;

pub const PASSWORD: &str = "a long enough password";

/// The platform's public URL in the default config: the origin of its own forms.
pub const PUBLIC_URL: &str = "http://127.0.0.1:8080";

/// A platform for account tests: a master key, as the API's tests have, and sign-up `mode`.
pub fn config(mode: &str) -> Config {
    let mut config = Config::defaults();
    config.master_key = Some(secrecy::SecretString::from(
        "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".to_string(),
    ));
    config.signup = mode.into();
    config
}

pub struct Web {
    pub core: Core,
    pub router: Router,
    /// Cookies set so far, by name.
    jar: std::sync::Mutex<std::collections::BTreeMap<String, String>>,
    /// The CSRF token in the last page read.
    csrf: std::sync::Mutex<String>,
}

/// An answer, with its HTML parsed.
pub struct Page {
    pub status: StatusCode,
    pub html: Html,
    pub source: String,
    pub headers: axum::http::HeaderMap,
}

impl Page {
    pub fn all(&self, css: &str) -> Vec<scraper::ElementRef<'_>> {
        self.html.select(&Selector::parse(css).unwrap()).collect()
    }

    pub fn one(&self, css: &str) -> scraper::ElementRef<'_> {
        let found = self.all(css);
        assert_eq!(found.len(), 1, "{css} in:\n{}", self.source);
        found[0]
    }

    /// Where a redirect points.
    pub fn location(&self) -> String {
        self.headers[header::LOCATION].to_str().unwrap().to_string()
    }

    pub fn has(&self, css: &str) -> bool {
        !self.all(css).is_empty()
    }

    pub fn attr(&self, css: &str, name: &str) -> String {
        self.one(css)
            .value()
            .attr(name)
            .unwrap_or_else(|| panic!("{css} has no {name}"))
            .to_string()
    }

    pub fn text(&self, css: &str) -> String {
        let text: String = self.one(css).text().collect();
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// An input with its label, `name` and `autocomplete`, as a form needs it.
    pub fn assert_input(&self, id: &str, name: Option<&str>, autocomplete: &str) {
        let css = format!("input#{id}");
        assert!(self.has(&format!("label[for={id}]")), "no label for {id}");
        assert_eq!(self.one(&css).value().attr("name"), name, "{id}'s name");
        assert_eq!(self.attr(&css, "autocomplete"), autocomplete);
    }
}

impl Web {
    pub fn new(pool: PgPool, config: &Config) -> Self {
        let core = Core {
            pool,
            queue: Queue::disabled(),
            platform: Arc::new(config.platform().unwrap()),
        };
        let router = apex_web::router(core.clone())
            .layer(MockConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
        Self {
            core,
            router,
            jar: Default::default(),
            csrf: Default::default(),
        }
    }

    pub fn pool(&self) -> &PgPool {
        &self.core.pool
    }

    /// Signs in with the password (for a user without a second factor), as the pages do:
    /// the protected page leads to the sign-in form, which leads back.
    pub async fn sign_in(&self, email: &str) {
        let page = self.get("/domains").await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        self.get(&page.location()).await;
        let page = self
            .post(
                "/login",
                &[
                    ("email", email),
                    ("password", PASSWORD),
                    ("next", "/domains"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.source);
        assert_eq!(page.location(), "/domains");
    }

    /// Forgets the cookies (another browser).
    pub fn clear_cookies(&self) {
        self.jar.lock().unwrap().clear();
    }

    /// A cookie the browser holds.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar.lock().unwrap().get(name).cloned()
    }

    /// The CSRF token of the last page read.
    pub fn csrf(&self) -> String {
        self.csrf.lock().unwrap().clone()
    }

    pub async fn send(&self, mut req: Request<Body>) -> Page {
        let cookies = self
            .jar
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        if !cookies.is_empty() {
            req.headers_mut()
                .insert(header::COOKIE, cookies.parse().unwrap());
        }
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        // Pages show tokens and private data: nothing is cached, no Referer leaves them.
        if !headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|c| c.to_str().unwrap().starts_with("application/json"))
        {
            assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        }
        assert_eq!(headers[header::REFERRER_POLICY], "same-origin");
        for set in headers.get_all(header::SET_COOKIE) {
            let set = set.to_str().unwrap();
            let (pair, attrs) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            let mut jar = self.jar.lock().unwrap();
            if value.is_empty() || attrs.contains("Max-Age=0") {
                jar.remove(name);
            } else {
                jar.insert(name.to_string(), value.to_string());
            }
        }
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let source = String::from_utf8(bytes.to_vec()).unwrap();
        let html = Html::parse_document(&source);
        if let Some(token) = html
            .select(&Selector::parse("input[name=csrf]").unwrap())
            .next()
            .and_then(|e| e.value().attr("value"))
        {
            *self.csrf.lock().unwrap() = token.to_string();
        }
        Page {
            status,
            html,
            source,
            headers,
        }
    }

    pub async fn get(&self, uri: &str) -> Page {
        self.send(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    /// POSTs a form as the platform's own page would (with its `Origin`).
    pub async fn post(&self, uri: &str, form: &[(&str, &str)]) -> Page {
        self.post_from(uri, form, Some(PUBLIC_URL)).await
    }

    pub async fn post_from(&self, uri: &str, form: &[(&str, &str)], origin: Option<&str>) -> Page {
        let token = self.csrf();
        let mut pairs: Vec<(&str, &str)> = form.to_vec();
        if !pairs.iter().any(|(k, _)| *k == "csrf") {
            pairs.push(("csrf", &token));
        }
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        let mut req = Request::post(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::HOST, "127.0.0.1:8080");
        if let Some(origin) = origin {
            req = req.header(header::ORIGIN, origin);
        }
        self.send(req.body(Body::from(body)).unwrap()).await
    }

    /// The newest mail of `kind` to `to`: tests run no worker, so it is in the outbox.
    pub async fn mail(&self, to: &str, kind: &str) -> String {
        sqlx::query_scalar::<_, String>(
            "SELECT body FROM mail_outbox WHERE recipient = $1 AND kind = $2
              ORDER BY id DESC LIMIT 1",
        )
        .bind(to)
        .bind(kind)
        .fetch_optional(self.pool())
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no {kind} mail to {to}"))
    }

    pub async fn mails(&self, to: &str, kind: &str) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM mail_outbox WHERE recipient = $1 AND kind = $2")
            .bind(to)
            .bind(kind)
            .fetch_one(self.pool())
            .await
            .unwrap()
    }

    pub async fn verified(&self, email: &str) -> bool {
        sqlx::query_scalar("SELECT email_verified_at IS NOT NULL FROM users WHERE email = $1")
            .bind(email)
            .fetch_one(self.pool())
            .await
            .unwrap()
    }

    pub async fn password_is(&self, email: &str, password: &str) -> bool {
        let hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE email = $1")
            .bind(email)
            .fetch_one(self.pool())
            .await
            .unwrap();
        apex_core::auth::password::verify(password, &hash)
            .await
            .unwrap()
            .ok
    }

    pub async fn user_exists(&self, email: &str) -> bool {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE email = $1)")
            .bind(email)
            .fetch_one(self.pool())
            .await
            .unwrap()
    }
}

/// Seconds since the epoch, for TOTP codes.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
