//! Where a webhook may point. A customer chooses the URL and the worker calls it from inside
//! the platform's network, so unless the operator allows it (`APEX_WEBHOOK_ALLOW_PRIVATE`)
//! only public addresses are accepted: not loopback, private, link-local, shared (CGNAT),
//! unique-local, multicast, documentation or otherwise reserved ones, nor IPv4 addresses of
//! those kinds inside IPv6 (mapped, NAT64, 6to4). The check runs when the webhook is created
//! and again at every delivery, on the very addresses the connection then uses, so a name
//! that later resolves to `127.0.0.1` (DNS rebinding) is refused too.

use std::net::{IpAddr, SocketAddr};

use url::{Host, Url};

/// Longest URL accepted.
pub const MAX_URL_LEN: usize = 2000;

/// Parses a webhook URL: `https` or `http`, with a host. The message says what is wrong.
pub fn parse(text: &str) -> Result<Url, String> {
    if text.len() > MAX_URL_LEN {
        return Err(format!("is longer than {MAX_URL_LEN} characters"));
    }
    let url = Url::parse(text.trim()).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(format!(
            "scheme {:?} is not allowed; use https (or http)",
            url.scheme()
        ));
    }
    match url.host() {
        None => Err("has no host".into()),
        Some(Host::Domain("")) => Err("has no host".into()),
        Some(_) => Ok(url),
    }
}

pub use crate::address::refused;

pub use crate::config::WebhookPorts as Ports;

/// Checks the port `url` leads to (its own, or its scheme's).
pub fn check_port(url: &Url, ports: &Ports) -> Result<(), String> {
    let port = url.port_or_known_default().unwrap_or(0);
    if ports.any || port == 80 || port == 443 || ports.extra.contains(&port) {
        return Ok(());
    }
    let mut allowed = vec!["80".to_string(), "443".to_string()];
    allowed.extend(ports.extra.iter().map(u16::to_string));
    Err(format!(
        "port {port} is not allowed; webhooks may call ports {}",
        allowed.join(", ")
    ))
}

/// Checks one address against the rule.
pub fn check_ip(ip: IpAddr) -> Result<(), String> {
    match refused(ip) {
        None => Ok(()),
        Some(why) => Err(format!(
            "{ip} is {why}; webhooks may only call public addresses"
        )),
    }
}

/// Resolves `host` (a name, not an address literal) and checks every address it has: one
/// refused address refuses the name, since the connection could go to any of them.
pub async fn resolve(
    host: &str,
    port: u16,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, String> {
    let lower = host.trim_end_matches('.').to_ascii_lowercase();
    // RFC 6761 section 6.3: these names are the local host whatever DNS says.
    if !allow_private && (lower == "localhost" || lower.ends_with(".localhost")) {
        return Err(format!(
            "{host} is the local host; webhooks may only call public addresses"
        ));
    }
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("{host} does not resolve: {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("{host} has no addresses"));
    }
    if !allow_private {
        for a in &addrs {
            check_ip(a.ip()).map_err(|e| format!("{host} resolves to {e}"))?;
        }
    }
    Ok(addrs)
}

/// Checks where `url` leads: its address, or every address its name resolves to.
pub async fn check(url: &Url, allow_private: bool) -> Result<(), String> {
    match url.host() {
        Some(Host::Ipv4(ip)) if !allow_private => check_ip(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) if !allow_private => check_ip(IpAddr::V6(ip)),
        Some(Host::Domain(name)) => resolve(
            name,
            url.port_or_known_default().unwrap_or(443),
            allow_private,
        )
        .await
        .map(|_| ()),
        Some(_) => Ok(()),
        None => Err("has no host".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports() {
        let ports = Ports {
            any: false,
            extra: vec![8443],
        };
        for ok in [
            "https://e.com/",
            "http://e.com/",
            "https://e.com:8443/",
            "http://e.com:443/",
        ] {
            assert!(check_port(&parse(ok).unwrap(), &ports).is_ok(), "{ok}");
        }
        let e = check_port(&parse("https://e.com:25/").unwrap(), &ports).unwrap_err();
        assert!(
            e.contains("port 25 is not allowed") && e.contains("80, 443, 8443"),
            "{e}"
        );
        let any = Ports {
            any: true,
            extra: vec![],
        };
        assert!(check_port(&parse("http://e.com:6379/").unwrap(), &any).is_ok());
    }

    #[test]
    fn urls() {
        assert!(parse("https://hooks.example.com/apex?x=1").is_ok());
        assert!(parse("http://[2001:db8::1]:8080/").is_ok());
        assert!(parse("ftp://example.com/").unwrap_err().contains("scheme"));
        assert!(parse("not a url").unwrap_err().contains("not a URL"));
        assert!(
            parse("mailto:a@example.com")
                .unwrap_err()
                .contains("scheme")
        );
        assert!(parse(&format!("https://e.com/{}", "a".repeat(MAX_URL_LEN))).is_err());
    }

    #[tokio::test]
    async fn names_of_the_local_host_are_refused() {
        for url in [
            "http://localhost:8080/",
            "https://api.localhost/",
            "http://LOCALHOST./",
        ] {
            let err = check(&parse(url).unwrap(), false).await.unwrap_err();
            assert!(err.contains("local host"), "{url}: {err}");
        }
        assert!(
            check(&parse("http://127.0.0.1/").unwrap(), true)
                .await
                .is_ok()
        );
        assert!(
            check(&parse("http://[::1]/").unwrap(), false)
                .await
                .is_err()
        );
    }
}
