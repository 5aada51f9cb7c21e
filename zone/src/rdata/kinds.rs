//! The parser, printer and checker of each record type Apex reads, by type: the one table
//! that ties [`super::types`] to the per-type modules ([`super::simple`], [`super::dnssec`],
//! [`super::loc`], [`super::svcb`]).

use super::cursor::{Fields, Wire, WireError};
use super::types::RrType;
use super::{dnssec, loc, simple, svcb};
use crate::presentation::SyntaxError;

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
