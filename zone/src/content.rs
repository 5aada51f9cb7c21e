//! Record content in zone-file presentation form, parsed per type into hickory [`RData`] and
//! written back in one canonical form (the form stored and compared for duplicates).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, NS, TXT};
use hickory_proto::rr::{RData, RecordType};

use crate::name::{NameError, TargetKind, ZoneName, parse_target};
use crate::presentation::{SyntaxError, Token, quote, tokenize};

/// The record types users may create. SOA and the apex NS set are the platform's.
pub const SUPPORTED_TYPES: &[RecordType] = &[
    RecordType::A,
    RecordType::AAAA,
    RecordType::CNAME,
    RecordType::MX,
    RecordType::NS,
    RecordType::TXT,
];

/// Most RDATA bytes a TXT record may carry. Far above any DKIM or verification record, and far
/// below what would stop a record, with its owner and a TSIG, from fitting one DNS message.
pub const MAX_TXT_RDATA: usize = 4096;

/// Why content was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentError {
    /// A type Apex does not let users create.
    #[error("record type {0} is not supported (supported: A, AAAA, CNAME, MX, NS, TXT)")]
    UnsupportedType(String),
    /// Broken quoting or escapes.
    #[error("{0}")]
    Syntax(#[from] SyntaxError),
    /// A bad target name.
    #[error("{0}")]
    Name(#[from] NameError),
    /// Anything else, with a sentence saying what.
    #[error("{0}")]
    Invalid(String),
}

/// Parses a record type as users write it (`A`, `aaaa`, `TXT`) and checks it is supported.
pub fn parse_type(input: &str) -> Result<RecordType, ContentError> {
    let upper = input.trim().to_ascii_uppercase();
    let rtype = RecordType::from_str(&upper)
        .map_err(|_| ContentError::UnsupportedType(input.trim().to_string()))?;
    if SUPPORTED_TYPES.contains(&rtype) {
        Ok(rtype)
    } else {
        Err(ContentError::UnsupportedType(upper))
    }
}

fn invalid(message: impl Into<String>) -> ContentError {
    ContentError::Invalid(message.into())
}

fn exactly<'a>(tokens: &'a [Token], n: usize, what: &str) -> Result<&'a [Token], ContentError> {
    if tokens.len() == n {
        Ok(tokens)
    } else if tokens.is_empty() {
        Err(invalid(format!("content is empty: expected {what}")))
    } else {
        Err(invalid(format!(
            "expected {what} ({n} field{}), found {} fields",
            if n == 1 { "" } else { "s" },
            tokens.len()
        )))
    }
}

/// Parses `content` for `rtype`. `origin` qualifies relative names as a zone file would;
/// without it (API input), names in content must be fully qualified.
pub fn parse(
    rtype: RecordType,
    content: &str,
    origin: Option<&ZoneName>,
) -> Result<RData, ContentError> {
    let tokens = tokenize(content)?;
    let rdata = match rtype {
        RecordType::A => {
            let t = &exactly(&tokens, 1, "an IPv4 address such as 192.0.2.1")?[0];
            let text = t.text();
            let addr = Ipv4Addr::from_str(&text)
                .map_err(|_| invalid(format!("{text:?} is not a valid IPv4 address")))?;
            RData::A(A(addr))
        }
        RecordType::AAAA => {
            let t = &exactly(&tokens, 1, "an IPv6 address such as 2001:db8::1")?[0];
            let text = t.text();
            let addr = Ipv6Addr::from_str(&text)
                .map_err(|_| invalid(format!("{text:?} is not a valid IPv6 address")))?;
            RData::AAAA(AAAA(addr))
        }
        RecordType::CNAME => {
            let t = &exactly(&tokens, 1, "a target name such as target.example.net.")?[0];
            RData::CNAME(CNAME(parse_target(&t.text(), TargetKind::Domain, origin)?))
        }
        RecordType::NS => {
            let t = &exactly(&tokens, 1, "a name server host such as ns1.example.net.")?[0];
            RData::NS(NS(parse_target(&t.text(), TargetKind::Host, origin)?))
        }
        RecordType::MX => {
            let t = exactly(
                &tokens,
                2,
                "a preference and a mail host, e.g. \"10 mail.example.com.\"",
            )?;
            let pref_text = t[0].text();
            let preference = u16::from_str(&pref_text).map_err(|_| {
                invalid(format!(
                    "MX preference {pref_text:?} is not a number from 0 to 65535"
                ))
            })?;
            let exchange = parse_target(&t[1].text(), TargetKind::Host, origin)?;
            if exchange.is_root() && preference != 0 {
                return Err(invalid(
                    "a null MX (\".\") must have preference 0 (RFC 7505)",
                ));
            }
            RData::MX(MX::new(preference, exchange))
        }
        RecordType::TXT => parse_txt(content, &tokens, origin.is_none())?,
        other => return Err(ContentError::UnsupportedType(other.to_string())),
    };
    Ok(rdata)
}

/// TXT: one or more character-strings. Strings over 255 bytes (DKIM keys) are split into
/// 255-byte pieces. As an API convenience, content with no quotes at all is one string, so
/// `v=spf1 -all` means what people mean by it.
fn parse_txt(content: &str, tokens: &[Token], api: bool) -> Result<RData, ContentError> {
    if tokens.is_empty() {
        return Err(invalid(
            "TXT content is empty: write \"\" for an empty string",
        ));
    }
    let strings: Vec<Vec<u8>> = if api && !content.contains('"') {
        vec![content.trim().as_bytes().to_vec()]
    } else {
        tokens.iter().map(|t| t.bytes.clone()).collect()
    };
    let mut pieces: Vec<&[u8]> = Vec::new();
    for s in &strings {
        if s.is_empty() {
            pieces.push(s);
        } else {
            pieces.extend(s.chunks(255));
        }
    }
    let wire: usize = pieces.iter().map(|p| p.len() + 1).sum();
    if wire > MAX_TXT_RDATA {
        return Err(invalid(format!(
            "TXT data is {wire} bytes; at most {MAX_TXT_RDATA} are allowed"
        )));
    }
    Ok(RData::TXT(TXT::from_bytes(pieces)))
}

/// The canonical presentation form of `rdata`: what is stored, shown and compared.
pub fn format(rdata: &RData) -> String {
    match rdata {
        RData::TXT(txt) => {
            let mut out = String::new();
            for (i, s) in txt.txt_data.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                quote(s, &mut out);
            }
            out
        }
        RData::MX(mx) => format!(
            "{} {}",
            mx.preference,
            mx.exchange.to_lowercase().to_ascii()
        ),
        RData::CNAME(n) => n.0.to_lowercase().to_ascii(),
        RData::NS(n) => n.0.to_lowercase().to_ascii(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(t: RecordType, c: &str) -> String {
        format(&parse(t, c, None).unwrap())
    }

    fn err(t: RecordType, c: &str) -> String {
        parse(t, c, None).unwrap_err().to_string()
    }

    #[test]
    fn addresses() {
        assert_eq!(ok(RecordType::A, " 192.0.2.1 "), "192.0.2.1");
        assert_eq!(
            err(RecordType::A, "192.0.2.300"),
            "\"192.0.2.300\" is not a valid IPv4 address"
        );
        assert!(err(RecordType::A, "192.0.2.1 192.0.2.2").contains("found 2 fields"));
        assert!(err(RecordType::A, "").contains("empty"));
        assert_eq!(ok(RecordType::AAAA, "2001:DB8:0::1"), "2001:db8::1");
        assert!(err(RecordType::AAAA, "192.0.2.1").contains("IPv6"));
    }

    #[test]
    fn names_and_mx() {
        assert_eq!(
            ok(RecordType::CNAME, "Target.Example.NET."),
            "target.example.net."
        );
        assert_eq!(
            ok(RecordType::MX, "10 mail.example.com."),
            "10 mail.example.com."
        );
        assert_eq!(ok(RecordType::MX, "0 ."), "0 .");
        assert!(err(RecordType::MX, "10 .").contains("null MX"));
        assert!(err(RecordType::MX, "x mail.example.com.").contains("preference"));
        assert!(err(RecordType::MX, "10 mail.example.com").contains("fully qualified"));
        assert!(err(RecordType::NS, "192.0.2.1.").contains("address"));
        let z = ZoneName::parse("example.com").unwrap();
        let rd = parse(RecordType::MX, "10 mail", Some(&z)).unwrap();
        assert_eq!(format(&rd), "10 mail.example.com.");
    }

    #[test]
    fn txt() {
        assert_eq!(ok(RecordType::TXT, "v=spf1 -all"), "\"v=spf1 -all\"");
        assert_eq!(ok(RecordType::TXT, "\"a\" \"b c\""), "\"a\" \"b c\"");
        let long = "k".repeat(600);
        let rd = parse(RecordType::TXT, &long, None).unwrap();
        let RData::TXT(t) = &rd else { panic!() };
        assert_eq!(
            t.txt_data.iter().map(|s| s.len()).collect::<Vec<_>>(),
            vec![255, 255, 90]
        );
        let huge = "k".repeat(5000);
        assert!(err(RecordType::TXT, &huge).contains("at most 4096"));
        assert!(err(RecordType::TXT, "\"unterminated").contains("unterminated"));
    }

    #[test]
    fn types() {
        assert_eq!(parse_type("aaaa").unwrap(), RecordType::AAAA);
        assert!(parse_type("SOA").is_err());
        assert!(
            parse_type("BOGUS")
                .unwrap_err()
                .to_string()
                .contains("BOGUS")
        );
    }
}
