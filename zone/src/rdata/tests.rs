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
