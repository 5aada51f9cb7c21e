//! Extractors: where a request comes from, and a form posted from the platform's own pages.

use std::convert::Infallible;
use std::net::SocketAddr;

use apex_core::Core;
use apex_core::auth::sessions::Client;
use axum::extract::connect_info::MockConnectInfo;
use axum::extract::{ConnectInfo, Form, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde::de::DeserializeOwned;
use url::{Origin, Url};

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
        if !same_origin(req.headers(), &core.platform.accounts.public_url) {
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

/// Whether the browser's `Origin` (and `Sec-Fetch-Site`) say the request comes from this
/// site: `public_url`'s origin, or the origin of the `Host` it was sent to.
fn same_origin(headers: &HeaderMap, public_url: &str) -> bool {
    let fetch_site = headers
        .get("sec-fetch-site")
        .map(|v| v.as_bytes().to_ascii_lowercase());
    if matches!(fetch_site.as_deref(), Some(b"cross-site" | b"same-site")) {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    // `null` (a sandboxed frame, a redirect across sites) does not parse, and is refused.
    let Some(origin) = origin
        .to_str()
        .ok()
        .and_then(|o| Url::parse(o).ok())
        .map(|u| u.origin())
    else {
        return false;
    };
    let Origin::Tuple(scheme, ..) = &origin else {
        return false;
    };
    if Url::parse(public_url).is_ok_and(|u| u.origin() == origin) {
        return true;
    }
    // Behind a proxy that keeps `Host`, or at an address other than the public URL (a
    // developer's 127.0.0.1 and localhost): the scheme is the browser's, the host the one
    // it asked for.
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.contains(['/', '@', '?', '#']))
        .and_then(|host| Url::parse(&format!("{scheme}://{host}")).ok())
        .is_some_and(|u| u.origin() == origin)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    const PUBLIC: &str = "https://dns.example.net";

    #[test]
    fn origins() {
        // No browser headers: not a cross-site form.
        assert!(same_origin(&headers(&[]), PUBLIC));
        // The public URL, with or without its default port.
        assert!(same_origin(
            &headers(&[("origin", "https://dns.example.net")]),
            PUBLIC
        ));
        assert!(same_origin(
            &headers(&[("origin", "https://dns.example.net:443")]),
            PUBLIC
        ));
        // The Host it was sent to.
        assert!(same_origin(
            &headers(&[
                ("origin", "http://127.0.0.1:8080"),
                ("host", "127.0.0.1:8080")
            ]),
            PUBLIC
        ));
        assert!(same_origin(
            &headers(&[
                ("origin", "https://dns.example.net"),
                ("sec-fetch-site", "same-origin")
            ]),
            PUBLIC
        ));
        // Elsewhere.
        for bad in [
            "https://evil.example",
            "https://dns.example.net:8443",
            "null",
            "",
        ] {
            assert!(
                !same_origin(
                    &headers(&[("origin", bad), ("host", "dns.example.net")]),
                    PUBLIC
                ),
                "{bad}"
            );
        }
        assert!(!same_origin(
            &headers(&[
                ("origin", "http://127.0.0.1:8080"),
                ("host", "localhost:8080")
            ]),
            PUBLIC
        ));
        assert!(!same_origin(
            &headers(&[("origin", "https://x.example"), ("host", "x.example/@evil")]),
            PUBLIC
        ));
        assert!(!same_origin(
            &headers(&[("sec-fetch-site", "cross-site")]),
            PUBLIC
        ));
        assert!(!same_origin(
            &headers(&[
                ("origin", "https://dns.example.net"),
                ("sec-fetch-site", "same-site")
            ]),
            PUBLIC
        ));
    }
}
