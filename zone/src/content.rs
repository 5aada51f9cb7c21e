//! Record content as the API takes it: one record's data in presentation form, parsed with
//! [`crate::rdata`] into canonical wire form and printed back canonically (the form stored and
//! compared for duplicates).
//!
//! Two API conveniences: names in content must end with a dot (so `mail.example.com` can never
//! silently become `mail.example.com.example.com.`), and TXT content with no quotes at all is
//! one string (`v=spf1 -all` means what people mean by it).

use hickory_proto::rr::RData;
use hickory_proto::rr::rdata::NULL;
use hickory_proto::serialize::binary::{BinDecoder, Restrict};

use crate::dname::DName;
use crate::presentation::{SyntaxError, Tok, quote, tokens};
use crate::rdata::{self, Ctx, RrType, WireError, type_name};

/// Why content was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentError {
    /// A type that does not exist, or that users may not create.
    #[error("{0}")]
    Type(String),
    /// Anything wrong with the data, with its column.
    #[error("{0}")]
    Syntax(String),
}

impl From<SyntaxError> for ContentError {
    fn from(e: SyntaxError) -> Self {
        ContentError::Syntax(if e.column > 1 {
            format!("{} (column {})", e.message, e.column)
        } else {
            e.message
        })
    }
}

/// Parses a record type as users write it (`A`, `aaaa`, `TYPE65534`) and checks users may
/// create it.
pub fn parse_type(input: &str) -> Result<RrType, ContentError> {
    let text = input.trim();
    let rtype = RrType::parse(text.as_bytes())
        .ok_or_else(|| ContentError::Type(format!("{text:?} is not a record type")))?;
    if rdata::user_may_create(rtype) {
        Ok(rtype)
    } else if rtype == RrType::SOA {
        Err(ContentError::Type(
            "the SOA record is managed by the platform (its timers are domain settings)".into(),
        ))
    } else {
        Err(ContentError::Type(format!(
            "{} records are made by the platform's signer or the protocol, not by users",
            type_name(rtype)
        )))
    }
}

/// Parses `content` for `rtype` into wire form. With `origin`, relative names are qualified as
/// a zone file would; without it (the API), names must be fully qualified.
pub fn parse(
    rtype: RrType,
    content: &str,
    origin: Option<&DName>,
) -> Result<Vec<u8>, ContentError> {
    let quoted;
    let content = if origin.is_none()
        && matches!(rtype, RrType::TXT | RrType::SPF)
        && !content.contains('"')
        && !content.trim().is_empty()
    {
        let mut q = String::with_capacity(content.len() + 2);
        quote(content.trim().as_bytes(), &mut q);
        quoted = q;
        quoted.as_str()
    } else {
        content
    };
    let toks = tokens(content)?;
    let type_name = type_name(rtype);
    let type_tok = Tok {
        raw: type_name.as_bytes(),
        quoted: false,
        line: 1,
        column: 1,
    };
    Ok(rdata::parse(rtype, &toks, &type_tok, Ctx { origin })?)
}

/// The canonical presentation form of wire data.
pub fn format(rtype: RrType, wire: &[u8]) -> Result<String, WireError> {
    rdata::format(rtype, wire)
}

/// Wire data as a hickory record data, for serving. The types the nameserver itself acts on
/// (addresses, names, SOA) are decoded; every other type is carried as its exact bytes, so
/// nothing is re-encoded on the way to the wire.
pub fn to_rdata(rtype: RrType, wire: &[u8]) -> Result<RData, WireError> {
    let decoded = matches!(
        rtype,
        RrType::A
            | RrType::AAAA
            | RrType::NS
            | RrType::CNAME
            | RrType::PTR
            | RrType::MX
            | RrType::SOA
            | RrType::TXT
            | RrType::SRV
    );
    if decoded {
        let len = u16::try_from(wire.len())
            .map_err(|_| WireError("record data over 65535 bytes".into()))?;
        let mut decoder = BinDecoder::new(wire);
        RData::read(&mut decoder, rtype.to_hickory(), Restrict::new(len))
            .map_err(|e| WireError(e.to_string()))
    } else {
        Ok(RData::Unknown {
            code: rtype.to_hickory(),
            rdata: NULL::with(wire.to_vec()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(t: &str, c: &str) -> Result<String, String> {
        let rtype = parse_type(t).map_err(|e| e.to_string())?;
        let wire = parse(rtype, c, None).map_err(|e| e.to_string())?;
        Ok(format(rtype, &wire).unwrap())
    }

    #[test]
    fn api_conventions() {
        assert_eq!(api("txt", "v=spf1 -all").unwrap(), "\"v=spf1 -all\"");
        assert_eq!(api("TXT", "\"a\" \"b\"").unwrap(), "\"a\" \"b\"");
        assert_eq!(
            api("MX", "10 mail.example.com.").unwrap(),
            "10 mail.example.com."
        );
        assert!(
            api("MX", "10 mail.example.com")
                .unwrap_err()
                .contains("fully qualified")
        );
        assert!(
            api("A", "192.0.2.300")
                .unwrap_err()
                .contains("not a valid IPv4")
        );
        assert!(
            api("SOA", "x")
                .unwrap_err()
                .contains("managed by the platform")
        );
        assert!(api("RRSIG", "x").unwrap_err().contains("signer"));
        assert!(api("BOGUS", "x").unwrap_err().contains("not a record type"));
        assert!(
            api("A", "192.0.2.1 192.0.2.2")
                .unwrap_err()
                .contains("column 11")
        );
    }

    #[test]
    fn served_form() {
        let wire = parse(RrType::MX, "10 mail.example.com.", None).unwrap();
        assert!(matches!(to_rdata(RrType::MX, &wire).unwrap(), RData::MX(_)));
        let wire = parse(RrType::CAA, "0 issue \"ca.example\"", None).unwrap();
        match to_rdata(RrType::CAA, &wire).unwrap() {
            RData::Unknown { rdata, .. } => assert_eq!(rdata.anything.as_slice(), wire.as_slice()),
            other => panic!("{other:?}"),
        }
    }
}
