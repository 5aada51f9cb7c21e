//! Parse and print every type: canonical forms, and precise errors.

use super::*;
use crate::dname::DName;
use crate::presentation::tokens;

fn origin() -> DName {
    DName::parse(b"example.com.", None).unwrap()
}

/// Parses `content` as `rtype` in a zone with origin example.com. and prints it back.
pub fn canon(rtype: &str, content: &str) -> Result<String, String> {
    let t = RrType::parse(rtype.as_bytes()).unwrap();
    let o = origin();
    let toks = tokens(content).map_err(|e| e.to_string())?;
    let type_tok = Tok {
        raw: rtype.as_bytes(),
        quoted: false,
        line: 1,
        column: 1,
    };
    let wire = parse(t, &toks, &type_tok, Ctx { origin: Some(&o) }).map_err(|e| e.message)?;
    let text = format(t, &wire).map_err(|e| e.to_string())?;
    // Printing is parseable and stable.
    let again = parse(
        t,
        &tokens(&text).unwrap(),
        &type_tok,
        Ctx { origin: Some(&o) },
    )
    .map_err(|e| format!("reparse of {text:?}: {}", e.message))?;
    assert_eq!(again, wire, "{rtype} {content} -> {text}");
    Ok(text)
}

fn ok(rtype: &str, content: &str, want: &str) {
    assert_eq!(
        canon(rtype, content).as_deref(),
        Ok(want),
        "{rtype} {content}"
    );
}

fn bad(rtype: &str, content: &str, fragment: &str) {
    let e = canon(rtype, content).unwrap_err();
    assert!(
        e.contains(fragment),
        "{rtype} {content}: {e:?} lacks {fragment:?}"
    );
}

#[test]
fn addresses_and_names() {
    ok("A", "192.0.2.1", "192.0.2.1");
    bad("A", "192.0.2.256", "not a valid IPv4");
    bad("A", "192.0.2.1 x", "unexpected");
    bad("A", "", "missing IPv4 address");
    ok("AAAA", "2001:DB8:0:0::1", "2001:db8::1");
    ok("CNAME", "Target", "target.example.com.");
    ok("DNAME", "other.net.", "other.net.");
    ok("PTR", "host.example.net.", "host.example.net.");
    ok("NS", "ns1", "ns1.example.com.");
    bad("NS", "192.0.2.1.", "address");
    bad("NS", "_x.example.net.", "'_'");
    bad("CNAME", ".", "root");
}

#[test]
fn mail_and_services() {
    ok("MX", "10 mail", "10 mail.example.com.");
    ok("MX", "0 .", "0 .");
    bad("MX", "10 .", "null MX");
    bad("MX", "70000 mail", "larger than 65535");
    ok(
        "SRV",
        "10 5 5060 sip.example.com.",
        "10 5 5060 sip.example.com.",
    );
    ok("SRV", "0 0 0 .", "0 0 0 .");
    ok(
        "NAPTR",
        "100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp.example.com.",
        "100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp.example.com.",
    );
    bad(
        "NAPTR",
        "100 10 \"S\" \"SIP+D2U\" \"!^.*$!sip:x@y!\" _sip._udp.example.com.",
        "not both",
    );
    ok(
        "URI",
        "10 1 \"https://example.com/\"",
        "10 1 \"https://example.com/\"",
    );
    bad("URI", "10 1 https://example.com/", "quoted");
}

#[test]
fn text() {
    ok("TXT", "\"a\" \"b c\"", "\"a\" \"b c\"");
    ok("TXT", "unquoted words", "\"unquoted\" \"words\"");
    let long = "k".repeat(600);
    let text = canon("TXT", &format!("\"{long}\"")).unwrap();
    assert_eq!(text.matches('"').count(), 6);
    bad("TXT", &format!("\"{}\"", "k".repeat(5000)), "at most 4096");
    ok("HINFO", "\"PC\" Linux", "\"PC\" \"Linux\"");
}

#[test]
fn security_types() {
    ok(
        "CAA",
        "0 issue \"letsencrypt.org\"",
        "0 issue \"letsencrypt.org\"",
    );
    ok("CAA", "128 issuewild \";\"", "128 issuewild \";\"");
    ok(
        "CAA",
        "0 iodef \"mailto:sec@example.com\"",
        "0 iodef \"mailto:sec@example.com\"",
    );
    bad("CAA", "0 iodef \"sec@example.com\"", "iodef");
    bad("CAA", "5 issue \"ca.example\"", "flags");
    bad("CAA", "0 issue \"not a domain\"", "not a domain");
    bad("CAA", "0 is-sue \"ca.example\"", "letters and digits");
    // Cloudflare exports CAA in generic form.
    ok(
        "CAA",
        "\\# 22 00 05 69737375 65 6c657473656e63727970742e6f7267",
        "0 issue \"letsencrypt.org\"",
    );
    bad("CAA", "\\# 3 00 05 69", "not valid CAA");
    let sha256 = "a".repeat(64);
    ok(
        "SSHFP",
        &format!("4 2 {sha256}"),
        &format!("4 2 {}", "A".repeat(64)),
    );
    bad("SSHFP", "4 2 abcd", "needs 32");
    bad("SSHFP", "9 1 abcd", "algorithm 9");
    ok(
        "TLSA",
        &format!("3 1 1 {sha256}"),
        &format!("3 1 1 {}", "A".repeat(64)),
    );
    ok(
        "SMIMEA",
        &format!("3 1 1 {}", &sha256[..32]).replace(
            &sha256[..32],
            &format!("{} {}", &sha256[..32], &sha256[32..]),
        ),
        &format!("3 1 1 {}", "A".repeat(64)),
    );
    bad("TLSA", "3 1 2 abcd", "needs 64");
    bad("TLSA", "4 1 1 abcd", "usage 4");
    ok(
        "DS",
        &format!("12345 13 2 {sha256}"),
        &format!("12345 13 2 {}", "A".repeat(64)),
    );
    ok(
        "DS",
        &format!("12345 ECDSAP256SHA256 2 {sha256}"),
        &format!("12345 13 2 {}", "A".repeat(64)),
    );
    ok("CDS", "0 0 0 00", "0 0 0 00");
    bad("DS", "12345 13 2 abcd", "needs 32");
    ok(
        "DNSKEY",
        "257 3 13 aGVsbG8gd29y bGQ=",
        "257 3 13 aGVsbG8gd29ybGQ=",
    );
    ok("CDNSKEY", "0 3 0 AA==", "0 3 0 AA==");
    bad("DNSKEY", "257 4 13 aGVsbG8=", "protocol");
    bad("DNSKEY", "257 3 13 !!!", "base64");
    ok("OPENPGPKEY", "aGVsbG8=", "aGVsbG8=");
    ok("CERT", "PGP 0 0 aGVsbG8=", "PGP 0 0 aGVsbG8=");
    ok("CERT", "1 12 8 aGVsbG8=", "PKIX 12 8 aGVsbG8=");
}

#[test]
fn soa_and_generic() {
    ok(
        "SOA",
        "ns1 hostmaster ( 2026112100 1h 10m 2w 5m )",
        "ns1.example.com. hostmaster.example.com. 2026112100 3600 600 1209600 300",
    );
    ok("TYPE65534", "\\# 4 0a000001", "\\# 4 0A000001");
    ok("TYPE65534", "\\# 0", "\\# 0");
    bad("TYPE65534", "\\# 5 0a000001", "length says 5");
    bad("TYPE65534", "0a000001", "RFC 3597");
    ok("A", "\\# 4 C0000201", "192.0.2.1");
    bad("A", "\\# 3 C00002", "not valid A");
}

/// The wire form of `content` as `rtype` in a zone with origin example.com.
fn wire(rtype: &str, content: &str) -> Vec<u8> {
    let t = RrType::parse(rtype.as_bytes()).unwrap();
    let o = origin();
    let type_tok = Tok {
        raw: rtype.as_bytes(),
        quoted: false,
        line: 1,
        column: 1,
    };
    parse(
        t,
        &tokens(content).unwrap(),
        &type_tok,
        Ctx { origin: Some(&o) },
    )
    .unwrap()
}

const SIG: &str =
    "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/QA==";

#[test]
fn rrsig() {
    let line = format!("A 13 3 300 20261221000000 20261121000000 12345 Example.COM. {SIG}");
    ok("RRSIG", &line, &line);
    // Mnemonics, a TTL with units, times as seconds, the signature split: one canonical form.
    ok(
        "RRSIG",
        &format!(
            "TYPE1 ECDSAP256SHA256 3 5m 1797811200 1795219200 12345 Example.COM. ( {} {} )",
            &SIG[..40],
            &SIG[40..]
        ),
        &line,
    );
    ok(
        "RRSIG",
        &format!("TYPE1234 8 0 0 0 4294967295 0 . {SIG}"),
        &format!("TYPE1234 8 0 0 19700101000000 21060207062815 0 . {SIG}"),
    );
    // Relative signer names get the origin; the case written is kept.
    ok(
        "RRSIG",
        &format!("NSEC 13 3 300 20261221000000 20261121000000 1 Sub {SIG}"),
        &format!("NSEC 13 3 300 20261221000000 20261121000000 1 Sub.example.com. {SIG}"),
    );
    ok(
        "RRSIG",
        &format!("SOA 13 2 300 20261221000000 20261121000000 1 @ {SIG}"),
        &format!("SOA 13 2 300 20261221000000 20261121000000 1 example.com. {SIG}"),
    );
    // The signer keeps its case on the wire (RFC 6840 section 5.1).
    let w = wire("RRSIG", &line);
    assert_eq!(
        &w[..18],
        b"\x00\x01\x0d\x03\x00\x00\x01\x2c\x6b\x28\x6c\x00\x6b\x00\xdf\x00\x30\x39"
    );
    assert_eq!(&w[18..31], b"\x07Example\x03COM\x00");
    assert_eq!(w.len(), 31 + 64);
    bad(
        "RRSIG",
        &line.replace("20261221", "20261321"),
        "not a valid date",
    );
    bad(
        "RRSIG",
        &line.replace("20261221", "20260230"),
        "not a valid date",
    );
    bad(
        "RRSIG",
        &line.replace("20261221000000", "12345678901"),
        "seconds since 1970",
    );
    bad(
        "RRSIG",
        &line.replace("20261221000000", "2026-12-21"),
        "YYYYMMDDHHmmSS",
    );
    bad(
        "RRSIG",
        &line.replace("A 13", "BOGUS 13"),
        "not a record type",
    );
    bad("RRSIG", &line.replace(SIG, "!!!"), "not valid base64");
    bad("RRSIG", &line.replace(SIG, ""), "missing signature");
    bad(
        "RRSIG",
        &line.replace("Example.COM.", "a..b."),
        "empty label",
    );
    bad(
        "RRSIG",
        &line.replace("Example.COM.", &format!("{}.", "x".repeat(64))),
        "63",
    );
}

#[test]
fn rrsig_generic_form() {
    let generic = "\\# 36 0001 0d 03 0000012c 6b286c00 6b00df00 3039 \
                   07 4578616d706c65 03 434f4d 00 68656c6c6f";
    ok(
        "RRSIG",
        generic,
        "A 13 3 300 20261221000000 20261121000000 12345 Example.COM. aGVsbG8=",
    );
    // No signature.
    bad(
        "RRSIG",
        "\\# 31 0001 0d 03 0000012c 6b286c00 6b00df00 3039 07 4578616d706c65 03 434f4d 00",
        "signature is empty",
    );
    bad("RRSIG", "\\# 4 0001 0d 03", "not valid RRSIG");
}

#[test]
fn nsec() {
    ok(
        "NSEC",
        "host.example.com. A MX RRSIG NSEC TYPE1234",
        "host.example.com. A MX RRSIG NSEC TYPE1234",
    );
    // Types in any order, any case, repeated: printed once each, ascending.
    ok(
        "NSEC",
        "Host.Example.com. nsec TYPE46 mx a TYPE1 A",
        "Host.Example.com. A MX RRSIG NSEC",
    );
    ok("NSEC", "@", "example.com.");
    ok("NSEC", "\\000.Sub", "\\000.Sub.example.com.");
    ok("NSEC", "*.example.com. TXT", "*.example.com. TXT");
    // RFC 4034 section 4.3.
    assert_eq!(
        wire("NSEC", "host.example.com. ( A MX RRSIG NSEC TYPE1234 )"),
        [
            b"\x04host\x07example\x03com\x00".as_slice(),
            &[0x00, 0x06, 0x40, 0x01, 0x00, 0x00, 0x00, 0x03],
            &[0x04, 0x1b],
            &[0; 26],
            &[0x20],
        ]
        .concat()
    );
    // The next name keeps its case on the wire (RFC 6840 section 5.1).
    assert_eq!(
        wire("NSEC", "HOST A"),
        b"\x04HOST\x07example\x03com\x00\x00\x01\x40"
    );
    bad(
        "NSEC",
        "host.example.com. A BOGUS",
        "\"BOGUS\" is not a record type",
    );
    bad("NSEC", "host.example.com. A \"MX\"", "not a record type");
    bad("NSEC", "", "missing next name");
    bad("NSEC", "\"host.example.com.\" A", "must not be quoted");
    // Generic form: the bitmap must be well-formed.
    ok("NSEC", "\\# 4 00 00 01 20", ". NS");
    bad("NSEC", "\\# 5 00 00 02 2000", "ends with a zero octet");
    bad("NSEC", "\\# 7 00 01 01 40 00 01 40", "windows must ascend");
    bad("NSEC", "\\# 3 00 00 00", "not valid NSEC");
    bad("NSEC", "\\# 4 00 00 01 00", "ends with a zero octet");
}

#[test]
fn nsec3() {
    ok(
        "NSEC3",
        "1 0 0 - 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A RRSIG",
        "1 0 0 - 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A RRSIG",
    );
    ok(
        "NSEC3",
        "1 1 10 aabbccdd 2t7b4g4vsa5smi47k61mv5bv1a22bojr NS SOA MX RRSIG DNSKEY NSEC3PARAM",
        "1 1 10 AABBCCDD 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR NS SOA MX RRSIG DNSKEY NSEC3PARAM",
    );
    // An empty bitmap (an empty non-terminal).
    ok(
        "NSEC3",
        "1 0 0 - 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR",
        "1 0 0 - 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR",
    );
    // RFC 4648's base32hex "foobar".
    assert_eq!(
        wire("NSEC3", "1 0 12 AB cpnmuoj1e8 A"),
        b"\x01\x00\x00\x0c\x01\xab\x06foobar\x00\x01\x40"
    );
    bad(
        "NSEC3",
        "1 0 0 - 2T7B4G4VSA5SMI47K61MV5BV1A22BOJW A",
        "not base32hex",
    );
    bad("NSEC3", "1 0 0 - CO====== A", "not base32hex");
    bad("NSEC3", "1 0 0 - C A", "not base32hex");
    bad("NSEC3", "1 0 0 -", "missing next hashed owner name");
    bad(
        "NSEC3",
        "1 0 0 - 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A NOPE",
        "not a record type",
    );
    bad(
        "NSEC3",
        &format!(
            "1 0 0 {} 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR",
            "ab".repeat(256)
        ),
        "salt is 256 bytes",
    );
    bad(
        "NSEC3",
        "1 0 0 abc 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR",
        "salt",
    );
    bad(
        "NSEC3",
        "1 0 70000 - 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR",
        "larger",
    );
    // Generic form: a hash is required.
    ok("NSEC3", "\\# 7 01 00 0000 00 01 ff", "1 0 0 - VS");
    bad(
        "NSEC3",
        "\\# 6 01 00 0000 00 00",
        "hashed owner name is empty",
    );
}

#[test]
fn nsec3param() {
    ok("NSEC3PARAM", "1 0 0 -", "1 0 0 -");
    ok("NSEC3PARAM", "1 0 10 aabbccdd", "1 0 10 AABBCCDD");
    assert_eq!(
        wire("NSEC3PARAM", "1 0 10 aabbccdd"),
        b"\x01\x00\x00\x0a\x04\xaa\xbb\xcc\xdd"
    );
    bad(
        "NSEC3PARAM",
        &format!("1 0 0 {}", "00".repeat(256)),
        "at most 255",
    );
    bad("NSEC3PARAM", "1 0 0", "missing salt");
    bad("NSEC3PARAM", "1 0 0 - x", "unexpected");
    ok("NSEC3PARAM", "\\# 5 01 00 0000 00", "1 0 0 -");
    bad("NSEC3PARAM", "\\# 5 01 00 0000 01", "not valid NSEC3PARAM");
}

#[test]
fn dnssec_names_without_origin() {
    let type_tok = Tok {
        raw: b"NSEC",
        quoted: false,
        line: 1,
        column: 1,
    };
    let api = |content: &str| {
        parse(
            RrType::NSEC,
            &tokens(content).unwrap(),
            &type_tok,
            Ctx { origin: None },
        )
    };
    assert_eq!(
        api("Host.Example. A").unwrap(),
        b"\x04Host\x07Example\x00\x00\x01\x40"
    );
    let e = api("host A").unwrap_err();
    assert!(e.message.contains("fully qualified"), "{e:?}");
    assert_eq!((e.line, e.column), (1, 1));
    assert!(api("@ A").unwrap_err().message.contains("origin"));
    // Signer records stay off limits to users.
    assert!(!user_may_create(RrType::RRSIG) && !user_may_create(RrType::NSEC3PARAM));
}
