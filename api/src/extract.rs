//! Extractors: who is calling (authentication), from where, and what they sent (JSON with
//! precise errors).
//!
//! Two doors:
//! - [`Authenticated`] takes an API key (`Authorization: Bearer apex_…`), user or domain key.
//!   This is every endpoint about domains and the platform: a dashboard session is not an
//!   API credential.
//! - [`AccountAuth`] takes an API key or a dashboard session (the `apex_session` cookie):
//!   the endpoints about one's own account, keys and audit events, which someone who has just
//!   signed in needs before they have any key.
//!
//! Either may carry `Apex-Impersonate: <email>`: a holder of the `impersonate` platform role
//! then acts as that user; every such request is audited.

use std::net::SocketAddr;

use apex_core::CoreError;
use apex_core::actor::{Actor, Via};
use apex_core::audit::Event;
use apex_core::auth::sessions::{self, Client};
use apex_core::auth::{keys, origin};
use apex_core::users::admin;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum_extra::extract::CookieJar;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::ApiError;

/// The header that asks to act as another user.
pub const IMPERSONATE: &str = "apex-impersonate";

/// The client's address and browser. The address is the TCP peer's, or, when that peer is
/// one of `APEX_TRUSTED_PROXIES`, the nearest untrusted address in `X-Forwarded-For`.
pub struct ClientInfo(pub Client);

pub(crate) fn client(parts: &Parts, state: &AppState) -> Client {
    // MockConnectInfo stands in for the connection in router tests (as ConnectInfo's own
    // extractor allows).
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .or_else(|| {
            parts
                .extensions
                .get::<axum::extract::connect_info::MockConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip())
        });
    Client::of_request(
        peer,
        parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok()),
        parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
        &state.core.platform.accounts.trusted_proxies,
    )
}

impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(Self(client(parts, state)))
    }
}

fn bearer(headers: &HeaderMap) -> Option<Result<&str, CoreError>> {
    let value = headers.get(header::AUTHORIZATION)?;
    Some(
        value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or(CoreError::Unauthenticated),
    )
}

/// Applies `Apex-Impersonate`, auditing the request.
async fn impersonation(parts: &Parts, state: &AppState, actor: Actor) -> Result<Actor, ApiError> {
    let Some(target) = parts.headers.get(IMPERSONATE) else {
        return Ok(actor);
    };
    let target = target.to_str().unwrap_or_default();
    let acting = match admin::impersonate(&state.core, &actor, target).await {
        Ok(a) => a,
        Err(e) => {
            Event::new("impersonation.refused", false)
                .actor(&actor)
                .subject(None, target.to_string())
                .detail(serde_json::json!({"method": parts.method.as_str(), "path": parts.uri.path(), "reason": e.to_string()}))
                .record_quietly(&state.core.pool)
                .await;
            return Err(e.into());
        }
    };
    Event::new("impersonation.request", true)
        .actor(&acting)
        .subject(acting.user_id, acting.email.clone().unwrap_or_default())
        .detail(serde_json::json!({"method": parts.method.as_str(), "path": parts.uri.path()}))
        .record(&state.core.pool)
        .await?;
    Ok(acting)
}

/// The authenticated caller, from an API key.
pub struct Authenticated(pub Actor);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(token) = bearer(&parts.headers) else {
            let has_session = CookieJar::from_headers(&parts.headers)
                .get(sessions::COOKIE)
                .is_some();
            return Err(if has_session {
                ApiError::Unauthenticated(
                    "this endpoint takes an API key (Authorization: Bearer apex_…); a dashboard session is not an API credential: create a key with POST /api/v1/keys",
                )
            } else {
                CoreError::Unauthenticated.into()
            });
        };
        let ip = client(parts, state).ip;
        let actor = keys::authenticate(&state.core, token?, ip, Via::Api).await?;
        Ok(Self(impersonation(parts, state, actor).await?))
    }
}

/// The caller of an account endpoint: an API key, or a dashboard session.
pub struct AccountAuth(pub Actor);

impl FromRequestParts<AppState> for AccountAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if bearer(&parts.headers).is_some() {
            return Authenticated::from_request_parts(parts, state)
                .await
                .map(|a| Self(a.0));
        }
        let jar = CookieJar::from_headers(&parts.headers);
        let token = jar
            .get(sessions::COOKIE)
            .map(|c| c.value().to_string())
            .ok_or(CoreError::Unauthenticated)?;
        check_origin(parts, state)?;
        let actor = sessions::authenticate(&state.core, &token, &client(parts, state)).await?;
        Ok(Self(impersonation(parts, state, actor).await?))
    }
}

/// A cookie-authenticated request that changes something must come from our own pages: a
/// browser names the page's origin in `Origin` (or says `Sec-Fetch-Site`), and another site's
/// page is refused. (SameSite=Lax cookies and JSON-only bodies stop most of this already.)
fn check_origin(parts: &Parts, state: &AppState) -> Result<(), ApiError> {
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let get = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let headers = origin::Headers {
        origin: get("origin"),
        host: get("host"),
        fetch_site: get("sec-fetch-site"),
    };
    if origin::same_origin(&headers, &state.core.platform.accounts.public_url) {
        Ok(())
    } else {
        Err(CoreError::Forbidden(
            "a request from another site cannot use this site's session".into(),
        )
        .into())
    }
}

/// Largest JSON body most endpoints take (axum's default body limit).
pub const JSON_BODY_LIMIT: usize = 2 * 1024 * 1024;
/// Largest body of `PUT /domains/{name}/rrsets` (up to 10,000 RRsets).
pub const RRSETS_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// A JSON body whose errors name the field (`/ttl: invalid type: string "x", expected i64`).
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| {
                let m = m.trim();
                m.eq_ignore_ascii_case("application/json") || m.ends_with("+json")
            });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::Refused {
                    kind: "urn:apex:problem:too-large",
                    title: "Request body too large",
                    status: axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                    detail: format!(
                        "the body is larger than this endpoint takes ({} MiB; RRset batches {} MiB): send less at once",
                        JSON_BODY_LIMIT >> 20,
                        RRSETS_BODY_LIMIT >> 20
                    ),
                }
            } else {
                ApiError::BadBody {
                    detail: e.body_text(),
                    pointer: None,
                }
            }
        })?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut de).map_err(body_error)?;
        de.end().map_err(|e| ApiError::BadBody {
            detail: format!("body is not valid JSON: {e}"),
            pointer: None,
        })?;
        if let Some(field) = nul_field(&bytes) {
            return Err(
                CoreError::invalid(field, "may not contain the NUL character (U+0000)").into(),
            );
        }
        Ok(JsonBody(value))
    }
}

/// The field (`content`, `records[0].name`) of the first JSON string holding U+0000, if any.
/// Postgres text cannot store that character, so such a value is refused here, by name,
/// rather than failing in the database.
fn nul_field(json: &[u8]) -> Option<String> {
    // JSON writes U+0000 only as `\u0000`; that escape, not preceded by an escaped backslash.
    let escaped = json.windows(6).enumerate().any(|(i, w)| {
        w == b"\\u0000" && json[..i].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 0
    });
    if !escaped {
        return None;
    }
    fn find(v: &serde_json::Value, at: &str) -> Option<String> {
        use serde_json::Value;
        match v {
            Value::String(s) if s.contains('\0') => Some(at.to_string()),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, v)| find(v, &format!("{at}[{i}]"))),
            Value::Object(map) => map.iter().find_map(|(k, v)| {
                let here = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                if k.contains('\0') {
                    Some(here)
                } else {
                    find(v, &here)
                }
            }),
            _ => None,
        }
    }
    serde_json::from_slice::<serde_json::Value>(json)
        .ok()
        .and_then(|v| find(&v, ""))
}

/// Turns a deserialisation error into a problem naming the field as a JSON pointer.
fn body_error(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
    for segment in e.path().iter() {
        match segment {
            Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
            Segment::Map { key } => {
                pointer.push_str(&format!("/{}", key.replace('~', "~0").replace('/', "~1")))
            }
            Segment::Enum { variant } => pointer.push_str(&format!("/{variant}")),
            Segment::Unknown => {}
        }
    }
    let inner = e.into_inner();
    if inner.is_syntax() || inner.is_eof() {
        return ApiError::BadBody {
            detail: format!("body is not valid JSON: {inner}"),
            pointer: None,
        };
    }
    let message = inner.to_string();
    // serde names a missing field in its message, not in the path; an unknown one is in the
    // path already.
    for prefix in ["missing field `", "unknown field `"] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some((field, _)) = rest.split_once('`')
            && !pointer.ends_with(&format!("/{field}"))
        {
            pointer.push('/');
            pointer.push_str(field);
        }
    }
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(&message)
        .to_string();
    let detail = if pointer.is_empty() {
        message
    } else {
        format!("{}: {message}", &pointer[1..])
    };
    ApiError::BadBody {
        detail,
        pointer: Some(if pointer.is_empty() {
            "/".into()
        } else {
            pointer
        }),
    }
}

/// A query string whose errors are problems, not plain text.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let axum::extract::Query(v) = axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::BadBody {
                detail: e.body_text(),
                pointer: None,
            })?;
        // As in a JSON body: Postgres text cannot hold U+0000.
        if let Some((name, _)) = parts
            .uri
            .query()
            .unwrap_or_default()
            .split('&')
            .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
            .find(|(name, value)| name.contains("%00") || value.contains("%00"))
        {
            return Err(
                CoreError::invalid(name, "may not contain the NUL character (U+0000)").into(),
            );
        }
        Ok(Self(v))
    }
}
