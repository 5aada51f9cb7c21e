//! Cross-site request forgery: every form carries a token that only this browser's pages know.
//!
//! Each browser gets a random `apex_csrf` cookie (HttpOnly, `SameSite=Lax`) on its first
//! visit. A form's token is a hash of that cookie and, once signed in, of the session cookie:
//! another site can neither read the cookies nor so compute the token, and a token stops
//! working when its session ends. [`crate::request::Posted`] refuses a form whose token is
//! missing or wrong with 403 before anything is read from it, on top of the same-origin check.

use apex_core::Core;
use apex_core::auth::sessions;
use apex_core::auth::token::{random_token, token_hash};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};

/// The browser's random CSRF cookie.
pub(crate) const COOKIE: &str = "apex_csrf";

/// The token for a browser with these cookies.
pub(crate) fn token_of(browser: &str, session: Option<&str>) -> String {
    let digest = token_hash(&format!("apex-csrf\0{browser}\0{}", session.unwrap_or("")));
    hex::encode(&digest[..20])
}

/// The token the forms of a page answering `headers` must carry; `None` when the browser has
/// no CSRF cookie (it cannot happen behind [`ensure_cookie`]).
pub(crate) fn expected(headers: &HeaderMap) -> Option<String> {
    let jar = CookieJar::from_headers(headers);
    let browser = jar.get(COOKIE)?.value().to_string();
    let session = jar.get(sessions::COOKIE).map(|c| c.value().to_string());
    Some(token_of(
        &browser,
        session.as_deref().filter(|s| !s.is_empty()),
    ))
}

/// Whether `given` is the token of the browser sending `headers` (compared in constant time).
pub(crate) fn valid(headers: &HeaderMap, given: &str) -> bool {
    expected(headers).is_some_and(|want| {
        want.len() == given.len()
            && want
                .bytes()
                .zip(given.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    })
}

/// The signature of a note carried in a redirect's URL (remarks about a record just saved, an
/// address just invited): a hash of the note and this browser's token. A page shows such a
/// note only with its signature, so a link someone else made cannot put their words on it.
pub(crate) fn sign_note(csrf: &str, note: &str) -> String {
    hex::encode(&token_hash(&format!("apex-note\0{csrf}\0{note}"))[..16])
}

/// Whether `sig` is `note`'s signature for this browser.
pub(crate) fn note_signed(csrf: &str, note: &str, sig: &str) -> bool {
    !csrf.is_empty() && sign_note(csrf, note) == sig
}

/// The token of this request's page, for its forms.
pub(crate) struct Csrf(pub String);

impl FromRequestParts<Core> for Csrf {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &Core) -> Result<Self, Self::Rejection> {
        Ok(Self(expected(&parts.headers).unwrap_or_default()))
    }
}

/// Gives a browser without a CSRF cookie one: it is added to the request (so this request's
/// page has a token already) and set on the response.
pub(crate) async fn ensure_cookie(
    State(core): State<Core>,
    mut req: Request,
    next: Next,
) -> Response {
    let jar = CookieJar::from_headers(req.headers());
    if jar.get(COOKIE).is_some_and(|c| c.value().len() == 64) {
        return next.run(req).await;
    }
    let Ok(value) = random_token("") else {
        return next.run(req).await;
    };
    // The request's cookies, with ours in place of any malformed one.
    let mut cookies: Vec<String> = jar
        .iter()
        .filter(|c| c.name() != COOKIE)
        .map(|c| format!("{}={}", c.name(), c.value()))
        .collect();
    cookies.push(format!("{COOKIE}={value}"));
    req.headers_mut().remove(header::COOKIE);
    if let Ok(v) = HeaderValue::from_str(&cookies.join("; ")) {
        req.headers_mut().insert(header::COOKIE, v);
    }
    let mut response = next.run(req).await;
    let cookie = Cookie::build((COOKIE, value))
        .http_only(true)
        // Lax, not Strict: a Strict cookie is not sent when a link from elsewhere (a mail)
        // opens a page, which would then make a new one and break the forms open in other
        // tabs. The token and the origin check are what stop another site's POST.
        .same_site(SameSite::Lax)
        .secure(core.platform.accounts.secure_cookies)
        .path("/")
        .build();
    if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_depend_on_both_cookies() {
        let a = token_of("browser", None);
        assert_eq!(a.len(), 40);
        assert_ne!(a, token_of("other", None));
        assert_ne!(a, token_of("browser", Some("session")));
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("apex_csrf=browser; apex_session=session"),
        );
        assert!(valid(&headers, &token_of("browser", Some("session"))));
        assert!(!valid(&headers, &a));
        assert!(!valid(&headers, ""));
        assert!(!valid(&HeaderMap::new(), &a));
    }

    #[test]
    fn notes_are_shown_only_with_their_signature() {
        let sig = sign_note("token", "Saved, but…");
        assert!(note_signed("token", "Saved, but…", &sig));
        assert!(!note_signed("other token", "Saved, but…", &sig));
        assert!(!note_signed("token", "Call this number", &sig));
        assert!(!note_signed("", "x", &sign_note("", "x")));
    }
}
