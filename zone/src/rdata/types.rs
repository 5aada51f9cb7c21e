//! Record types: codes, mnemonics, and the parser, printer and checker of each.

use std::fmt;

use super::cursor::{Fields, Wire, WireError};
use super::{dnssec, loc, simple, svcb};
use crate::presentation::SyntaxError;

/// A record type code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RrType(pub u16);

macro_rules! rr_types {
    ($($name:ident = $code:expr),* $(,)?) => {
        impl RrType {
            $(
                #[doc = concat!("`", stringify!($name), "`")]
                pub const $name: RrType = RrType($code);
            )*
        }
        const NAMES: &[(u16, &str)] = &[$(($code, stringify!($name))),*];
    };
}

rr_types! {
    A = 1, NS = 2, CNAME = 5, SOA = 6, PTR = 12, HINFO = 13, MX = 15, TXT = 16, AAAA = 28,
    LOC = 29, SRV = 33, NAPTR = 35, CERT = 37, DNAME = 39, OPT = 41, DS = 43, SSHFP = 44,
    RRSIG = 46, NSEC = 47, DNSKEY = 48, NSEC3 = 50, NSEC3PARAM = 51, TLSA = 52, SMIMEA = 53,
    CDS = 59, CDNSKEY = 60, OPENPGPKEY = 61, CSYNC = 62, ZONEMD = 63, SVCB = 64, HTTPS = 65,
    SPF = 99, TSIG = 250, IXFR = 251, AXFR = 252, ANY = 255, URI = 256, CAA = 257,
}

impl RrType {
    /// Parses a type as written: a mnemonic in any case, or `TYPEnnn`.
    pub fn parse(text: &[u8]) -> Option<RrType> {
        if let Some(digits) = text
            .get(..4)
            .filter(|p| p.eq_ignore_ascii_case(b"TYPE"))
            .map(|_| &text[4..])
        {
            if digits.is_empty() || digits.len() > 5 || !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let code: u32 = std::str::from_utf8(digits).ok()?.parse().ok()?;
            return u16::try_from(code).ok().map(RrType);
        }
        NAMES
            .iter()
            .find(|(_, n)| n.as_bytes().eq_ignore_ascii_case(text))
            .map(|(c, _)| RrType(*c))
    }

    /// hickory's type for this code.
    pub fn to_hickory(self) -> hickory_proto::rr::RecordType {
        hickory_proto::rr::RecordType::from(self.0)
    }
}

/// The mnemonic of a type, or `TYPEnnn` (RFC 3597) for one without.
pub fn type_name(t: RrType) -> String {
    NAMES
        .iter()
        .find(|(c, _)| *c == t.0)
        .map_or_else(|| format!("TYPE{}", t.0), |(_, n)| (*n).to_string())
}

impl fmt::Display for RrType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&type_name(*self))
    }
}

/// Transfer and query meta types, never data.
pub fn is_meta(t: RrType) -> bool {
    matches!(
        t,
        RrType::OPT | RrType::TSIG | RrType::IXFR | RrType::AXFR | RrType::ANY
    ) || (128..=255).contains(&t.0)
}

/// How one type is read, printed and checked.
pub struct Kind {
    /// Presentation tokens to wire.
    pub parse: fn(&mut Fields<'_, '_>, &mut Vec<u8>) -> Result<(), SyntaxError>,
    /// Wire to canonical presentation.
    pub format: fn(&mut Wire<'_>, &mut String) -> Result<(), WireError>,
    /// Rules on the complete wire data (lengths that depend on other fields and such).
    pub check: fn(&[u8]) -> Result<(), String>,
}

const fn k(
    parse: fn(&mut Fields<'_, '_>, &mut Vec<u8>) -> Result<(), SyntaxError>,
    format: fn(&mut Wire<'_>, &mut String) -> Result<(), WireError>,
    check: fn(&[u8]) -> Result<(), String>,
) -> Kind {
    Kind {
        parse,
        format,
        check,
    }
}

fn ok(_: &[u8]) -> Result<(), String> {
    Ok(())
}

/// The text form of `t`, if Apex reads one.
pub fn kind(t: RrType) -> Option<&'static Kind> {
    static A: Kind = k(simple::parse_a, simple::format_a, ok);
    static AAAA: Kind = k(simple::parse_aaaa, simple::format_aaaa, ok);
    static NS: Kind = k(simple::parse_host, simple::format_name, ok);
    static DOMAIN: Kind = k(simple::parse_domain, simple::format_name, ok);
    static MX: Kind = k(simple::parse_mx, simple::format_mx, simple::check_mx);
    static SRV: Kind = k(simple::parse_srv, simple::format_srv, ok);
    static TXT: Kind = k(simple::parse_txt, simple::format_txt, simple::check_txt);
    static HINFO: Kind = k(simple::parse_hinfo, simple::format_hinfo, ok);
    static NAPTR: Kind = k(simple::parse_naptr, simple::format_naptr, ok);
    static SSHFP: Kind = k(
        simple::parse_sshfp,
        simple::format_sshfp,
        simple::check_sshfp,
    );
    static TLSA: Kind = k(simple::parse_tlsa, simple::format_tlsa, simple::check_tlsa);
    static DS: Kind = k(simple::parse_ds, simple::format_ds, simple::check_ds);
    static DNSKEY: Kind = k(
        simple::parse_dnskey,
        simple::format_dnskey,
        simple::check_dnskey,
    );
    static OPENPGPKEY: Kind = k(
        simple::parse_openpgpkey,
        simple::format_openpgpkey,
        simple::check_openpgpkey,
    );
    static CERT: Kind = k(simple::parse_cert, simple::format_cert, simple::check_cert);
    static URI: Kind = k(simple::parse_uri, simple::format_uri, simple::check_uri);
    static CAA: Kind = k(simple::parse_caa, simple::format_caa, simple::check_caa);
    static SOA: Kind = k(simple::parse_soa, simple::format_soa, ok);
    static LOC: Kind = k(loc::parse, loc::format, ok);
    static SVCB: Kind = k(svcb::parse, svcb::format, svcb::check);
    static RRSIG: Kind = k(
        dnssec::parse_rrsig,
        dnssec::format_rrsig,
        dnssec::check_rrsig,
    );
    static NSEC: Kind = k(dnssec::parse_nsec, dnssec::format_nsec, dnssec::check_nsec);
    static NSEC3: Kind = k(
        dnssec::parse_nsec3,
        dnssec::format_nsec3,
        dnssec::check_nsec3,
    );
    static NSEC3PARAM: Kind = k(dnssec::parse_nsec3param, dnssec::format_nsec3param, ok);
    Some(match t {
        RrType::A => &A,
        RrType::AAAA => &AAAA,
        RrType::NS => &NS,
        RrType::CNAME | RrType::DNAME | RrType::PTR => &DOMAIN,
        RrType::MX => &MX,
        RrType::SRV => &SRV,
        RrType::TXT | RrType::SPF => &TXT,
        RrType::HINFO => &HINFO,
        RrType::NAPTR => &NAPTR,
        RrType::SSHFP => &SSHFP,
        RrType::TLSA | RrType::SMIMEA => &TLSA,
        RrType::DS | RrType::CDS => &DS,
        RrType::DNSKEY | RrType::CDNSKEY => &DNSKEY,
        RrType::OPENPGPKEY => &OPENPGPKEY,
        RrType::CERT => &CERT,
        RrType::URI => &URI,
        RrType::CAA => &CAA,
        RrType::SOA => &SOA,
        RrType::LOC => &LOC,
        RrType::SVCB | RrType::HTTPS => &SVCB,
        RrType::RRSIG => &RRSIG,
        RrType::NSEC => &NSEC,
        RrType::NSEC3 => &NSEC3,
        RrType::NSEC3PARAM => &NSEC3PARAM,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes() {
        assert_eq!(RrType::parse(b"aaaa"), Some(RrType::AAAA));
        assert_eq!(RrType::parse(b"TYPE65534"), Some(RrType(65534)));
        assert_eq!(RrType::parse(b"type1"), Some(RrType::A));
        assert_eq!(RrType::parse(b"TYPE65536"), None);
        assert_eq!(RrType::parse(b"TYPE"), None);
        assert_eq!(RrType::parse(b"BOGUS"), None);
        assert_eq!(type_name(RrType(65534)), "TYPE65534");
        assert_eq!(type_name(RrType::CAA), "CAA");
        assert!(is_meta(RrType::AXFR) && !is_meta(RrType::URI));
    }
}
