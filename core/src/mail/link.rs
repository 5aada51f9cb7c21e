//! Finding links in mail bodies, so tests (and people helping someone whose mail was only
//! logged) can follow a verification or reset link.

/// The first `http(s)` URL in `body` whose text contains `path_prefix`
/// (`/verify-email`), without the punctuation that may follow it in a sentence.
pub fn find_link(body: &str, path_prefix: &str) -> Option<String> {
    body.split(|c: char| c.is_whitespace() || c == '<' || c == '>')
        .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
        .map(|w| w.trim_end_matches(['.', ',', ';', ':', ')', '!', '?', '"', '\'']))
        .filter(|w| url::Url::parse(w).is_ok())
        .find(|w| w.contains(path_prefix))
        .map(str::to_string)
}

/// The `token` query value (decoded) of the link [`find_link`] finds.
pub fn find_token(body: &str, path_prefix: &str) -> Option<String> {
    let link = find_link(body, path_prefix)?;
    let url = url::Url::parse(&link).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_link_and_its_token() {
        let body = "See https://dns.example.net/ for more.\n\n\
                    Open https://dns.example.net/reset-password?token=a%2Bb&x=1.\n\
                    Or https://dns.example.net/verify-email?token=second\n";
        assert_eq!(
            find_link(body, "/reset-password").as_deref(),
            Some("https://dns.example.net/reset-password?token=a%2Bb&x=1")
        );
        assert_eq!(find_token(body, "/reset-password").as_deref(), Some("a+b"));
        assert_eq!(find_token(body, "/verify-email").as_deref(), Some("second"));
        assert_eq!(find_link(body, "/invitations"), None);
        assert_eq!(
            find_token("https://dns.example.net/verify-email", "/verify"),
            None
        );
    }
}
