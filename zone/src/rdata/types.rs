//! Record types: codes and mnemonics. What each type's data looks like is in
//! [`super::kinds`].

use std::fmt;

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
