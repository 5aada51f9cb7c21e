//! The API's one error type, rendered as RFC 9457 problem details
//! (`application/problem+json`). Internal errors are logged with their cause and answered
//! with a generic message.

use apex_core::CoreError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One problem with one field.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// JSON pointer to the field in the request body (`/content`).
    pub pointer: String,
    /// What is wrong.
    pub detail: String,
}

/// A problem at a line and column of an uploaded zone file.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LineError {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// What is wrong.
    pub detail: String,
}

/// An RFC 9457 problem document (`application/problem+json`), the body of every error.
/// The API sends no `instance` member.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URN naming the kind of problem: `urn:apex:problem:` and one of `unauthenticated`,
    /// `sign-in-failed`, `forbidden`, `not-found`, `too-many-requests`, `malformed-body`,
    /// `unsupported-media-type`, `invalid`, `invalid-zone-file`, `conflict`, `internal`
    /// (docs/API.md says when each is used).
    #[serde(rename = "type")]
    #[schema(example = "urn:apex:problem:invalid")]
    pub kind: &'static str,
    /// Short summary of the kind.
    pub title: &'static str,
    /// HTTP status.
    pub status: u16,
    /// This occurrence, in a sentence.
    pub detail: String,
    /// Field-level errors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Errors at lines of a zone file.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<LineError>,
}

/// Every way an API request fails.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// From the platform's rules.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// The body is not JSON, or not the JSON expected.
    #[error("{detail}")]
    BadBody {
        /// What is wrong.
        detail: String,
        /// Where, as a JSON pointer, if known.
        pointer: Option<String>,
    },
    /// The body is not `application/json`.
    #[error("expected a JSON body (Content-Type: application/json)")]
    UnsupportedMediaType,
    /// No such route or resource.
    #[error("{0}")]
    NotFound(String),
    /// No valid credential, with a hint on which one this endpoint wants.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// A sign-in that did not go through (wrong password or code), said the same for all.
    #[error("{0}")]
    SignInFailed(&'static str),
    /// A request refused by the HTTP layer (rate limits, idempotency keys, overload): a
    /// problem of its own kind.
    #[error("{detail}")]
    Refused {
        /// The problem type (`urn:apex:problem:…`).
        kind: &'static str,
        /// Its title.
        title: &'static str,
        /// The status.
        status: StatusCode,
        /// This occurrence.
        detail: String,
    },
    /// Too many attempts: try again after this long.
    #[error("{detail}")]
    TooManyRequests {
        /// When to try again.
        retry_after: std::time::Duration,
        /// What was throttled.
        detail: String,
    },
}

impl From<apex_core::users::login::LoginError> for ApiError {
    fn from(e: apex_core::users::login::LoginError) -> Self {
        use apex_core::users::login::LoginError;
        match e {
            LoginError::Invalid(detail) => ApiError::SignInFailed(detail),
            LoginError::Throttled(wait) => ApiError::TooManyRequests {
                retry_after: wait,
                detail: format!(
                    "too many failed sign-ins for this account or from this address: try again in {} seconds",
                    wait.as_secs().max(1)
                ),
            },
            LoginError::Refused(detail) => ApiError::Core(CoreError::Forbidden(detail)),
            LoginError::Core(e) => ApiError::Core(e),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        Self::Core(CoreError::Database(e))
    }
}

/// The JSON pointer (RFC 6901) of a field path: `soa.refresh` → `/soa/refresh`,
/// `secondaries[1].addresses[0]` → `/secondaries/1/addresses/0`.
fn pointer(field: &str) -> String {
    format!("/{}", field.replace(['.', '['], "/").replace(']', ""))
}

impl ApiError {
    /// The problem document for this error.
    pub fn problem(&self) -> Problem {
        let p = |kind, title, status: StatusCode, detail: String, errors| Problem {
            kind,
            title,
            status: status.as_u16(),
            detail,
            errors,
            lines: Vec::new(),
        };
        match self {
            ApiError::Core(CoreError::Unauthenticated) => p(
                "urn:apex:problem:unauthenticated",
                "Authentication required",
                StatusCode::UNAUTHORIZED,
                "send a valid API key as 'Authorization: Bearer <key>' (account endpoints also take a signed-in session)".into(),
                vec![],
            ),
            ApiError::Unauthenticated(detail) => p(
                "urn:apex:problem:unauthenticated",
                "Authentication required",
                StatusCode::UNAUTHORIZED,
                (*detail).into(),
                vec![],
            ),
            ApiError::SignInFailed(detail) => p(
                "urn:apex:problem:sign-in-failed",
                "Sign-in failed",
                StatusCode::UNAUTHORIZED,
                (*detail).into(),
                vec![],
            ),
            ApiError::Core(e @ CoreError::Throttled(_)) => p(
                "urn:apex:problem:too-many-requests",
                "Too many requests",
                StatusCode::TOO_MANY_REQUESTS,
                e.to_string(),
                vec![],
            ),
            ApiError::Core(CoreError::Busy { detail, .. }) => p(
                "urn:apex:problem:busy",
                "Too much at once",
                StatusCode::TOO_MANY_REQUESTS,
                detail.clone(),
                vec![],
            ),
            ApiError::TooManyRequests { detail, .. } => p(
                "urn:apex:problem:too-many-requests",
                "Too many requests",
                StatusCode::TOO_MANY_REQUESTS,
                detail.clone(),
                vec![],
            ),
            ApiError::Core(e @ CoreError::PreconditionFailed { .. }) => p(
                "urn:apex:problem:precondition-failed",
                "The zone has changed",
                StatusCode::PRECONDITION_FAILED,
                e.to_string(),
                vec![],
            ),
            ApiError::Core(CoreError::RevertRefused(d)) => p(
                "urn:apex:problem:revert-refused",
                "Revert refused",
                StatusCode::CONFLICT,
                d.clone(),
                vec![],
            ),
            ApiError::Core(CoreError::QuotaExceeded { detail, .. }) => p(
                "urn:apex:problem:quota-exceeded",
                "Quota exceeded",
                StatusCode::FORBIDDEN,
                detail.clone(),
                vec![],
            ),
            ApiError::Refused {
                kind,
                title,
                status,
                detail,
            } => p(kind, title, *status, detail.clone(), vec![]),
            ApiError::Core(CoreError::Forbidden(d)) => p(
                "urn:apex:problem:forbidden",
                "Forbidden",
                StatusCode::FORBIDDEN,
                d.clone(),
                vec![],
            ),
            ApiError::Core(e @ CoreError::NotFound { .. }) => p(
                "urn:apex:problem:not-found",
                "Not found",
                StatusCode::NOT_FOUND,
                e.to_string(),
                vec![],
            ),
            ApiError::Core(CoreError::Invalid { field, message }) => p(
                "urn:apex:problem:invalid",
                "Invalid input",
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("{field}: {message}"),
                vec![FieldError {
                    pointer: pointer(field),
                    detail: message.clone(),
                }],
            ),
            ApiError::Core(CoreError::Conflict { field, message }) => p(
                "urn:apex:problem:conflict",
                "Conflict",
                StatusCode::CONFLICT,
                format!("{field}: {message}"),
                vec![FieldError {
                    pointer: pointer(field),
                    detail: message.clone(),
                }],
            ),
            ApiError::Core(CoreError::ZoneFile(list)) => {
                let first = list.first().map_or_else(String::new, |e| {
                    format!(
                        "; first: line {}, column {}: {}",
                        e.line, e.column, e.message
                    )
                });
                Problem {
                    kind: "urn:apex:problem:invalid-zone-file",
                    title: "Invalid zone file",
                    status: StatusCode::UNPROCESSABLE_ENTITY.as_u16(),
                    detail: format!(
                        "the zone file has {} problem(s){first}; nothing was changed",
                        list.len()
                    ),
                    errors: vec![],
                    lines: list
                        .iter()
                        .map(|e| LineError {
                            line: e.line,
                            column: e.column,
                            detail: e.message.clone(),
                        })
                        .collect(),
                }
            }
            ApiError::Core(CoreError::Database(_) | CoreError::Internal(_)) => p(
                "urn:apex:problem:internal",
                "Internal error",
                StatusCode::INTERNAL_SERVER_ERROR,
                "something went wrong on our side; it has been logged".into(),
                vec![],
            ),
            ApiError::BadBody { detail, pointer } => p(
                "urn:apex:problem:malformed-body",
                "Malformed request body",
                StatusCode::BAD_REQUEST,
                detail.clone(),
                pointer
                    .iter()
                    .map(|ptr| FieldError {
                        pointer: ptr.clone(),
                        detail: detail.clone(),
                    })
                    .collect(),
            ),
            ApiError::UnsupportedMediaType => p(
                "urn:apex:problem:unsupported-media-type",
                "Unsupported media type",
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                self.to_string(),
                vec![],
            ),
            ApiError::NotFound(d) => p(
                "urn:apex:problem:not-found",
                "Not found",
                StatusCode::NOT_FOUND,
                d.clone(),
                vec![],
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Core(e @ (CoreError::Database(_) | CoreError::Internal(_))) = &self {
            let mut chain = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                chain.push_str(": ");
                chain.push_str(&s.to_string());
                source = s.source();
            }
            tracing::error!(error = %chain, "request failed");
        }
        let problem = self.problem();
        let status =
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(problem)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED && !matches!(self, ApiError::SignInFailed(_)) {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let ApiError::TooManyRequests { retry_after, .. }
        | ApiError::Core(CoreError::Throttled(retry_after))
        | ApiError::Core(CoreError::Busy { retry_after, .. }) = &self
        {
            // Whole seconds, rounded up: a client that waits this long gets in.
            let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
                headers.insert(header::RETRY_AFTER, v);
            }
        }
        response
    }
}
