//! Extractors: who is calling (authentication) and what they sent (JSON with precise errors).

use apex_core::CoreError;
use apex_core::auth::{Actor, authenticate_api_key};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::ApiError;

/// The authenticated caller, from `Authorization: Bearer <api key>`.
pub struct Authenticated(pub Actor);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or(CoreError::Unauthenticated)?;
        Ok(Self(authenticate_api_key(&state.core.pool, token).await?))
    }
}

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
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::BadBody {
                detail: e.body_text(),
                pointer: None,
            })?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut de).map_err(body_error)?;
        de.end().map_err(|e| ApiError::BadBody {
            detail: format!("body is not valid JSON: {e}"),
            pointer: None,
        })?;
        Ok(JsonBody(value))
    }
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
