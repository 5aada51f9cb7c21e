//! Rate limits on the API: the middleware around every route but `/healthz` and `/readyz`.
//!
//! Each request draws from its credential's bucket (an API key, or a dashboard session) and
//! its client address's, or, without a credential (sign-up, sign-in), from its address's
//! tighter anonymous bucket. The credential is recognised by a hash of what the request
//! carries, before any database lookup, so invalid keys are limited too. The decision is
//! apex-core's ([`apex_core::ratelimit`]): shared through Redis, per process without it.
//!
//! Every limited answer carries `RateLimit-Policy` and `RateLimit`
//! (draft-ietf-httpapi-ratelimit-headers-10, structured fields: `"credential";q=30;w=6` and
//! `"credential";r=29;t=1`, `t` being the seconds until the bucket has a token more); a
//! refused request gets 429 with `Retry-After`, the whole seconds until it would fit.

use std::sync::Arc;

use apex_core::auth::sessions;
use apex_core::ratelimit::{self, Draw, Limiter, Verdict};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;

use crate::AppState;
use crate::error::ApiError;

/// Largest body of a domain PATCH read to see whether it touches DNSSEC.
const MAX_PATCH_BODY: usize = 1024 * 1024;

/// What the middleware needs: the limiter of this router, and the state (trusted proxies).
#[derive(Clone)]
pub struct Limits {
    limiter: Arc<Limiter>,
    state: AppState,
}

impl Limits {
    /// The limits of the router built on `state`, with buckets of its own in memory and
    /// shared ones in the Redis of its queue.
    pub fn new(state: &AppState) -> Self {
        Self {
            limiter: Arc::new(Limiter::new(
                state.core.platform.rate_limits.clone(),
                state.core.queue.clone(),
            )),
            state: state.clone(),
        }
    }
}

/// The credential a request carries, as `(kind, secret)`: a bearer token (`key`), else a
/// session cookie (`session`).
pub(crate) fn credential(headers: &HeaderMap) -> Option<(&'static str, String)> {
    if let Some(v) = headers.get(header::AUTHORIZATION) {
        let v = v.to_str().unwrap_or_default();
        let token = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
            .unwrap_or(v)
            .trim();
        return Some(("key", token.to_string()));
    }
    CookieJar::from_headers(headers)
        .get(sessions::COOKIE)
        .map(|c| ("session", c.value().to_string()))
}

/// Is this request one of the expensive ones: creating a domain, importing a zone, reverting
/// one, or a domain PATCH that touches DNSSEC? Reads (and puts back) the body of a domain
/// PATCH.
async fn expensive(req: Request) -> Result<(bool, Request), ApiError> {
    let path = req.uri().path().trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let expensive = match (req.method(), segments.as_slice()) {
        (&Method::POST, ["api", "v1", "domains"]) => true,
        (&Method::POST, ["api", "v1", "domains", _, "import" | "revert"]) => true,
        // A batch may set thousands of RRsets.
        (&Method::PUT, ["api", "v1", "domains", _, "rrsets"]) => true,
        (&Method::PATCH, ["api", "v1", "domains", _]) => {
            let (parts, body) = req.into_parts();
            let bytes = axum::body::to_bytes(body, MAX_PATCH_BODY)
                .await
                .map_err(|e| ApiError::BadBody {
                    detail: format!("could not read the body: {e}"),
                    pointer: None,
                })?;
            let dnssec = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .is_some_and(|v| v.get("dnssec").is_some());
            return Ok((dnssec, Request::from_parts(parts, Body::from(bytes))));
        }
        _ => false,
    };
    Ok((expensive, req))
}

/// The middleware.
pub async fn layer(State(limits): State<Limits>, req: Request, next: Next) -> Response {
    let settings = limits.limiter.settings();
    let path = req.uri().path();
    if !settings.enabled || path == "/healthz" || path == "/readyz" {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let address = crate::extract::client(&parts, &limits.state).ip;
    let req = Request::from_parts(parts, body);
    let address = address.map(ratelimit::address_subject);
    let mut draws = Vec::with_capacity(2);
    match credential(req.headers()) {
        Some((kind, secret)) => {
            if let Some(policy) = settings.credential {
                draws.push(Draw {
                    policy,
                    subject: ratelimit::credential_subject(kind, &secret),
                });
            }
            if let (Some(policy), Some(a)) = (settings.address, &address) {
                draws.push(Draw {
                    policy,
                    subject: a.clone(),
                });
            }
        }
        None => {
            if let (Some(policy), Some(a)) = (settings.anonymous, address) {
                draws.push(Draw { policy, subject: a });
            }
        }
    }
    if draws.is_empty() {
        return next.run(req).await;
    }
    let (expensive, req) = match expensive(req).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let cost = if expensive {
        settings.expensive_cost
    } else {
        1
    };
    let verdict = limits.limiter.check(&draws, cost).await;
    let mut response = if verdict.allowed {
        next.run(req).await
    } else {
        refusal(&verdict, cost).into_response()
    };
    add_headers(response.headers_mut(), &verdict);
    response
}

/// The 429 problem, naming the limit that refused (the one with the longest wait).
fn refusal(verdict: &Verdict, cost: u32) -> ApiError {
    let secs = verdict.retry_after.as_secs() + u64::from(verdict.retry_after.subsec_nanos() > 0);
    let tightest = verdict
        .buckets
        .iter()
        .filter(|b| u64::from(cost.min(b.policy.burst)) > b.remaining)
        .max_by_key(|b| b.reset)
        .or_else(|| verdict.buckets.first());
    let whose = match tightest.map(|b| b.policy.name) {
        Some("credential") => "this credential",
        Some("address") => "your address",
        _ => "requests without a credential from your address",
    };
    let rate = tightest
        .map(|b| {
            format!(
                " ({} a minute, bursts of {})",
                b.policy.per_minute, b.policy.burst
            )
        })
        .unwrap_or_default();
    let what = if cost > 1 {
        format!("this request costs {cost} tokens")
    } else {
        "this request costs a token".to_string()
    };
    ApiError::TooManyRequests {
        retry_after: verdict.retry_after,
        detail: format!(
            "rate limit of {whose} reached{rate}; {what}: try again in {} second(s)",
            secs.max(1)
        ),
    }
}

/// `RateLimit-Policy` and `RateLimit`, one list member per bucket drawn from.
fn add_headers(headers: &mut HeaderMap, verdict: &Verdict) {
    if verdict.buckets.is_empty() {
        return;
    }
    let policy = verdict
        .buckets
        .iter()
        .map(|b| {
            format!(
                "\"{}\";q={};w={}",
                b.policy.name,
                b.policy.burst,
                b.policy.window_secs()
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let state = verdict
        .buckets
        .iter()
        .map(|b| {
            let t = b.next.as_secs() + u64::from(b.next.subsec_nanos() > 0);
            format!("\"{}\";r={};t={t}", b.policy.name, b.remaining)
        })
        .collect::<Vec<_>>()
        .join(", ");
    for (name, value) in [("ratelimit-policy", policy), ("ratelimit", state)] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
}
