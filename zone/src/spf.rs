//! SPF records (RFC 7208) published as TXT: the terms are checked so a typo does not silently
//! break a domain's mail.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::rdata::{RrType, txt_joined};

/// A warning about a TXT record that is an SPF record with a mistake (its strings are joined
/// without spaces first, as RFC 7208 section 3.3 says receivers do). A warning, not an error:
/// the record is still valid DNS, and some publish SPF for other systems to read.
pub fn warning(rtype: RrType, rdata: &[u8]) -> Option<String> {
    if rtype != RrType::TXT {
        return None;
    }
    let joined = txt_joined(rdata);
    let is_spf = joined.len() >= 6
        && joined[..6].eq_ignore_ascii_case(b"v=spf1")
        && (joined.len() == 6 || joined[6] == b' ');
    if !is_spf {
        return None;
    }
    check(&String::from_utf8_lossy(&joined))
        .err()
        .map(|e| format!("SPF record (strings joined): {e}"))
}

/// Checks an SPF record (`v=spf1 …`). Macros in domain specifications are not expanded.
pub fn check(record: &str) -> Result<(), String> {
    let mut terms = record.split(' ').filter(|t| !t.is_empty());
    match terms.next() {
        Some(v) if v.eq_ignore_ascii_case("v=spf1") => {}
        _ => return Err("must start with v=spf1".into()),
    }
    let mut seen_redirect = false;
    let mut seen_exp = false;
    for term in terms {
        // Modifiers: name=value.
        if let Some((name, value)) = term.split_once('=')
            && !name.contains(':')
            && !name.contains('/')
        {
            let lname = name.to_ascii_lowercase();
            if !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
                || name.is_empty()
            {
                return Err(format!("{term:?} is not a valid modifier"));
            }
            let dup = match lname.as_str() {
                "redirect" => std::mem::replace(&mut seen_redirect, true),
                "exp" => std::mem::replace(&mut seen_exp, true),
                _ => false,
            };
            if dup {
                return Err(format!("{name}= appears more than once"));
            }
            if value.is_empty() && matches!(lname.as_str(), "redirect" | "exp") {
                return Err(format!("{name}= needs a domain"));
            }
            continue;
        }
        let body = term.strip_prefix(['+', '-', '~', '?']).unwrap_or(term);
        let (mech, arg) = match body.find([':', '/']) {
            Some(i) => (&body[..i], Some(&body[i..])),
            None => (body, None),
        };
        match mech.to_ascii_lowercase().as_str() {
            "all" if arg.is_none() => {}
            "include" | "exists" => match arg.and_then(|a| a.strip_prefix(':')) {
                Some(d) if !d.is_empty() => {}
                _ => return Err(format!("{term:?} needs a domain ({mech}:example.com)")),
            },
            "a" | "mx" => check_dual_cidr(term, arg)?,
            "ptr" => {
                if let Some(a) = arg
                    && !a.starts_with(':')
                {
                    return Err(format!("{term:?} is not a valid ptr mechanism"));
                }
            }
            "ip4" => {
                let a = arg
                    .and_then(|a| a.strip_prefix(':'))
                    .ok_or_else(|| format!("{term:?} needs an address"))?;
                let (ip, len) = split_cidr(a);
                ip.parse::<Ipv4Addr>()
                    .map_err(|_| format!("{term:?}: {ip:?} is not an IPv4 address"))?;
                check_prefix(term, len, 32)?;
            }
            "ip6" => {
                let a = arg
                    .and_then(|a| a.strip_prefix(':'))
                    .ok_or_else(|| format!("{term:?} needs an address"))?;
                let (ip, len) = split_cidr(a);
                ip.parse::<Ipv6Addr>()
                    .map_err(|_| format!("{term:?}: {ip:?} is not an IPv6 address"))?;
                check_prefix(term, len, 128)?;
            }
            _ => {
                return Err(format!(
                    "{term:?} is not an SPF mechanism (all, include, a, mx, ptr, ip4, ip6, exists)"
                ));
            }
        }
    }
    Ok(())
}

fn split_cidr(a: &str) -> (&str, Option<&str>) {
    match a.split_once('/') {
        Some((ip, len)) => (ip, Some(len)),
        None => (a, None),
    }
}

fn check_prefix(term: &str, len: Option<&str>, max: u8) -> Result<(), String> {
    match len {
        None => Ok(()),
        Some(l) => match l.parse::<u8>() {
            Ok(v) if v <= max => Ok(()),
            _ => Err(format!("{term:?}: prefix length must be 0 to {max}")),
        },
    }
}

/// `a[:domain][/cidr4][//cidr6]`
fn check_dual_cidr(term: &str, arg: Option<&str>) -> Result<(), String> {
    let Some(arg) = arg else { return Ok(()) };
    let cidrs = match arg.strip_prefix(':') {
        Some(rest) => match rest.find('/') {
            Some(i) => &rest[i..],
            None => {
                return if rest.is_empty() {
                    Err(format!("{term:?}: empty domain"))
                } else {
                    Ok(())
                };
            }
        },
        None => arg,
    };
    let (v4, v6) = match cidrs.strip_prefix("//") {
        Some(v6) => (None, Some(v6)),
        None => {
            let c = cidrs.strip_prefix('/').unwrap_or(cidrs);
            match c.split_once("//") {
                Some((a, b)) => (Some(a), Some(b)),
                None => (Some(c), None),
            }
        }
    };
    check_prefix(term, v4, 32)?;
    check_prefix(term, v6, 128)
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn valid_records() {
        for r in [
            "v=spf1 -all",
            "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 include:_spf.example.com ~all",
            "v=spf1 a mx a:mail.example.com/24 mx//64 ptr exists:%{i}.bl.example.com redirect=_spf.example.net",
            "v=spf1 +a -mx ?all exp=explain.example.com",
        ] {
            assert_eq!(check(r), Ok(()), "{r}");
        }
    }

    #[test]
    fn typos_are_caught() {
        for (r, what) in [
            ("v=spf1 ip4:192.0.2.300 -all", "IPv4"),
            ("v=spf1 ip4:192.0.2.0/33 -all", "prefix"),
            ("v=spf1 inclde:example.com -all", "not an SPF mechanism"),
            ("v=spf1 include: -all", "needs a domain"),
            ("v=spf1 redirect=a redirect=b", "more than once"),
            ("v=spf1 ip6:zz::1", "IPv6"),
        ] {
            let e = check(r).unwrap_err();
            assert!(e.contains(what), "{r}: {e}");
        }
    }
}
