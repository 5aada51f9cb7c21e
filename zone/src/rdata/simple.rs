//! The record types whose data is a plain sequence of fields.

use std::fmt::Write;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use super::cursor::{Fields, Wire, WireError, encode_base64, encode_hex, put_char_string};
use crate::name::TargetKind;
use crate::presentation::{SyntaxError, Tok, quote};

/// Most TXT data (all strings together) a record may carry: far above any DKIM or
/// verification record.
pub const MAX_TXT: usize = 4096;

type P = Result<(), SyntaxError>;
type F = Result<(), WireError>;

fn text_of<'a>(
    f: &mut Fields<'_, 'a>,
    what: &str,
) -> Result<(Tok<'a>, std::borrow::Cow<'a, str>), SyntaxError> {
    let tok = f.next(what)?;
    let text = tok.text()?;
    Ok((tok, text))
}

pub fn parse_a(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> P {
    let (tok, text) = text_of(f, "IPv4 address")?;
    let addr = Ipv4Addr::from_str(&text).map_err(|_| {
        Fields::err(
            &tok,
            format!("{:?} is not a valid IPv4 address", tok.show()),
        )
    })?;
    out.extend_from_slice(&addr.octets());
    Ok(())
}

pub fn format_a(w: &mut Wire<'_>, out: &mut String) -> F {
    let b = w.bytes(4)?;
    let _ = write!(out, "{}", Ipv4Addr::new(b[0], b[1], b[2], b[3]));
    Ok(())
}

pub fn parse_aaaa(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> P {
    let (tok, text) = text_of(f, "IPv6 address")?;
    let addr = Ipv6Addr::from_str(&text).map_err(|_| {
        Fields::err(
            &tok,
            format!("{:?} is not a valid IPv6 address", tok.show()),
        )
    })?;
    out.extend_from_slice(&addr.octets());
    Ok(())
}

pub fn format_aaaa(w: &mut Wire<'_>, out: &mut String) -> F {
    let b: [u8; 16] = w
        .bytes(16)?
        .try_into()
        .map_err(|_| WireError("AAAA".into()))?;
    let _ = write!(out, "{}", Ipv6Addr::from(b));
    Ok(())
}

pub fn parse_host(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> P {
    out.extend_from_slice(f.name("name server", TargetKind::Host, false)?.wire());
    Ok(())
}

pub fn parse_domain(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> P {
    out.extend_from_slice(f.name("target", TargetKind::Domain, false)?.wire());
    Ok(())
}

pub fn format_name(w: &mut Wire<'_>, out: &mut String) -> F {
    out.push_str(&w.name()?.to_string());
    Ok(())
}

pub fn parse_mx(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> P {
    out.extend_from_slice(&f.u16("MX preference")?.to_be_bytes());
    out.extend_from_slice(f.name("mail host", TargetKind::Host, true)?.wire());
    Ok(())
}

pub fn format_mx(w: &mut Wire<'_>, out: &mut String) -> F {
    let _ = write!(out, "{} {}", w.u16()?, w.name()?);
    Ok(())
}

/// RFC 7505: a null MX (".") has preference 0.
pub fn check_mx(wire: &[u8]) -> Result<(), String> {
    if wire.len() == 3 && wire[2] == 0 && wire[..2] != [0, 0] {
        return Err("a null MX (\".\") must have preference 0 (RFC 7505)".into());
    }
    Ok(())
}

pub fn parse_srv(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> P {
    out.extend_from_slice(&f.u16("SRV priority")?.to_be_bytes());
    out.extend_from_slice(&f.u16("SRV weight")?.to_be_bytes());
    out.extend_from_slice(&f.u16("SRV port")?.to_be_bytes());
    out.extend_from_slice(f.name("SRV target", TargetKind::Host, true)?.wire());
    Ok(())
}

pub fn format_srv(w: &mut Wire<'_>, out: &mut String) -> F {
    let _ = write!(out, "{} {} {} {}", w.u16()?, w.u16()?, w.u16()?, w.name()?);
    Ok(())
}

/// TXT: one or more strings; a string over 255 bytes (a DKIM key) is split into 255-byte
/// pieces, which DNS clients join again.
pub fn parse_txt(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> P {
    let first = f.next("text")?;
    let mut tok = Some(first);
    while let Some(t) = tok {
        let bytes = t.bytes()?;
        if bytes.is_empty() {
            out.push(0);
        }
        for piece in bytes.chunks(255) {
            put_char_string(out, piece);
        }
        tok = if f.is_done() {
            None
        } else {
            Some(f.next("text")?)
        };
    }
    Ok(())
}

pub fn format_txt(w: &mut Wire<'_>, out: &mut String) -> F {
    let mut first = true;
    while !w.is_done() {
        if !first {
            out.push(' ');
        }
        quote(w.char_string()?, out);
        first = false;
    }
    if first {
        return Err(WireError("TXT without a string".into()));
    }
    Ok(())
}

/// The strings of TXT wire data joined, as applications read them.
pub fn txt_joined(wire: &[u8]) -> Vec<u8> {
    let mut w = Wire::new(wire);
    let mut out = Vec::with_capacity(wire.len());
    while let Ok(s) = w.char_string() {
        out.extend_from_slice(s);
    }
    out
}

pub fn check_txt(wire: &[u8]) -> Result<(), String> {
    if wire.len() > MAX_TXT {
        return Err(format!(
            "TXT data is {} bytes; at most {MAX_TXT} are allowed",
            wire.len()
        ));
    }
    Ok(())
}

pub fn parse_hinfo(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> P {
    put_char_string(out, &f.char_string("HINFO CPU")?);
    put_char_string(out, &f.char_string("HINFO OS")?);
    Ok(())
}

pub fn format_hinfo(w: &mut Wire<'_>, out: &mut String) -> F {
    quote(w.char_string()?, out);
    out.push(' ');
    quote(w.char_string()?, out);
    Ok(())
}

pub fn parse_naptr(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> P {
    out.extend_from_slice(&f.u16("NAPTR order")?.to_be_bytes());
    out.extend_from_slice(&f.u16("NAPTR preference")?.to_be_bytes());
    let flags_tok = f.peek_required("NAPTR flags")?;
    let flags = f.char_string("NAPTR flags")?;
    if !flags.iter().all(u8::is_ascii_alphanumeric) {
        return Err(Fields::err(
            &flags_tok,
            "NAPTR flags must be letters and digits",
        ));
    }
    put_char_string(out, &flags);
    put_char_string(out, &f.char_string("NAPTR services")?);
    let regexp_tok = f.peek().copied();
    let regexp = f.char_string("NAPTR regexp")?;
    put_char_string(out, &regexp);
    let replacement = f.name("NAPTR replacement", TargetKind::Domain, true)?;
    if !regexp.is_empty()
        && !replacement.is_root()
        && let Some(t) = regexp_tok
    {
        return Err(Fields::err(
            &t,
            "NAPTR takes a regexp or a replacement, not both (set the replacement to \".\")",
        ));
    }
    out.extend_from_slice(replacement.wire());
    Ok(())
}

pub fn format_naptr(w: &mut Wire<'_>, out: &mut String) -> F {
    let _ = write!(out, "{} {} ", w.u16()?, w.u16()?);
    quote(w.char_string()?, out);
    out.push(' ');
    quote(w.char_string()?, out);
    out.push(' ');
    quote(w.char_string()?, out);
    let _ = write!(out, " {}", w.name()?);
    Ok(())
}

pub fn parse_sshfp(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> P {
    out.push(f.u8("SSHFP algorithm")?);
    out.push(f.u8("SSHFP fingerprint type")?);
    out.extend(f.hex_rest("SSHFP fingerprint")?);
    Ok(())
}

pub fn format_sshfp(w: &mut Wire<'_>, out: &mut String) -> F {
    let _ = write!(out, "{} {} ", w.u8()?, w.u8()?);
    encode_hex(w.rest(), out);
    Ok(())
}

pub fn check_sshfp(wire: &[u8]) -> Result<(), String> {
    let (alg, fp, data) = (wire[0], wire[1], &wire[2..]);
    if !matches!(alg, 1..=4 | 6) {
        return Err(format!(
            "SSHFP algorithm {alg} is unknown (1 RSA, 2 DSA, 3 ECDSA, 4 Ed25519, 6 Ed448)"
        ));
    }
    let want = match fp {
        1 => 20,
        2 => 32,
        _ => {
            return Err(format!(
                "SSHFP fingerprint type {fp} is unknown (1 SHA-1, 2 SHA-256)"
            ));
        }
    };
    if data.len() != want {
        return Err(format!(
            "SSHFP fingerprint is {} bytes; type {fp} needs {want}",
            data.len()
        ));
    }
    Ok(())
}

pub fn parse_tlsa(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> P {
    out.push(f.u8("certificate usage")?);
    out.push(f.u8("selector")?);
    out.push(f.u8("matching type")?);
    out.extend(f.hex_rest("certificate association data")?);
    Ok(())
}

pub fn format_tlsa(w: &mut Wire<'_>, out: &mut String) -> F {
    let _ = write!(out, "{} {} {} ", w.u8()?, w.u8()?, w.u8()?);
    encode_hex(w.rest(), out);
    Ok(())
}

pub fn check_tlsa(wire: &[u8]) -> Result<(), String> {
    let (usage, selector, matching, data) = (wire[0], wire[1], wire[2], &wire[3..]);
    if usage > 3 {
        return Err(format!("certificate usage {usage} is unknown (0 to 3)"));
    }
    if selector > 1 {
        return Err(format!(
            "selector {selector} is unknown (0 full certificate, 1 public key)"
        ));
    }
    let want = match matching {
        0 => None,
        1 => Some(32),
        2 => Some(64),
        _ => {
            return Err(format!(
                "matching type {matching} is unknown (0 full, 1 SHA-256, 2 SHA-512)"
            ));
        }
    };
    match want {
        Some(n) if data.len() != n => Err(format!(
            "association data is {} bytes; matching type {matching} needs {n}",
            data.len()
        )),
        None if data.is_empty() => Err("association data is empty".into()),
        _ => Ok(()),
    }
}

/// A DNSSEC algorithm, as a number or a mnemonic ([`crate::algorithm::ALGORITHMS`]).
pub(super) fn algorithm(f: &mut Fields<'_, '_>) -> Result<u8, SyntaxError> {
    let tok = f.peek_required("algorithm")?;
    if let Some((code, _)) = crate::algorithm::ALGORITHMS.iter().find(|(_, n)| tok.is(n)) {
        f.next("algorithm")?;
        return Ok(*code);
    }
    f.u8("algorithm")
}

pub fn parse_ds(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> P {
    out.extend_from_slice(&f.u16("key tag")?.to_be_bytes());
    out.push(algorithm(f)?);
    out.push(f.u8("digest type")?);
    out.extend(f.hex_rest("digest")?);
    Ok(())
}

pub fn format_ds(w: &mut Wire<'_>, out: &mut String) -> F {
    let _ = write!(out, "{} {} {} ", w.u16()?, w.u8()?, w.u8()?);
    let rest = w.rest();
    if rest.is_empty() {
        out.push('-');
    }
    encode_hex(rest, out);
    Ok(())
}

pub fn check_ds(wire: &[u8]) -> Result<(), String> {
    let (alg, dtype, digest) = (wire[2], wire[3], &wire[4..]);
    // RFC 8078: the CDS "delete" record, 0 0 0 00.
    if wire[..4] == [0, 0, 0, 0] && digest == [0] {
        return Ok(());
    }
    if alg == 0 {
        return Err("algorithm 0 is only allowed in the CDS delete record (0 0 0 00)".into());
    }
    let want = match dtype {
        1 => 20,
        2 => 32,
        4 => 48,
        _ => {
            return Err(format!(
                "digest type {dtype} is unknown (1 SHA-1, 2 SHA-256, 4 SHA-384)"
            ));
        }
    };
    if digest.len() != want {
        return Err(format!(
            "digest is {} bytes; digest type {dtype} needs {want}",
            digest.len()
        ));
    }
    Ok(())
}

pub fn parse_dnskey(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> P {
    out.extend_from_slice(&f.u16("flags")?.to_be_bytes());
    out.push(f.u8("protocol")?);
    out.push(algorithm(f)?);
    out.extend(f.base64_rest("public key")?);
    Ok(())
}

pub fn format_dnskey(w: &mut Wire<'_>, out: &mut String) -> F {
    let _ = write!(out, "{} {} {} ", w.u16()?, w.u8()?, w.u8()?);
    encode_base64(w.rest(), out);
    Ok(())
}

pub fn check_dnskey(wire: &[u8]) -> Result<(), String> {
    let flags = u16::from_be_bytes([wire[0], wire[1]]);
    let (protocol, alg, key) = (wire[2], wire[3], &wire[4..]);
    if protocol != 3 {
        return Err(format!(
            "protocol is {protocol}; DNSSEC keys always have protocol 3"
        ));
    }
    // RFC 8078: the CDNSKEY "delete" record, 0 3 0 AA==.
    if flags == 0 && alg == 0 && key == [0] {
        return Ok(());
    }
    if flags & !(0x0100 | 0x0080 | 0x0001) != 0 {
        return Err(format!(
            "flags {flags} set bits other than ZONE (256), REVOKE (128) and SEP (1)"
        ));
    }
    if key.is_empty() {
        return Err("public key is empty".into());
    }
    Ok(())
}

pub fn parse_openpgpkey(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> P {
    out.extend(f.base64_rest("OpenPGP key")?);
    Ok(())
}

pub fn check_openpgpkey(wire: &[u8]) -> Result<(), String> {
    if wire.is_empty() {
        Err("the OpenPGP key is empty".into())
    } else {
        Ok(())
    }
}

pub fn check_cert(wire: &[u8]) -> Result<(), String> {
    if wire.len() <= 5 {
        Err("the certificate is empty".into())
    } else {
        Ok(())
    }
}

pub fn format_openpgpkey(w: &mut Wire<'_>, out: &mut String) -> F {
    encode_base64(w.rest(), out);
    Ok(())
}

const CERT_TYPES: &[(u16, &str)] = &[
    (1, "PKIX"),
    (2, "SPKI"),
    (3, "PGP"),
    (4, "IPKIX"),
    (5, "ISPKI"),
    (6, "IPGP"),
    (7, "ACPKIX"),
    (8, "IACPKIX"),
    (253, "URI"),
    (254, "OID"),
];

pub fn parse_cert(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> P {
    let t = f.peek_required("certificate type")?;
    let ctype = match CERT_TYPES.iter().find(|(_, n)| t.is(n)) {
        Some((c, _)) => {
            f.next("certificate type")?;
            *c
        }
        None => f.u16("certificate type")?,
    };
    out.extend_from_slice(&ctype.to_be_bytes());
    out.extend_from_slice(&f.u16("key tag")?.to_be_bytes());
    out.push(algorithm(f)?);
    out.extend(f.base64_rest("certificate")?);
    Ok(())
}

pub fn format_cert(w: &mut Wire<'_>, out: &mut String) -> F {
    let ctype = w.u16()?;
    match CERT_TYPES.iter().find(|(c, _)| *c == ctype) {
        Some((_, n)) => out.push_str(n),
        None => {
            let _ = write!(out, "{ctype}");
        }
    }
    let _ = write!(out, " {} {} ", w.u16()?, w.u8()?);
    encode_base64(w.rest(), out);
    Ok(())
}

pub fn parse_uri(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> P {
    out.extend_from_slice(&f.u16("URI priority")?.to_be_bytes());
    out.extend_from_slice(&f.u16("URI weight")?.to_be_bytes());
    let tok = f.next("URI target")?;
    if !tok.quoted {
        return Err(Fields::err(
            &tok,
            "the URI target must be quoted (RFC 7553)",
        ));
    }
    out.extend_from_slice(&tok.bytes()?);
    Ok(())
}

pub fn format_uri(w: &mut Wire<'_>, out: &mut String) -> F {
    let _ = write!(out, "{} {} ", w.u16()?, w.u16()?);
    quote(w.rest(), out);
    Ok(())
}

pub fn check_uri(wire: &[u8]) -> Result<(), String> {
    let target = &wire[4..];
    if target.is_empty() {
        return Err("the URI target is empty".into());
    }
    if !target.contains(&b':') || target.iter().any(|b| b.is_ascii_whitespace()) {
        return Err(format!(
            "{:?} is not a URI",
            crate::presentation::cut_text(target)
        ));
    }
    Ok(())
}

pub fn parse_caa(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> P {
    out.push(f.u8("CAA flags")?);
    let tag_tok = f.next("CAA tag")?;
    let tag = tag_tok.bytes()?;
    if tag.is_empty() || tag.len() > 15 || !tag.iter().all(u8::is_ascii_alphanumeric) {
        return Err(Fields::err(
            &tag_tok,
            format!(
                "CAA tag {:?} must be 1 to 15 letters and digits",
                tag_tok.show()
            ),
        ));
    }
    put_char_string(out, &tag);
    let value = f.next("CAA value")?;
    out.extend_from_slice(&value.bytes()?);
    Ok(())
}

pub fn format_caa(w: &mut Wire<'_>, out: &mut String) -> F {
    let _ = write!(out, "{} ", w.u8()?);
    // Valid tags are letters and digits; anything else (from generic data) is escaped so the
    // output still reads back.
    for &b in w.char_string()? {
        if b.is_ascii_alphanumeric() {
            out.push(b as char);
        } else {
            let _ = write!(out, "\\{b:03}");
        }
    }
    out.push(' ');
    quote(w.rest(), out);
    Ok(())
}

/// CAA (RFC 8659): flags 0 or 128 (critical), and the values of the tags CAs act on.
pub fn check_caa(wire: &[u8]) -> Result<(), String> {
    let flags = wire[0];
    if flags & 0x7f != 0 {
        return Err(format!(
            "CAA flags {flags}: only 0 and 128 (critical) are defined"
        ));
    }
    let tag_len = wire[1] as usize;
    let tag = String::from_utf8_lossy(&wire[2..2 + tag_len]).to_ascii_lowercase();
    let value = String::from_utf8_lossy(&wire[2 + tag_len..]);
    match tag.as_str() {
        "issue" | "issuewild" | "issuemail" => check_caa_issue(&value),
        "iodef" => {
            let v = value.to_ascii_lowercase();
            if v.starts_with("mailto:") || v.starts_with("https://") || v.starts_with("http://") {
                Ok(())
            } else {
                Err(format!(
                    "CAA iodef {value:?} must be a mailto:, http: or https: URL"
                ))
            }
        }
        _ => Ok(()),
    }
}

fn check_caa_issue(value: &str) -> Result<(), String> {
    let mut parts = value.split(';');
    let issuer = parts.next().unwrap_or("").trim();
    if !issuer.is_empty() {
        let ok = issuer.split('.').all(|l| {
            !l.is_empty()
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
        if !ok {
            return Err(format!(
                "CAA issuer {issuer:?} is not a domain name (e.g. letsencrypt.org)"
            ));
        }
    }
    for param in parts {
        let param = param.trim();
        if param.is_empty() {
            continue;
        }
        let Some((key, val)) = param.split_once('=') else {
            return Err(format!("CAA parameter {param:?} must be key=value"));
        };
        if key.trim().is_empty()
            || !key.trim().bytes().all(|b| b.is_ascii_alphanumeric())
            || val.trim().contains(char::is_whitespace)
        {
            return Err(format!("CAA parameter {param:?} must be key=value"));
        }
    }
    Ok(())
}

/// A TTL-like value: seconds, or with units (`1h30m`, `2d`, `1w`), as BIND writes them.
pub fn ttl_value(tok: &Tok<'_>, what: &str) -> Result<u32, SyntaxError> {
    parse_duration(tok.raw).ok_or_else(|| {
        SyntaxError::at(
            tok,
            format!(
                "{what} {:?} is not a number of seconds or a duration like 1h30m",
                tok.show()
            ),
        )
    })
}

/// Parses `3600`, `1h`, `1h30m`, `2d`, `1w2d` (case-insensitive units s, m, h, d, w).
pub fn parse_duration(raw: &[u8]) -> Option<u32> {
    if raw.is_empty() {
        return None;
    }
    if raw.iter().all(u8::is_ascii_digit) {
        return std::str::from_utf8(raw)
            .ok()?
            .parse::<u64>()
            .ok()
            .and_then(|v| u32::try_from(v).ok());
    }
    let mut total: u64 = 0;
    let mut num: Option<u64> = None;
    for &c in raw {
        if c.is_ascii_digit() {
            num = Some(
                num.unwrap_or(0)
                    .checked_mul(10)?
                    .checked_add(u64::from(c - b'0'))?,
            );
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            b's' => 1,
            b'm' => 60,
            b'h' => 3600,
            b'd' => 86_400,
            b'w' => 604_800,
            _ => return None,
        };
        total = total.checked_add(num.take()?.checked_mul(unit)?)?;
    }
    if num.is_some() {
        return None; // digits after the last unit
    }
    u32::try_from(total).ok()
}

pub fn parse_soa(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> P {
    out.extend_from_slice(
        f.name("SOA primary name server", TargetKind::Any, true)?
            .wire(),
    );
    out.extend_from_slice(f.name("SOA mailbox", TargetKind::Any, true)?.wire());
    out.extend_from_slice(&f.u32("SOA serial")?.to_be_bytes());
    for what in ["SOA refresh", "SOA retry", "SOA expire", "SOA minimum"] {
        let tok = f.next(what)?;
        out.extend_from_slice(&ttl_value(&tok, what)?.to_be_bytes());
    }
    Ok(())
}

pub fn format_soa(w: &mut Wire<'_>, out: &mut String) -> F {
    let _ = write!(
        out,
        "{} {} {} {} {} {} {}",
        w.name()?,
        w.name()?,
        w.u32()?,
        w.u32()?,
        w.u32()?,
        w.u32()?,
        w.u32()?
    );
    Ok(())
}
