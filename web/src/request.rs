//! Extractors: where a request comes from, and a form posted from the platform's own pages.

use std::convert::Infallible;
use std::net::SocketAddr;

use apex_core::Core;
use apex_core::auth::origin::{self, same_origin};
use apex_core::auth::sessions::Client;
use axum::extract::connect_info::MockConnectInfo;
use axum::extract::{ConnectInfo, Form, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde::de::DeserializeOwned;

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
/// pages. Another site's page could otherwise make a visitor's browser post it (confirm an
/// address, sign up) without their knowing, so a request is refused when its browser says
/// it comes from elsewhere: an `Origin` that is neither `APEX_PUBLIC_URL`'s nor the `Host`
/// it was sent to, or `Sec-Fetch-Site: cross-site`. A request with neither header (not a
/// browser, or a very old one) passes: the tokens it carries are the real protection.
pub(crate) struct Posted<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Core> for Posted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, core: &Core) -> Result<Self, Response> {
        if !same_origin(
            &origin_headers(req.headers()),
            &core.platform.accounts.public_url,
        ) {
            tracing::warn!(
                http.path = req.uri().path(),
                origin = ?req.headers().get(header::ORIGIN),
                "cross-origin form refused"
            );
            return Err(Notice::failed(
                "Refused",
                "This form was sent from another site, so nothing was done. \
                 Open the link from your mail again and use the form on this site.",
            )
            .with(StatusCode::FORBIDDEN));
        }
        match Form::<T>::from_request(req, core).await {
            Ok(Form(form)) => Ok(Self(form)),
            Err(e) => Err(Notice::failed(
                "Not understood",
                format!(
                    "The form did not arrive as expected ({}). Go back and try again.",
                    e.body_text()
                ),
            )
            .with(StatusCode::BAD_REQUEST)),
        }
    }
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
