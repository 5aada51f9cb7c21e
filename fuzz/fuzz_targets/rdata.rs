//! Arbitrary bytes as the wire data of each type: printing must never panic nor print what
//! cannot be read back; and data that is valid (accepted in RFC 3597 generic form) must print
//! and parse back to exactly the same bytes.
#![no_main]

use apex_zone::dname::DName;
use apex_zone::presentation::{Tok, tokens};
use apex_zone::rdata::{self, Ctx, RrType};
use libfuzzer_sys::fuzz_target;

const TYPES: &[RrType] = &[
    RrType::A, RrType::AAAA, RrType::NS, RrType::CNAME, RrType::SOA, RrType::MX, RrType::TXT, RrType::HINFO,
    RrType::LOC, RrType::SRV, RrType::NAPTR, RrType::CERT, RrType::DNAME, RrType::DS, RrType::SSHFP,
    RrType::DNSKEY, RrType::TLSA, RrType::OPENPGPKEY, RrType::SVCB, RrType::HTTPS, RrType::URI, RrType::CAA,
];

fn parse(rtype: RrType, text: &str, origin: &DName) -> Option<Vec<u8>> {
    let toks = tokens(text).expect("printed data tokenises");
    let name = rdata::type_name(rtype);
    let type_tok = Tok { raw: name.as_bytes(), quoted: false, line: 1, column: 1 };
    rdata::parse(rtype, &toks, &type_tok, Ctx { origin: Some(origin) }).ok()
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, wire)) = data.split_first() else { return };
    let rtype = TYPES[pick as usize % TYPES.len()];
    let origin = DName::parse(b"fuzz.example.", None).expect("origin");
    let Ok(text) = rdata::format(rtype, wire) else { return };
    let reparsed = parse(rtype, &text, &origin);
    let mut generic = format!("\\# {}", wire.len());
    if !wire.is_empty() {
        generic.push(' ');
        rdata::encode_hex(wire, &mut generic);
    }
    if parse(rtype, &generic, &origin).is_some() {
        // Names in data are stored lowercase: compare with the canonical form of the input.
        let canonical = parse(rtype, &text, &origin).expect("valid data prints in a form that parses");
        assert_eq!(reparsed.as_deref(), Some(canonical.as_slice()), "{rtype} {text}");
        assert_eq!(rdata::format(rtype, &canonical).expect("canonical data prints"), rdata::format(rtype, reparsed.as_deref().unwrap_or_default()).unwrap_or_default());
    }
});
