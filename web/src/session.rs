//! Who is looking: the signed-in user behind the session cookie, and the page frame
//! ([`crate::page::Chrome`]) drawn for them.

use apex_core::Core;
use apex_core::actor::Actor;
use apex_core::auth::sessions;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;

use crate::csrf;
use crate::page::{Chrome, Failure, Notice, UserBar};
use crate::request::ClientInfo;

/// A signed-in user: the actor every apex-core call is made as, and the page frame.
///
/// Without an active session, a GET is sent to the sign-in page (and back afterwards) and
/// anything else gets 401. A user the platform requires a second factor of, who has none
/// yet, is sent to enrol one: nothing else is allowed to them.
pub(crate) struct Viewer {
    /// Who acts.
    pub actor: Actor,
    /// The page frame.
    pub chrome: Chrome,
}

impl FromRequestParts<Core> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, core: &Core) -> Result<Self, Response> {
        let Ok(ClientInfo(client)) = ClientInfo::from_request_parts(parts, core).await;
        let jar = CookieJar::from_headers(&parts.headers);
        let token = jar.get(sessions::COOKIE).map(|c| c.value().to_string());
        let actor = match token {
            Some(t) => sessions::authenticate(core, &t, &client).await,
            None => Err(apex_core::CoreError::Unauthenticated),
        };
        let actor = match actor {
            Ok(a) => a,
            Err(apex_core::CoreError::Unauthenticated) => return Err(sign_in_first(parts)),
            Err(e) => {
                return Err(crate::page::failure_page(
                    Failure::from(e),
                    Chrome::default(),
                ));
            }
        };
        let path = parts.uri.path();
        if actor.needs_2fa && !path.starts_with("/account/2fa") && path != "/logout" {
            return Err(Redirect::to("/account/2fa").into_response());
        }
        let chrome = Chrome {
            csrf: csrf::expected(&parts.headers).unwrap_or_default(),
            user: Some(UserBar {
                email: actor.email.clone().unwrap_or_default(),
                admin: actor.roles.any(),
                impersonator: actor.impersonator.as_ref().map(|i| i.email.clone()),
            }),
            section: "",
        };
        Ok(Self { actor, chrome })
    }
}

/// Not signed in: to the sign-in page, coming back here afterwards.
fn sign_in_first(parts: &Parts) -> Response {
    if parts.method != Method::GET {
        return Notice::failed(
            "Signed out",
            "You are not signed in (any more), so nothing was done. Sign in and try again.",
        )
        .then("/login", "Sign in")
        .with(StatusCode::UNAUTHORIZED);
    }
    let here = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let next: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
    Redirect::to(&format!("/login?next={next}")).into_response()
}

/// Adds a `Set-Cookie` for one of the platform's cookies (session, remembered device, the
/// administrator's kept session) to `response`: `apex_core`'s attributes, `age` from now.
pub(crate) fn set_cookie(
    core: &Core,
    response: &mut Response,
    name: &str,
    value: &str,
    age: chrono::TimeDelta,
) {
    let cookie = sessions::set_cookie(&core.platform.accounts, name, value, age);
    if let Ok(v) = axum::http::HeaderValue::from_str(&cookie) {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, v);
    }
}

/// Tells the browser to forget the cookie `name` (its session has ended).
pub(crate) fn clear_cookie(core: &Core, response: &mut Response, name: &str) {
    set_cookie(core, response, name, "", chrono::TimeDelta::zero());
}

/// A place to go back to after signing in: a path on this site, nothing else (an open
/// redirect would let a phishing link send people on from the sign-in page).
pub(crate) fn safe_next(next: Option<&str>) -> String {
    match next {
        // Browsers drop tabs and newlines from a URL before reading it (`/\t/evil.test` is
        // `//evil.test`), so no control character or space gets through either.
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            n.into()
        }
        _ => "/domains".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/domains/a.test")), "/domains/a.test");
        assert_eq!(safe_next(Some("//evil.test/")), "/domains");
        assert_eq!(safe_next(Some("https://evil.test/")), "/domains");
        assert_eq!(safe_next(Some("/\\evil.test")), "/domains");
        assert_eq!(safe_next(Some("/\t/evil.test")), "/domains");
        assert_eq!(safe_next(Some("/\n/evil.test")), "/domains");
        assert_eq!(safe_next(Some("/ /evil.test")), "/domains");
        assert_eq!(safe_next(None), "/domains");
    }
}
