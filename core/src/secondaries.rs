//! A domain's own secondaries: nameservers outside the platform's fleet that also serve the
//! zone (a customer's own BIND or Knot, another provider). Each is a host name, published in
//! the zone's apex NS set next to the platform's, and the addresses the worker sends NOTIFY
//! to (unsigned, RFC 1996 retries) and accepts zone transfers from without TSIG, the way
//! `also-notify` and `allow-transfer` work in BIND. Set with `PATCH /api/v1/domains/{name}`
//! `{"secondaries": [{"host": "ns3.example.net.", "addresses": ["203.0.113.53"]}]}`.

use std::net::IpAddr;

use apex_zone::Name;
use apex_zone::name::{TargetKind, ZoneName, canonical, parse_target};
use apex_zone::render::ApexNs;
use serde::{Deserialize, Serialize};

use crate::config::Platform;
use crate::error::CoreError;
use crate::ids::DomainId;

/// Most secondaries a domain may list.
pub const MAX_SECONDARIES: usize = 10;
/// Most addresses one secondary may have.
pub const MAX_ADDRESSES: usize = 8;

/// One secondary, as stored (`domains.secondaries`) and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Secondary {
    /// Its name, absolute and lowercase (`ns3.example.net.`).
    pub host: String,
    /// Where it gets NOTIFY and transfers from; may be empty (then it is only published).
    #[schema(value_type = Vec<String>)]
    pub addresses: Vec<IpAddr>,
}

/// One secondary as a request gives it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecondaryInput {
    /// Host name; the trailing dot is optional (it is always absolute).
    pub host: String,
    /// IPv4 and IPv6 addresses.
    #[serde(default)]
    pub addresses: Vec<String>,
}

/// Checks a requested list: host names, no platform nameserver, no repeats, addresses that
/// parse and are public unless the platform allows others. Errors name the field
/// (`secondaries[1].addresses[0]`). Hosts inside the zone are for the caller to check
/// against the zone's address records ([`in_zone`]).
pub fn parse(input: &[SecondaryInput], platform: &Platform) -> Result<Vec<Secondary>, CoreError> {
    if input.len() > MAX_SECONDARIES {
        return Err(CoreError::invalid(
            "secondaries",
            format!(
                "{} secondaries given; at most {MAX_SECONDARIES}",
                input.len()
            ),
        ));
    }
    let mut out: Vec<Secondary> = Vec::with_capacity(input.len());
    for (i, s) in input.iter().enumerate() {
        let field = format!("secondaries[{i}].host");
        let text = s.host.trim();
        let absolute = if text.ends_with('.') {
            text.to_string()
        } else {
            format!("{text}.")
        };
        let host = parse_target(&absolute, TargetKind::Host, None)
            .map(|n| canonical(&n))
            .map_err(|e| CoreError::invalid(&field, format!("{text:?}: {e}")))?;
        if host.num_labels() < 2 {
            return Err(CoreError::invalid(
                &field,
                format!("{text:?} is not a nameserver's host name"),
            ));
        }
        if platform.apex_ns.hosts.contains(&host) {
            return Err(CoreError::invalid(
                &field,
                format!(
                    "{host} is one of the platform's nameservers, which serve the zone already"
                ),
            ));
        }
        let host_text = host.to_ascii();
        if out.iter().any(|o| o.host == host_text) {
            return Err(CoreError::invalid(
                &field,
                format!("{host} is listed twice"),
            ));
        }
        if s.addresses.len() > MAX_ADDRESSES {
            return Err(CoreError::invalid(
                format!("secondaries[{i}].addresses"),
                format!(
                    "{} addresses given; at most {MAX_ADDRESSES}",
                    s.addresses.len()
                ),
            ));
        }
        let mut addresses = Vec::with_capacity(s.addresses.len());
        for (j, a) in s.addresses.iter().enumerate() {
            let field = format!("secondaries[{i}].addresses[{j}]");
            // IPv4-mapped IPv6 (`::ffff:192.0.2.1`) is the IPv4 address: stored as one, as
            // the transfer server sees its peers.
            let ip: IpAddr = a
                .trim()
                .parse::<IpAddr>()
                .map_err(|_| CoreError::invalid(&field, format!("{a:?} is not an IP address")))?
                .to_canonical();
            if !platform.secondary_allow_private
                && let Some(why) = crate::address::refused(ip)
            {
                return Err(CoreError::invalid(
                    &field,
                    format!("{ip} is {why}; a secondary needs a public address"),
                ));
            }
            if addresses.contains(&ip) {
                return Err(CoreError::invalid(&field, format!("{ip} is listed twice")));
            }
            addresses.push(ip);
        }
        out.push(Secondary {
            host: host_text,
            addresses,
        });
    }
    Ok(out)
}

/// The hosts of `list` inside `zone`, with their index in the list (they need A or AAAA
/// records in the zone, or resolvers cannot reach them).
pub fn in_zone<'a>(zone: &ZoneName, list: &'a [Secondary]) -> Vec<(usize, &'a str)> {
    list.iter()
        .enumerate()
        .filter(|(_, s)| {
            Name::from_ascii(&s.host)
                .map(|n| zone.contains(&n))
                .unwrap_or(false)
        })
        .map(|(i, s)| (i, s.host.as_str()))
        .collect()
}

/// The first host of `list` inside the domain's zone that has no A or AAAA record there,
/// with its index: resolvers reach an in-zone nameserver only through its address (glue in
/// the parent), so such a host must keep one.
pub async fn missing_address<'a>(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    domain: DomainId,
    zone: &ZoneName,
    list: &'a [Secondary],
) -> Result<Option<(usize, &'a str)>, CoreError> {
    for (i, host) in in_zone(zone, list) {
        let has_address = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM records WHERE domain_id = $1 AND name = $2
                                 AND type IN ('A', 'AAAA')) AS "e!""#,
            domain.0,
            host,
        )
        .fetch_one(&mut **tx)
        .await?;
        if !has_address {
            return Ok(Some((i, host)));
        }
    }
    Ok(None)
}

/// Refuses a record write that leaves one of the domain's in-zone secondaries (`list`, its
/// own) without an address (checked in the write's transaction, before it commits).
pub async fn keep_addresses(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    domain: DomainId,
    zone: &ZoneName,
    list: &[Secondary],
) -> Result<(), CoreError> {
    match missing_address(tx, domain, zone, list).await? {
        None => Ok(()),
        Some((_, host)) => Err(CoreError::conflict(
            "name",
            format!(
                "{host} is one of the domain's secondaries and needs an A or AAAA record in the zone; remove it from the domain's secondaries first"
            ),
        )),
    }
}

/// The zone's apex NS set: the platform's nameservers, then the domain's own secondaries.
pub fn apex_ns(platform: &Platform, list: &[Secondary]) -> ApexNs {
    let mut ns = platform.apex_ns.clone();
    for s in list {
        if let Ok(host) = Name::from_ascii(&s.host)
            && !ns.hosts.contains(&host)
        {
            ns.hosts.push(host);
        }
    }
    ns
}

/// Reads `domains.secondaries`; a value that does not parse (never written by Apex) is
/// treated as no secondaries, with a warning.
pub fn from_db(value: serde_json::Value) -> Vec<Secondary> {
    serde_json::from_value(value).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "domains.secondaries does not parse; ignored");
        Vec::new()
    })
}

/// Every address of `list`, for NOTIFY.
pub fn addresses(list: &[Secondary]) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::new();
    for a in list.iter().flat_map(|s| s.addresses.iter()) {
        if !out.contains(a) {
            out.push(*a);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platform(allow_private: bool) -> Platform {
        let mut c = crate::config::Config::defaults();
        c.secondary_allow_private = allow_private;
        c.platform().unwrap()
    }

    fn input(json: &str) -> Vec<SecondaryInput> {
        serde_json::from_str(json).unwrap()
    }

    fn field(r: Result<Vec<Secondary>, CoreError>) -> String {
        match r.unwrap_err() {
            CoreError::Invalid { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parses_and_normalizes() {
        let zone = ZoneName::parse("example.com").unwrap();
        let list = parse(
            &input(
                r#"[{"host": "NS3.Example.NET", "addresses": ["203.0.113.1", " 2606:4700::1 "]},
                    {"host": "ns4.example.com."}]"#,
            ),
            &platform(false),
        );
        // 203.0.113.0/24 is a documentation range: refused without the platform's leave.
        assert_eq!(field(list), "secondaries[0].addresses[0]");
        let list = parse(
            &input(
                r#"[{"host": "NS3.Example.NET", "addresses": ["1.1.1.1", " 2606:4700::1 "]},
                    {"host": "ns4.example.com."}]"#,
            ),
            &platform(false),
        )
        .unwrap();
        assert_eq!(list[0].host, "ns3.example.net.");
        assert_eq!(list[0].addresses.len(), 2);
        assert_eq!(list[1].addresses, Vec::<IpAddr>::new());
        assert_eq!(in_zone(&zone, &list), vec![(1, "ns4.example.com.")]);
        let ns = apex_ns(&platform(false), &list);
        assert_eq!(ns.hosts.len(), 4);
        assert_eq!(
            addresses(&list),
            vec![
                "1.1.1.1".parse::<IpAddr>().unwrap(),
                "2606:4700::1".parse().unwrap()
            ]
        );
    }

    #[test]
    fn errors_name_the_field() {
        let p = platform(true);
        let f = |j: &str| field(parse(&input(j), &p));
        assert_eq!(
            f(r#"[{"host": "bad_host.example."}]"#),
            "secondaries[0].host"
        );
        assert_eq!(f(r#"[{"host": "ns1.apex.test"}]"#), "secondaries[0].host");
        assert_eq!(
            f(r#"[{"host": "a.example.net"}, {"host": "A.example.net."}]"#),
            "secondaries[1].host"
        );
        assert_eq!(
            f(r#"[{"host": "a.example.net", "addresses": ["10.0.0.1", "nope"]}]"#),
            "secondaries[0].addresses[1]"
        );
        assert_eq!(
            f(r#"[{"host": "a.example.net", "addresses": ["10.0.0.1", "10.0.0.1"]}]"#),
            "secondaries[0].addresses[1]"
        );
        assert_eq!(
            f(r#"[{"host": "a.example.net", "addresses": ["10.0.0.1", "::ffff:10.0.0.1"]}]"#),
            "secondaries[0].addresses[1]"
        );
        assert_eq!(f(r#"[{"host": "com"}]"#), "secondaries[0].host");
        let many: Vec<String> = (0..11)
            .map(|i| format!(r#"{{"host": "ns{i}.example.net"}}"#))
            .collect();
        assert_eq!(f(&format!("[{}]", many.join(","))), "secondaries");
        let mapped = parse(
            &input(r#"[{"host": "a.example.net", "addresses": ["::ffff:1.1.1.1"]}]"#),
            &p,
        )
        .unwrap();
        assert_eq!(mapped[0].addresses, ["1.1.1.1".parse::<IpAddr>().unwrap()]);
        // Loopback is fine when the platform allows it (tests, private platforms).
        assert!(
            parse(
                &input(r#"[{"host": "a.example.net", "addresses": ["127.0.0.2"]}]"#),
                &p
            )
            .is_ok()
        );
        assert!(serde_json::from_str::<Vec<SecondaryInput>>(r#"[{"hots": "x"}]"#).is_err());
    }
}
