//! SVCB and HTTPS (RFC 9460): service binding, one codec for both types.
//!
//! Presentation: `SvcPriority TargetName [key[=value]]...`. Wire: the priority, the target
//! uncompressed, then the SvcParams in strictly increasing key order, each as key, value
//! length and value.
//!
//! Values are printed unquoted, with the characters a zone-file word cannot hold escaped
//! (`alpn=h2,h3 ipv4hint=192.0.2.1`); the RFC's quoted form (`alpn="h2,h3"`) is read too
//! when the lexer hands it over as `key=` followed by an adjacent quoted string.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use super::cursor::{Fields, Wire, WireError, decode_base64, encode_base64};
use crate::name::TargetKind;
use crate::presentation::{SyntaxError, Tok};

const MANDATORY: u16 = 0;
const ALPN: u16 = 1;
const NO_DEFAULT_ALPN: u16 = 2;
const PORT: u16 = 3;
const IPV4HINT: u16 = 4;
const ECH: u16 = 5;
const IPV6HINT: u16 = 6;
const DOHPATH: u16 = 7;
const OHTTP: u16 = 8;

/// The keys with a name (RFC 9460, RFC 9461, RFC 9540).
const KEYS: &[(u16, &str)] = &[
    (MANDATORY, "mandatory"),
    (ALPN, "alpn"),
    (NO_DEFAULT_ALPN, "no-default-alpn"),
    (PORT, "port"),
    (IPV4HINT, "ipv4hint"),
    (ECH, "ech"),
    (IPV6HINT, "ipv6hint"),
    (DOHPATH, "dohpath"),
    (OHTTP, "ohttp"),
];

/// The presentation name of a key: its name, or `keyNNNNN`.
fn key_name(key: u16) -> String {
    KEYS.iter()
        .find(|(k, _)| *k == key)
        .map_or_else(|| format!("key{key}"), |(_, n)| (*n).to_string())
}

/// A key as written: `(key, generic)`, where `generic` means the `keyNNNNN` form, whose value
/// is always the raw bytes.
fn parse_key(text: &[u8]) -> Option<(u16, bool)> {
    if let Some((key, _)) = KEYS
        .iter()
        .find(|(_, n)| n.as_bytes().eq_ignore_ascii_case(text))
    {
        return Some((*key, false));
    }
    let digits = text
        .get(..3)
        .filter(|p| p.eq_ignore_ascii_case(b"key"))
        .map(|_| &text[3..])?;
    if digits.is_empty()
        || digits.len() > 5
        || (digits.len() > 1 && digits[0] == b'0')
        || !digits.iter().all(u8::is_ascii_digit)
    {
        return None;
    }
    let value = digits
        .iter()
        .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    u16::try_from(value).ok().map(|k| (k, true))
}

/// Parses `priority target [key[=value]]...`.
pub fn parse(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), SyntaxError> {
    out.extend_from_slice(&f.u16("SvcPriority")?.to_be_bytes());
    out.extend_from_slice(f.name("target", TargetKind::Domain, true)?.wire());
    let mut params: BTreeMap<u16, Vec<u8>> = BTreeMap::new();
    while !f.is_done() {
        let tok = f.next("SvcParam")?;
        if tok.quoted {
            return Err(Fields::err(
                &tok,
                format!(
                    "SvcParam {:?} must be key=value, not a quoted string",
                    tok.show()
                ),
            ));
        }
        let (key_raw, value) = match tok.raw.iter().position(|&b| b == b'=') {
            None => (tok.raw, None),
            Some(eq) => {
                let mut value = Tok {
                    raw: &tok.raw[eq + 1..],
                    quoted: false,
                    line: tok.line,
                    column: tok.column + eq as u32 + 1,
                };
                if value.raw.is_empty() {
                    // `key="value"`, should the lexer split it in two.
                    if let Some(next) = f.peek().copied()
                        && next.quoted
                        && next.line == tok.line
                        && next.column == value.column
                    {
                        f.next("SvcParam value")?;
                        value = next;
                    }
                } else if value.raw.len() >= 2
                    && value.raw.first() == Some(&b'"')
                    && value.raw.last() == Some(&b'"')
                {
                    // `key="value"` as one word, should the lexer keep it whole.
                    value.raw = &value.raw[1..value.raw.len() - 1];
                    value.quoted = true;
                }
                (&tok.raw[..eq], Some(value))
            }
        };
        let (key, generic) = parse_key(key_raw).ok_or_else(|| {
            Fields::err(
                &tok,
                format!(
                    "unknown SvcParam key {:?} (known: mandatory, alpn, no-default-alpn, port, \
                     ipv4hint, ech, ipv6hint, dohpath, ohttp, or keyNNNNN)",
                    crate::presentation::cut_text(key_raw)
                ),
            )
        })?;
        if params.contains_key(&key) {
            return Err(Fields::err(
                &tok,
                format!("SvcParam {} appears more than once", key_name(key)),
            ));
        }
        let bytes = match &value {
            Some(v) => v.bytes()?.into_owned(),
            None => Vec::new(),
        };
        let wire = if generic {
            bytes
        } else {
            let raw_value = value.map_or(&[][..], |v| v.raw);
            param_value(key, &bytes, raw_value).map_err(|m| Fields::err(&tok, m))?
        };
        if wire.len() > usize::from(u16::MAX) {
            return Err(Fields::err(
                &tok,
                format!(
                    "SvcParam {} value is {} bytes; at most 65535 fit",
                    key_name(key),
                    wire.len()
                ),
            ));
        }
        params.insert(key, wire);
    }
    for (key, value) in params {
        out.extend_from_slice(&key.to_be_bytes());
        out.extend_from_slice(&(value.len() as u16).to_be_bytes());
        out.extend_from_slice(&value);
    }
    Ok(())
}

/// The wire value of a named key from its presentation value (`bytes`, escapes resolved;
/// `raw` as written).
fn param_value(key: u16, bytes: &[u8], raw: &[u8]) -> Result<Vec<u8>, String> {
    let name = key_name(key);
    if bytes.is_empty() && !matches!(key, NO_DEFAULT_ALPN | OHTTP) {
        return Err(format!("SvcParam {name} needs a value ({name}=...)"));
    }
    let text = || {
        std::str::from_utf8(bytes).map_err(|_| format!("SvcParam {name} value is not valid UTF-8"))
    };
    let mut out = Vec::with_capacity(bytes.len());
    match key {
        MANDATORY => {
            if raw.contains(&b'\\') {
                return Err("mandatory must not contain escapes".into());
            }
            let mut keys = Vec::new();
            for item in text()?.split(',') {
                let (k, _) = parse_key(item.as_bytes()).ok_or_else(|| {
                    format!("mandatory lists {item:?}, which is not a SvcParam key")
                })?;
                if k == MANDATORY {
                    return Err("mandatory must not list mandatory itself".into());
                }
                if keys.contains(&k) {
                    return Err(format!("mandatory lists {} more than once", key_name(k)));
                }
                keys.push(k);
            }
            keys.sort_unstable();
            for k in keys {
                out.extend_from_slice(&k.to_be_bytes());
            }
        }
        ALPN => {
            for id in split_value_list(bytes)? {
                if id.is_empty() || id.len() > 255 {
                    return Err(format!(
                        "alpn id {:?} must be 1 to 255 bytes",
                        String::from_utf8_lossy(&id)
                    ));
                }
                out.push(id.len() as u8);
                out.extend_from_slice(&id);
            }
        }
        NO_DEFAULT_ALPN | OHTTP => {
            if !bytes.is_empty() {
                return Err(format!("SvcParam {name} takes no value"));
            }
        }
        PORT => {
            let t = text()?;
            let port = if t.bytes().all(|b| b.is_ascii_digit()) {
                t.parse::<u16>().ok()
            } else {
                None
            };
            let port =
                port.ok_or_else(|| format!("port must be a number from 0 to 65535, not {t:?}"))?;
            out.extend_from_slice(&port.to_be_bytes());
        }
        IPV4HINT => {
            for item in text()?.split(',') {
                let addr = Ipv4Addr::from_str(item)
                    .map_err(|_| format!("ipv4hint {item:?} is not a valid IPv4 address"))?;
                out.extend_from_slice(&addr.octets());
            }
        }
        IPV6HINT => {
            for item in text()?.split(',') {
                let addr = Ipv6Addr::from_str(item)
                    .map_err(|_| format!("ipv6hint {item:?} is not a valid IPv6 address"))?;
                out.extend_from_slice(&addr.octets());
            }
        }
        ECH => {
            out = decode_base64(bytes).ok_or("ech must be base64 (an ECHConfigList)")?;
        }
        DOHPATH => out.extend_from_slice(text()?.as_bytes()),
        _ => out.extend_from_slice(bytes),
    }
    Ok(out)
}

/// Splits a comma-separated list (RFC 9460 appendix A.1): `\,` and `\\` stand for a comma and
/// a backslash inside an item.
fn split_value_list(bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut items = Vec::new();
    let mut item = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b',' => items.push(std::mem::take(&mut item)),
            b'\\' => match bytes.get(i + 1) {
                Some(&c @ (b',' | b'\\')) => {
                    item.push(c);
                    i += 1;
                }
                _ => {
                    return Err(
                        r"a backslash inside a list item must be followed by ',' or '\'".into(),
                    );
                }
            },
            c => item.push(c),
        }
        i += 1;
    }
    items.push(item);
    Ok(items)
}

/// One SvcParam on the wire: key and value.
type Param<'w> = (u16, &'w [u8]);

/// Reads the SvcParams after the priority and target.
fn read_params<'w>(w: &mut Wire<'w>) -> Result<Vec<Param<'w>>, WireError> {
    let mut params = Vec::new();
    while !w.is_done() {
        let key = w.u16()?;
        let len = w.u16()?;
        params.push((key, w.bytes(usize::from(len))?));
    }
    Ok(params)
}

/// Prints SVCB data: `1 . alpn=h2,h3 ipv4hint=192.0.2.1,192.0.2.2 port=443`.
pub fn format(w: &mut Wire<'_>, out: &mut String) -> Result<(), WireError> {
    let priority = w.u16()?;
    let target = w.name()?;
    let _ = write!(out, "{priority} {target}");
    for (key, value) in read_params(w)? {
        out.push(' ');
        match present(key, value) {
            Some(text) => {
                out.push_str(&key_name(key));
                if !text.is_empty() {
                    out.push('=');
                    escape(&text, out);
                }
            }
            // Unknown keys, and known ones whose value is malformed (which `check` refuses),
            // in the generic form that reads back to the same bytes.
            None => {
                let _ = write!(out, "key{key}");
                if !value.is_empty() {
                    out.push('=');
                    escape(value, out);
                }
            }
        }
    }
    Ok(())
}

/// The presentation value (before char-string escaping) of a named key, if `value` is well
/// formed for it.
fn present(key: u16, value: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(value.len() * 2);
    let sep = |out: &mut Vec<u8>| {
        if !out.is_empty() {
            out.push(b',');
        }
    };
    match key {
        MANDATORY => {
            if value.is_empty() || !value.len().is_multiple_of(2) {
                return None;
            }
            for k in value.chunks_exact(2) {
                sep(&mut out);
                out.extend_from_slice(key_name(u16::from_be_bytes([k[0], k[1]])).as_bytes());
            }
        }
        ALPN => {
            for id in alpn_ids(value)? {
                sep(&mut out);
                for &b in id {
                    if b == b',' || b == b'\\' {
                        out.push(b'\\');
                    }
                    out.push(b);
                }
            }
        }
        NO_DEFAULT_ALPN | OHTTP if value.is_empty() => {}
        PORT if value.len() == 2 => {
            out.extend_from_slice(
                u16::from_be_bytes([value[0], value[1]])
                    .to_string()
                    .as_bytes(),
            );
        }
        IPV4HINT if !value.is_empty() && value.len().is_multiple_of(4) => {
            for a in value.chunks_exact(4) {
                sep(&mut out);
                out.extend_from_slice(Ipv4Addr::new(a[0], a[1], a[2], a[3]).to_string().as_bytes());
            }
        }
        IPV6HINT if !value.is_empty() && value.len().is_multiple_of(16) => {
            for a in value.chunks_exact(16) {
                sep(&mut out);
                let octets: [u8; 16] = a.try_into().ok()?;
                out.extend_from_slice(Ipv6Addr::from(octets).to_string().as_bytes());
            }
        }
        ECH if !value.is_empty() => {
            let mut text = String::new();
            encode_base64(value, &mut text);
            out.extend_from_slice(text.as_bytes());
        }
        DOHPATH if !value.is_empty() && std::str::from_utf8(value).is_ok() => {
            out.extend_from_slice(value);
        }
        _ => return None,
    }
    Some(out)
}

/// The ids of an alpn value, if it is a non-empty sequence of non-empty length-prefixed ids.
fn alpn_ids(value: &[u8]) -> Option<Vec<&[u8]>> {
    let mut ids = Vec::new();
    let mut w = Wire::new(value);
    while !w.is_done() {
        let id = w.char_string().ok()?;
        if id.is_empty() {
            return None;
        }
        ids.push(id);
    }
    (!ids.is_empty()).then_some(ids)
}

/// Writes bytes as an unquoted char-string: what would end a word, or is not printable ASCII,
/// escaped.
fn escape(bytes: &[u8], out: &mut String) {
    for &b in bytes {
        match b {
            b'"' | b'\\' | b';' | b'(' | b')' => {
                out.push('\\');
                out.push(b as char);
            }
            0x21..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\{b:03}");
            }
        }
    }
}

/// Checks SVCB data: keys in strictly increasing order, AliasMode without SvcParams, the
/// value of each known key well formed, and `mandatory` and `no-default-alpn` consistent
/// with the keys present.
pub fn check(wire: &[u8]) -> Result<(), String> {
    let mut w = Wire::new(wire);
    let priority = w.u16().map_err(|e| e.to_string())?;
    w.name().map_err(|e| e.to_string())?;
    let params = read_params(&mut w).map_err(|e| e.to_string())?;
    for pair in params.windows(2) {
        let (a, b) = (pair[0].0, pair[1].0);
        if a == b {
            return Err(format!("SvcParam {} appears more than once", key_name(a)));
        }
        if b < a {
            return Err(format!(
                "SvcParams must be in increasing key order: {} comes after {}",
                key_name(b),
                key_name(a)
            ));
        }
    }
    if priority == 0 && !params.is_empty() {
        return Err(
            "AliasMode (SvcPriority 0) takes no SvcParams: use a priority of 1 or more for a \
             ServiceMode record"
                .into(),
        );
    }
    let has = |key: u16| params.iter().any(|(k, _)| *k == key);
    for &(key, value) in &params {
        let name = key_name(key);
        match key {
            MANDATORY => check_mandatory(value, has)?,
            ALPN if alpn_ids(value).is_none() => {
                return Err(
                    "alpn must hold one or more ids of 1 to 255 bytes, each with its length".into(),
                );
            }
            NO_DEFAULT_ALPN | OHTTP if !value.is_empty() => {
                return Err(format!("SvcParam {name} takes no value"));
            }
            NO_DEFAULT_ALPN if !has(ALPN) => return Err("no-default-alpn requires alpn".into()),
            PORT if value.len() != 2 => {
                return Err(format!("port must be 2 bytes, not {}", value.len()));
            }
            IPV4HINT | IPV6HINT => {
                let size = if key == IPV4HINT { 4 } else { 16 };
                if value.is_empty() || !value.len().is_multiple_of(size) {
                    return Err(format!(
                        "{name} must hold one or more addresses of {size} bytes, not {} bytes",
                        value.len()
                    ));
                }
            }
            ECH if value.is_empty() => return Err("ech must not be empty".into()),
            DOHPATH if value.is_empty() || std::str::from_utf8(value).is_err() => {
                return Err("dohpath must be a non-empty UTF-8 URI template".into());
            }
            _ => {}
        }
    }
    Ok(())
}

/// The `mandatory` value: one or more keys, in increasing order, not itself, all present.
fn check_mandatory(value: &[u8], has: impl Fn(u16) -> bool) -> Result<(), String> {
    if value.is_empty() || !value.len().is_multiple_of(2) {
        return Err("mandatory must list one or more keys".into());
    }
    let keys: Vec<u16> = value
        .chunks_exact(2)
        .map(|k| u16::from_be_bytes([k[0], k[1]]))
        .collect();
    if keys.contains(&MANDATORY) {
        return Err("mandatory must not list mandatory itself".into());
    }
    for pair in keys.windows(2) {
        if pair[0] == pair[1] {
            return Err(format!(
                "mandatory lists {} more than once",
                key_name(pair[0])
            ));
        }
        if pair[1] < pair[0] {
            return Err("mandatory keys must be in increasing order".into());
        }
    }
    if let Some(&k) = keys.iter().find(|&&k| !has(k)) {
        return Err(format!(
            "mandatory lists {0}, but the record has no {0}",
            key_name(k)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::presentation::{Tok, tokens};
    use crate::rdata::tests::canon;
    use crate::rdata::{Ctx, RrType, decode_hex, format};

    fn ok(content: &str, want: &str) {
        for rtype in ["SVCB", "HTTPS"] {
            assert_eq!(
                canon(rtype, content).as_deref(),
                Ok(want),
                "{rtype} {content}"
            );
        }
    }

    fn bad(content: &str, fragment: &str) {
        for rtype in ["SVCB", "HTTPS"] {
            let e = canon(rtype, content).unwrap_err();
            assert!(
                e.contains(fragment),
                "{rtype} {content}: {e:?} lacks {fragment:?}"
            );
        }
    }

    /// Parses API input (no origin).
    fn wire(content: &str) -> Result<Vec<u8>, String> {
        let toks = tokens(content).map_err(|e| e.to_string())?;
        let type_tok = Tok {
            raw: b"SVCB",
            quoted: false,
            line: 1,
            column: 1,
        };
        crate::rdata::parse(RrType::SVCB, &toks, &type_tok, Ctx { origin: None })
            .map_err(|e| e.message)
    }

    fn hex(text: &str) -> Vec<u8> {
        let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
        decode_hex(&digits).unwrap()
    }

    /// RFC 9460 appendix D: presentation, wire, and the canonical form here.
    #[test]
    fn rfc9460_test_vectors() {
        let vectors = [
            // D.1, AliasMode.
            (
                "0 foo.example.com.",
                "0000 03666f6f076578616d706c6503636f6d00",
                "0 foo.example.com.",
            ),
            // D.2, ServiceMode.
            ("1 .", "0001 00", "1 ."),
            (
                "16 foo.example.com. port=53",
                "0010 03666f6f076578616d706c6503636f6d00 0003 0002 0035",
                "16 foo.example.com. port=53",
            ),
            (
                "1 foo.example.com. key667=hello",
                "0001 03666f6f076578616d706c6503636f6d00 029b 0005 68656c6c6f",
                "1 foo.example.com. key667=hello",
            ),
            // The RFC writes key667="hello\210qoo"; the same value unquoted.
            (
                r"1 foo.example.com. key667=hello\210qoo",
                "0001 03666f6f076578616d706c6503636f6d00 029b 0009 68656c6c6fd2716f6f",
                r"1 foo.example.com. key667=hello\210qoo",
            ),
            (
                "1 foo.example.com. ipv6hint=2001:db8::1,2001:db8::53:1",
                "0001 03666f6f076578616d706c6503636f6d00 0006 0020 \
                 20010db8000000000000000000000001 20010db8000000000000000000530001",
                "1 foo.example.com. ipv6hint=2001:db8::1,2001:db8::53:1",
            ),
            (
                "1 example.com. ipv6hint=2001:db8:122:344::192.0.2.33",
                "0001 076578616d706c6503636f6d00 0006 0010 20010db80122034400000000c0000221",
                "1 example.com. ipv6hint=2001:db8:122:344::c000:221",
            ),
            (
                "16 foo.example.org. alpn=h2,h3-19 mandatory=ipv4hint,alpn ipv4hint=192.0.2.1",
                "0010 03666f6f076578616d706c65036f726700 0000 0004 0001 0004 \
                 0001 0009 02 6832 05 68332d3139 0004 0004 c0000201",
                "16 foo.example.org. mandatory=alpn,ipv4hint alpn=h2,h3-19 ipv4hint=192.0.2.1",
            ),
            // The RFC writes alpn="f\\\\oo\\,bar,h2"; its other form is unquoted.
            (
                r"16 foo.example.org. alpn=f\\\092oo\092,bar,h2",
                "0010 03666f6f076578616d706c65036f726700 0001 000c 08 665c6f6f2c626172 02 6832",
                r"16 foo.example.org. alpn=f\\\\oo\\,bar,h2",
            ),
        ];
        for (text, wire_hex, canonical) in vectors {
            let w = wire(text).unwrap();
            assert_eq!(w, hex(wire_hex), "{text}");
            ok(text, canonical);
            assert_eq!(format(RrType::HTTPS, &w).unwrap(), canonical);
        }
    }

    /// RFC 9460 appendix D.3, and the other rules.
    #[test]
    fn failures() {
        bad(
            "1 foo.example.com. key123=abc key123=def",
            "SvcParam key123 appears more than once",
        );
        bad(
            "1 foo.example.com. mandatory=key123",
            "mandatory lists key123, but the record has no key123",
        );
        bad(
            "1 foo.example.com. mandatory=mandatory",
            "mandatory must not list mandatory itself",
        );
        bad(
            "1 foo.example.com. mandatory=key123,key123 key123=abc",
            "mandatory lists key123 more than once",
        );
        bad(
            "1 foo.example.com. alpn=h2 alpn=h3",
            "SvcParam alpn appears more than once",
        );
        bad(
            "1 foo.example.com. port=1 key3=\\000\\002",
            "SvcParam port appears more than once",
        );
        bad("0 foo.example.com. alpn=h2", "AliasMode");
        bad(
            "1 foo.example.com. no-default-alpn",
            "no-default-alpn requires alpn",
        );
        bad(
            "1 foo.example.com. no-default-alpn=x alpn=h2",
            "no-default-alpn takes no value",
        );
        bad("1 foo.example.com. ohttp=1", "ohttp takes no value");
        bad("1 foo.example.com. alpn", "alpn needs a value");
        bad("1 foo.example.com. alpn=", "alpn needs a value");
        bad(
            "1 foo.example.com. alpn=h2,,h3",
            "alpn id \"\" must be 1 to 255 bytes",
        );
        bad(r"1 foo.example.com. alpn=h2\\x", "backslash");
        bad(
            "1 foo.example.com. port=70000",
            "port must be a number from 0 to 65535",
        );
        bad("1 foo.example.com. port=-1", "port must be a number");
        bad(
            "1 foo.example.com. ipv4hint=192.0.2.1,",
            "ipv4hint \"\" is not a valid IPv4",
        );
        bad(
            "1 foo.example.com. ipv4hint=2001:db8::1",
            "not a valid IPv4",
        );
        bad("1 foo.example.com. ipv6hint=192.0.2.1", "not a valid IPv6");
        bad("1 foo.example.com. ech=!!", "ech must be base64");
        bad("1 foo.example.com. dohpath=\\255", "not valid UTF-8");
        bad(
            "1 foo.example.com. mandatory=alpn,bogus alpn=h2",
            "mandatory lists \"bogus\"",
        );
        bad(
            "1 foo.example.com. bogus=1",
            "unknown SvcParam key \"bogus\"",
        );
        bad("1 foo.example.com. key65536=1", "unknown SvcParam key");
        bad("1 foo.example.com. key01=1", "unknown SvcParam key");
        bad("1 foo.example.com. \"alpn=h2\"", "must be key=value");
        bad("70000 .", "SvcPriority 70000 is larger than 65535");
        bad("1", "missing target");
        bad("1 \"foo.example.com.\"", "must not be quoted");
        // Known keys in keyNNNNN form are raw bytes, checked like the named form.
        bad("1 . key3=\\001", "port must be 2 bytes");
        bad(
            "1 . key4=\\192\\000\\002",
            "ipv4hint must hold one or more addresses of 4 bytes",
        );
        bad("1 . key6=\\032", "ipv6hint must hold");
        bad("1 . key1=h2", "alpn must hold");
        bad("1 . key0=\\000", "mandatory must list");
        bad("1 . key5", "ech must not be empty");
        bad("1 . key7", "dohpath must be");
        // Names must be absolute in API input.
        assert!(
            wire("1 foo alpn=h2")
                .unwrap_err()
                .contains("fully qualified")
        );
    }

    #[test]
    fn canonical_forms() {
        ok(
            "1 . alpn=h2,h3 ipv4hint=192.0.2.1,192.0.2.2 port=443",
            "1 . alpn=h2,h3 port=443 ipv4hint=192.0.2.1,192.0.2.2",
        );
        // Zone files: names relative to the origin.
        ok("1 svc alpn=h2", "1 svc.example.com. alpn=h2");
        ok("0 @", "0 example.com.");
        ok("1 . no-default-alpn alpn=h3", "1 . alpn=h3 no-default-alpn");
        ok("1 . ALPN=h2 Port=8443", "1 . alpn=h2 port=8443");
        ok("1 . ohttp", "1 . ohttp");
        ok("1 . ohttp=", "1 . ohttp");
        ok(
            "1 . dohpath=/dns-query{?dns}",
            "1 . dohpath=/dns-query{?dns}",
        );
        ok("1 . ech=AEX+DQBBpQAgACA=", "1 . ech=AEX+DQBBpQAgACA=");
        ok("1 . ipv6hint=2001:DB8:0::1", "1 . ipv6hint=2001:db8::1");
        ok(
            "1 . key65535 key0=\\000\\003 key3=\\001\\187",
            "1 . mandatory=port port=443 key65535",
        );
        ok(
            "1 . key9=a\\032\\\"b\\;c\\(\\)\\255",
            "1 . key9=a\\032\\\"b\\;c\\(\\)\\255",
        );
        ok("1 . key9", "1 . key9");
        ok(r"1 . alpn=a\092\044b,h2", r"1 . alpn=a\\,b,h2");
        ok(
            "65535 _dns.resolver.arpa. alpn=dot",
            "65535 _dns.resolver.arpa. alpn=dot",
        );
        // Unusual mandatory lists, in ascending order.
        ok(
            "1 . mandatory=key9,alpn,port alpn=h2 port=1 key9",
            "1 . mandatory=alpn,port,key9 alpn=h2 port=1 key9",
        );
    }

    #[test]
    fn generic_form() {
        ok(
            "\\# 25 0010 03666f6f076578616d706c6503636f6d00 0003 0002 0035",
            "16 foo.example.com. port=53",
        );
        ok("\\# 3 0001 00", "1 .");
        // Keys out of order or repeated.
        bad(
            "\\# 16 0001 00 0003 0002 0035 0001 0003 026832",
            "increasing key order: alpn comes after port",
        );
        bad(
            "\\# 15 0001 00 0003 0002 0035 0003 0002 0035",
            "SvcParam port appears more than once",
        );
        // Malformed known values print in generic form, and are refused.
        bad("\\# 10 0001 00 0003 0003 000035", "port must be 2 bytes");
        bad(
            "\\# 9 0001 00 0000 0002 0000",
            "mandatory must not list mandatory itself",
        );
        bad(
            "\\# 11 0001 00 0000 0004 0004 0004 ",
            "mandatory lists ipv4hint more than once",
        );
        bad("\\# 7 0000 00 0008 0000", "AliasMode");
        // Truncated.
        bad("\\# 8 0001 00 0003 0002 00", "truncated");
        bad("\\# 2 0001", "bad name");
        assert_eq!(
            format(RrType::SVCB, &hex("0001 00 0003 0003 000041")).unwrap(),
            r"1 . key3=\000\000A"
        );
    }

    #[test]
    fn quoted_values() {
        let t = |raw: &'static [u8], quoted: bool, column: u32| Tok {
            raw,
            quoted,
            line: 1,
            column,
        };
        let type_tok = t(b"SVCB", false, 1);
        let parse = |toks: &[Tok<'_>]| {
            crate::rdata::parse(RrType::SVCB, toks, &type_tok, Ctx { origin: None })
                .map_err(|e| e.message)
        };
        // 1 . alpn="h2,h3" key667="hello\210qoo", should the lexer split `key=` from the string.
        let toks = [
            t(b"1", false, 1),
            t(b".", false, 3),
            t(b"alpn=", false, 5),
            t(b"h2,h3", true, 10),
            t(b"key667=", false, 18),
            t(br"hello\210qoo", true, 25),
        ];
        let w = parse(&toks).unwrap();
        assert_eq!(
            format(RrType::SVCB, &w).unwrap(),
            r"1 . alpn=h2,h3 key667=hello\210qoo"
        );
        // ... or keep it in one word.
        let toks = [
            t(b"1", false, 1),
            t(b".", false, 3),
            t(br#"alpn="f\\\\oo\\,bar,h2""#, false, 5),
        ];
        let w = parse(&toks).unwrap();
        assert_eq!(
            format(RrType::SVCB, &w).unwrap(),
            r"1 . alpn=f\\\\oo\\,bar,h2"
        );
        // A string after a blank is not the value.
        let toks = [
            t(b"1", false, 1),
            t(b".", false, 3),
            t(b"alpn=", false, 5),
            t(b"h2", true, 11),
        ];
        assert!(parse(&toks).unwrap_err().contains("alpn needs a value"));
    }

    /// Random wire data that `format` prints and `check` accepts reads back to the same bytes.
    #[test]
    fn random_wire_round_trips() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let (mut valid, o) = (
            0,
            crate::dname::DName::parse(b"example.com.", None).unwrap(),
        );
        let type_tok = Tok {
            raw: b"SVCB",
            quoted: false,
            line: 1,
            column: 1,
        };
        for _ in 0..20_000 {
            let mut w = vec![0, next(3) as u8];
            if next(2) == 0 {
                w.push(0);
            } else {
                w.extend_from_slice(&[1, b'a', 0]);
            }
            let mut key = 0u16;
            for _ in 0..next(4) {
                key += next(3) as u16;
                let k = if next(8) == 0 { 667 + key } else { key };
                let len = [0, 1, 2, 3, 4, 8, 16][next(7) as usize];
                let mut value: Vec<u8> = (0..len)
                    .map(|_| [0, 1, 2, 4, 34, 44, 92, 104, 255][next(9) as usize])
                    .collect();
                if k == 1 && next(2) == 0 {
                    value = vec![2, b'h', b'2', 3, b',', b'\\', b'x'];
                }
                w.extend_from_slice(&k.to_be_bytes());
                w.extend_from_slice(&(value.len() as u16).to_be_bytes());
                w.extend_from_slice(&value);
            }
            let Ok(text) = format(RrType::SVCB, &w) else {
                continue;
            };
            if super::check(&w).is_err() {
                continue;
            }
            valid += 1;
            let toks = tokens(&text).unwrap();
            let again =
                crate::rdata::parse(RrType::SVCB, &toks, &type_tok, Ctx { origin: Some(&o) });
            assert_eq!(again.as_deref(), Ok(&w[..]), "{text}");
        }
        assert!(valid > 1000, "{valid}");
    }
}
