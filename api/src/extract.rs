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
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(de)
            .map(JsonBody)
            .map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner();
                if inner.is_syntax() || inner.is_eof() {
                    ApiError::BadBody {
                        detail: format!("body is not valid JSON: {inner}"),
                        pointer: None,
                    }
                } else {
                    let pointer = if path == "." {
                        String::new()
                    } else {
                        format!("/{}", path.replace('.', "/"))
                    };
                    ApiError::BadBody {
                        detail: if pointer.is_empty() {
                            inner.to_string()
                        } else {
                            format!("{}: {inner}", &pointer[1..])
                        },
                        pointer: Some(if pointer.is_empty() {
                            "/".into()
                        } else {
                            pointer
                        }),
                    }
                }
            })
    }
}
