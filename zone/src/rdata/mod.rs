//! Record data, every type Apex hosts: parsed from presentation form into canonical wire form
//! (names uncompressed; lowercase, except in the DNSSEC types whose signatures cover names as
//! written), checked, and printed back in one canonical presentation form. Wire form is what
//! is compared, stored in zone versions and served; the canonical text is what users see and
//! what the database keeps. Each type's parser, printer and checker sit in `simple`, `dnssec`,
//! `loc` and `svcb`, tied to type codes (`types`) by one table (`kinds`).
//!
//! Types without a parser here can still be written in RFC 3597 generic form
//! (`TYPE65534 \# 4 0a000001`); known types written that way are decoded and checked like any
//! other (Cloudflare exports CAA like that).

mod cursor;
mod dnssec;
mod kinds;
mod loc;
mod simple;
mod svcb;
mod types;

pub use cursor::{
    Ctx, Fields, Wire, WireError, decode_base64, decode_hex, encode_base64, encode_hex,
    parse_number,
};
pub use dnssec::{decode_base32hex, encode_base32hex};
pub use simple::{MAX_TXT, parse_duration, ttl_value, txt_joined};
pub use types::{RrType, is_meta, type_name};

use crate::presentation::{SyntaxError, Tok};

/// Most RDATA bytes one record may carry (65,535 on the wire, less room for the owner name,
/// the fixed fields and a TSIG in one message).
pub const MAX_RDATA: usize = 65_535 - 255 - 10 - 512;

/// Parses the data of a record of type `rtype` from `toks`; `type_tok` is the type's own
/// token (for error positions when fields are missing).
pub fn parse(
    rtype: RrType,
    toks: &[Tok<'_>],
    type_tok: &Tok<'_>,
    ctx: Ctx<'_>,
) -> Result<Vec<u8>, SyntaxError> {
    let mut out = Vec::with_capacity(32);
    parse_into(rtype, toks, type_tok, ctx, &mut out)?;
    Ok(out)
}

/// [`parse`] into a caller's buffer (cleared first), so bulk readers reuse one allocation.
pub fn parse_into(
    rtype: RrType,
    toks: &[Tok<'_>],
    type_tok: &Tok<'_>,
    ctx: Ctx<'_>,
    out: &mut Vec<u8>,
) -> Result<(), SyntaxError> {
    out.clear();
    if let Some(first) = toks.first()
        && !first.quoted
        && first.raw == b"\\#"
    {
        let mut f = Fields::new(&toks[1..], first, ctx);
        let len = f.number("generic data length", MAX_RDATA as u64)? as usize;
        let data = if len == 0 {
            f.done()?;
            Vec::new()
        } else {
            f.hex_rest("generic data")?
        };
        if data.len() != len {
            return Err(SyntaxError::at(
                first,
                format!(
                    "generic data is {} bytes, but its length says {len}",
                    data.len()
                ),
            ));
        }
        // A known type in generic form meets exactly the rules of its text form: it is
        // printed, and the printed form is parsed and checked like any other input.
        if let Some(kind) = kinds::kind(rtype) {
            let invalid = |e: String| {
                SyntaxError::at(
                    first,
                    format!("generic data is not valid {}: {e}", type_name(rtype)),
                )
            };
            let mut text = String::new();
            let mut w = Wire::new(&data);
            (kind.format)(&mut w, &mut text)
                .and_then(|()| w.done())
                .map_err(|e| invalid(e.to_string()))?;
            (kind.check)(&data).map_err(&invalid)?;
            let toks = crate::presentation::tokens(&text).map_err(|e| invalid(e.message))?;
            let mut f = Fields::new(&toks, first, ctx);
            (kind.parse)(&mut f, out)
                .and_then(|()| f.done())
                .map_err(|e| invalid(e.message))?;
            (kind.check)(out).map_err(invalid)?;
        } else {
            out.extend_from_slice(&data);
        }
        return Ok(());
    }
    let kind = kinds::kind(rtype).ok_or_else(|| {
        SyntaxError::at(
            type_tok,
            format!(
                "type {} has no text form here: write its data in RFC 3597 form (\\# length hex)",
                type_name(rtype)
            ),
        )
    })?;
    let mut f = Fields::new(toks, type_tok, ctx);
    (kind.parse)(&mut f, out)?;
    f.done()?;
    if out.len() > MAX_RDATA {
        return Err(SyntaxError::at(
            type_tok,
            format!(
                "record data is {} bytes; at most {MAX_RDATA} fit",
                out.len()
            ),
        ));
    }
    (kind.check)(out).map_err(|m| SyntaxError::at(toks.first().unwrap_or(type_tok), m))?;
    Ok(())
}

/// Prints wire data in canonical presentation form (generic form for types without a parser).
pub fn format(rtype: RrType, wire: &[u8]) -> Result<String, WireError> {
    let mut out = String::with_capacity(wire.len() * 2);
    match kinds::kind(rtype) {
        Some(kind) => {
            let mut w = Wire::new(wire);
            (kind.format)(&mut w, &mut out)?;
            w.done()?;
        }
        None => {
            out.push_str(&format!("\\# {}", wire.len()));
            if !wire.is_empty() {
                out.push(' ');
                encode_hex(wire, &mut out);
            }
        }
    }
    Ok(out)
}

/// Whether users may create records of this type (as opposed to the platform: SOA; or a
/// signer: RRSIG, NSEC, NSEC3, NSEC3PARAM).
pub fn user_may_create(rtype: RrType) -> bool {
    !matches!(
        rtype,
        RrType::SOA | RrType::RRSIG | RrType::NSEC | RrType::NSEC3 | RrType::NSEC3PARAM
    ) && !types::is_meta(rtype)
}

#[cfg(test)]
mod tests;
