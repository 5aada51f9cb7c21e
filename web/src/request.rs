//! Extractors: where a request comes from, and a form posted from the platform's own pages.

use std::convert::Infallible;
use std::net::SocketAddr;

use apex_core::Core;
use apex_core::auth::origin::{self, same_origin};
use apex_core::auth::sessions::Client;
use axum::body::Bytes;
use axum::extract::connect_info::MockConnectInfo;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde::de::DeserializeOwned;

use crate::csrf;
use crate::page::Notice;

/// The client's address and browser, as the API sees them (the TCP peer, or the address a
/// trusted proxy forwarded): sign-in and mail throttling and the audit trail use them.
pub(crate) struct ClientInfo(pub Client);

impl FromRequestParts<Core> for ClientInfo {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, core: &Core) -> Result<Self, Infallible> {
        // The server is started with connect info; router tests give MockConnectInfo.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .or_else(|| {
                parts
                    .extensions
                    .get::<MockConnectInfo<SocketAddr>>()
                    .map(|c| c.0.ip())
            });
        Ok(Self(Client::of_request(
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
            &core.platform.accounts.trusted_proxies,
        )))
    }
}

/// A form (`application/x-www-form-urlencoded`) posted from one of the platform's own
/// pages. Another site's page could otherwise make a visitor's browser post it (add a
/// record, confirm an address) without their knowing, so a form is refused with 403, and
/// nothing is read from it, unless it carries this browser's CSRF token ([`crate::csrf`]) and
/// its browser does not say it comes from elsewhere (an `Origin` that is neither
/// `APEX_PUBLIC_URL`'s nor the `Host` it was sent to, or `Sec-Fetch-Site: cross-site`).
///
/// Repeated fields (`id=1&id=2`, several boxes ticked) fill a `Vec`.
pub(crate) struct Posted<T>(pub T);

/// Just the token, whatever else the form holds.
#[derive(serde::Deserialize)]
struct TokenField {
    #[serde(default)]
    csrf: String,
}

impl<T: DeserializeOwned> FromRequest<Core> for Posted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, core: &Core) -> Result<Self, Response> {
        let from_here = same_origin(
            &origin_headers(req.headers()),
            &core.platform.accounts.public_url,
        );
        if !from_here {
            return Err(refused_form(req.uri().path(), req.headers(), false));
        }
        let multipart = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        let (parts, body) = req.into_parts();
        let req = Request::from_parts(parts.clone(), body);
        let bytes = if multipart {
            multipart_as_form(req, core).await?
        } else {
            Bytes::from_request(req, core).await.map_err(|e| {
                Notice::failed(
                    "Not understood",
                    format!("The form did not arrive as expected ({}).", e.body_text()),
                )
                .with(e.status())
            })?
        };
        let token = serde_html_form::from_bytes::<TokenField>(&bytes)
            .map(|t| t.csrf)
            .unwrap_or_default();
        if !csrf::valid(&parts.headers, &token) {
            return Err(refused_form(parts.uri.path(), &parts.headers, true));
        }
        match serde_html_form::from_bytes::<T>(&bytes) {
            Ok(form) => Ok(Self(form)),
            Err(e) => Err(Notice::failed(
                "Not understood",
                format!("The form did not arrive as expected ({e}). Go back and try again."),
            )
            .with(StatusCode::BAD_REQUEST)),
        }
    }
}

/// The answer to a form from another site, or without this browser's token: 403, nothing
/// done.
fn refused_form(path: &str, headers: &HeaderMap, same_origin: bool) -> Response {
    tracing::warn!(
        http.path = path,
        origin = ?headers.get(header::ORIGIN),
        same_origin,
        "form without this browser's CSRF token refused"
    );
    Notice::failed(
        "Refused",
        "This form did not come from this site's own page (or the page was open so long \
         that it expired), so nothing was done. Go back, reload the page and send it again.",
    )
    .with(StatusCode::FORBIDDEN)
}

/// A `multipart/form-data` form (one with a file to upload) as the urlencoded form it would
/// be without the file: each part a field, a file's content its value (empty when no file
/// was chosen). Files are text here (zone files); one that is not UTF-8 is refused.
async fn multipart_as_form(req: Request, core: &Core) -> Result<Bytes, Response> {
    let refused = |why: String| {
        Notice::failed(
            "Not understood",
            format!("The form did not arrive as expected ({why}). Go back and try again."),
        )
        .with(StatusCode::BAD_REQUEST)
    };
    let mut form = axum::extract::Multipart::from_request(req, core)
        .await
        .map_err(|e| refused(e.body_text()))?;
    let mut pairs: Vec<(String, String)> = Vec::new();
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| refused(e.body_text()))?
    {
        let name = field.name().unwrap_or_default().to_string();
        let file = field.file_name().map(ToString::to_string);
        let data = field.bytes().await.map_err(|e| refused(e.body_text()))?;
        let text = String::from_utf8(data.to_vec()).map_err(|_| {
            refused(match file {
                Some(f) => format!("{f} is not a text file"),
                None => format!("the field {name} is not text"),
            })
        })?;
        pairs.push((name, text));
    }
    let encoded = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    Ok(Bytes::from(encoded))
}

/// The headers [`same_origin`] reads.
fn origin_headers(headers: &HeaderMap) -> origin::Headers<'_> {
    let get = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    origin::Headers {
        origin: get(header::ORIGIN),
        host: get(header::HOST),
        fetch_site: headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()),
    }
}

/// A form with nothing but its CSRF token (a button).
#[derive(serde::Deserialize)]
pub(crate) struct Empty {}
