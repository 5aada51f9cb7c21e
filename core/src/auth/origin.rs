//! Is a request from a browser on one of the platform's own pages? Cookie-authenticated
//! writes (the API's account endpoints) and the dashboard's forms ask, so that another
//! site's page cannot make a visitor's browser act for it.

use url::{Origin, Url};

/// The request headers that say where a browser request comes from.
#[derive(Debug, Clone, Copy, Default)]
pub struct Headers<'a> {
    /// `Origin`.
    pub origin: Option<&'a str>,
    /// `Host`.
    pub host: Option<&'a str>,
    /// `Sec-Fetch-Site`.
    pub fetch_site: Option<&'a str>,
}

/// Whether the browser's `Origin` (and `Sec-Fetch-Site`) say the request comes from this
/// site: `public_url`'s origin, or the origin of the `Host` it was sent to.
pub fn same_origin(headers: &Headers<'_>, public_url: &str) -> bool {
    let fetch_site = headers.fetch_site.map(str::to_ascii_lowercase);
    if matches!(fetch_site.as_deref(), Some("cross-site" | "same-site")) {
        return false;
    }
    let Some(origin) = headers.origin else {
        return true;
    };
    // `null` (a sandboxed frame, a redirect across sites) does not parse, and is refused.
    let Some(origin) = Url::parse(origin).ok().map(|u| u.origin()) else {
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
        .host
        .filter(|h| !h.contains(['/', '@', '?', '#']))
        .and_then(|host| Url::parse(&format!("{scheme}://{host}")).ok())
        .is_some_and(|u| u.origin() == origin)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn headers<'a>(pairs: &[(&'static str, &'a str)]) -> Headers<'a> {
        let get = |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        Headers {
            origin: get("origin"),
            host: get("host"),
            fetch_site: get("sec-fetch-site"),
        }
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
