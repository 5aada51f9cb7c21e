//! `Idempotency-Key` on POSTs (draft-ietf-httpapi-idempotency-key-header): the middleware.
//!
//! A POST with a credential and `Idempotency-Key: "…"` (a structured-field string, or the bare
//! text) is claimed in Postgres before it runs ([`apex_core::idempotency`]). A retry with the
//! same key and the same request gets the first answer again, status and body, with
//! `Idempotent-Replayed: true`, and changes nothing; the same key on another request is 422,
//! and while the first is still running, 409. Only successful answers (2xx) are kept: a
//! request that failed changed nothing, so its retry runs again. Without a credential the
//! header is ignored (the answer could not be tied to who asked).

use apex_core::idempotency::{self, Answer, Begin};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::ApiError;

/// The request header.
pub const HEADER: &str = "idempotency-key";

/// Set on an answer given again.
pub const REPLAYED: &str = "idempotent-replayed";

/// Longest key accepted.
const MAX_KEY: usize = 255;

/// Largest request body read to be compared (the zone-file upload limit).
const MAX_BODY: usize = apex_core::zonefiles::MAX_FILE;

/// Headers of an answer kept with it.
const KEPT_HEADERS: [header::HeaderName; 2] = [header::CONTENT_TYPE, header::LOCATION];

fn problem(
    status: StatusCode,
    kind: &'static str,
    title: &'static str,
    detail: String,
) -> Response {
    ApiError::Refused {
        kind,
        title,
        status,
        detail,
    }
    .into_response()
}

/// The key as sent: a structured-field string (`"abc"`), or the bare text.
fn parse_key(value: &HeaderValue) -> Option<String> {
    let text = value.to_str().ok()?.trim();
    let key = match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
        None => text.to_string(),
    };
    (!key.is_empty()
        && key.len() <= MAX_KEY
        && key.bytes().all(|b| b.is_ascii_graphic() || b == b' '))
    .then_some(key)
}

/// Releases a claim whose request did not finish (an error, or the client went away and the
/// handler was dropped), in the background.
struct Claim {
    pool: sqlx::PgPool,
    /// The credential's secret and the key, until the answer is kept.
    held: Option<(String, String)>,
}

impl Claim {
    fn done(mut self) {
        self.held = None;
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let Some((secret, key)) = self.held.take() else {
            return;
        };
        // No runtime (shutting down): the claim goes stale and is taken over later.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let pool = self.pool.clone();
        runtime.spawn(async move {
            let req = idempotency::Request {
                secret: &secret,
                key: &key,
                method: "",
                path: "",
                content_type: "",
                body: &[],
            };
            if let Err(e) = idempotency::release(&pool, &req).await {
                tracing::warn!(error = %e, "could not release an idempotency key");
            }
        });
    }
}

/// The middleware.
pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(value) = req.headers().get(HEADER) else {
        return next.run(req).await;
    };
    let Some(key) = parse_key(value) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "urn:apex:problem:invalid-idempotency-key",
            "Invalid Idempotency-Key",
            format!(
                "Idempotency-Key must be a string of 1 to {MAX_KEY} printable ASCII characters, such as a UUID"
            ),
        );
    };
    let Some((_, secret)) = crate::limits::credential(req.headers()) else {
        return next.run(req).await;
    };
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(e) => {
            return ApiError::BadBody {
                detail: format!("could not read the body: {e}"),
                pointer: None,
            }
            .into_response();
        }
    };
    let method = parts.method.as_str().to_string();
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_string(), |p| p.as_str().to_string());
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let request = idempotency::Request {
        secret: &secret,
        key: &key,
        method: &method,
        path: &path,
        content_type: &content_type,
        body: &bytes,
    };
    let pool = &state.core.pool;
    match idempotency::begin(pool, &request).await {
        Err(e) => ApiError::from(e).into_response(),
        Ok(Begin::Replay(answer)) => replay(answer),
        Ok(Begin::Mismatch) => problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "urn:apex:problem:idempotency-key-reused",
            "Idempotency-Key reused",
            format!(
                "the Idempotency-Key {key:?} was used in the last 24 hours for another request (method, path or body differ); use a new key for a new request"
            ),
        ),
        Ok(Begin::InFlight) => problem(
            StatusCode::CONFLICT,
            "urn:apex:problem:idempotency-key-in-flight",
            "Request with this Idempotency-Key still running",
            format!(
                "a request with the Idempotency-Key {key:?} is still being handled; retry once it has been answered"
            ),
        ),
        Ok(Begin::First) => {
            let claim = Claim {
                pool: pool.clone(),
                held: Some((secret.clone(), key.clone())),
            };
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes.clone())))
                .await;
            if !response.status().is_success() {
                // Dropping the claim releases the key: nothing was changed.
                return response;
            }
            let (head, body) = response.into_parts();
            let body = match axum::body::to_bytes(body, usize::MAX).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "could not read an answer to keep it");
                    return Response::from_parts(head, Body::empty());
                }
            };
            let answer = Answer {
                status: head.status.as_u16(),
                headers: KEPT_HEADERS
                    .iter()
                    .filter_map(|name| {
                        head.headers
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .map(|v| (name.as_str().to_string(), v.to_string()))
                    })
                    .collect(),
                body: body.to_vec(),
            };
            match idempotency::complete(pool, &request, &answer).await {
                Ok(()) => claim.done(),
                Err(e) => {
                    tracing::warn!(error = %e, "could not keep the answer of an idempotent request")
                }
            }
            Response::from_parts(head, Body::from(body))
        }
    }
}

/// The kept answer, again.
fn replay(answer: Answer) -> Response {
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let headers = response.headers_mut();
    for (name, value) in answer.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.insert(n, v);
        }
    }
    headers.insert(REPLAYED, HeaderValue::from_static("true"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        let k = |s: &str| parse_key(&HeaderValue::from_str(s).unwrap());
        assert_eq!(k("\"8e03978e-40d5\"").as_deref(), Some("8e03978e-40d5"));
        assert_eq!(k("plain-key").as_deref(), Some("plain-key"));
        assert_eq!(k("\"\""), None);
        assert_eq!(k(&"x".repeat(256)), None);
    }
}
