//! Reading and writing zone files: directives, comments, errors with positions, round trips.

use super::*;

fn origin() -> DName {
    DName::parse(b"example.com.", None).unwrap()
}

fn read(text: &str) -> Result<ParsedZone, Vec<String>> {
    parse(text.as_bytes(), &origin(), ParseOptions::default())
        .map_err(|es| es.into_iter().map(|e| e.to_string()).collect())
}

fn show(z: &ParsedZone) -> Vec<String> {
    z.records
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {}",
                r.name,
                r.ttl,
                crate::rdata::type_name(r.rtype),
                crate::rdata::format(r.rtype, &r.rdata).unwrap()
            )
        })
        .collect()
}

#[test]
fn bind_style_file() {
    let z = read(concat!(
        "$TTL 1h\n",
        "@   IN SOA ns1 hostmaster ( 2026112100 ; serial\n",
        "           1h 15m 2w 5m )\n",
        "    IN NS ns1\n",
        "; the web server\n",
        "www 300 IN A 192.0.2.1 ; primary\n",
        "    IN AAAA 2001:db8::1\n",
        "mail IN 1d MX 10 mx.example.net.\n",
        "$ORIGIN sub\n",
        "deep CNAME www.example.com.\n",
        "txt TXT \"a b\" c\n",
    ))
    .unwrap();
    assert!(z.soa.is_some());
    assert_eq!(
        show(&z),
        vec![
            "example.com. 3600 NS ns1.example.com.",
            "www.example.com. 300 A 192.0.2.1",
            "www.example.com. 3600 AAAA 2001:db8::1",
            "mail.example.com. 86400 MX 10 mx.example.net.",
            "deep.sub.example.com. 3600 CNAME www.example.com.",
            "txt.sub.example.com. 3600 TXT \"a b\" \"c\"",
        ]
    );
    assert_eq!(
        z.records[1].comment.as_deref(),
        Some("the web server primary")
    );
    assert_eq!(z.records[2].comment, None);
}

#[test]
fn errors_name_line_and_column() {
    let errs =
        read("$TTL 300\nwww A 192.0.2.300\nok A 192.0.2.1\nbad TXT \"unterminated\n").unwrap_err();
    assert_eq!(errs[0], "2:7: \"192.0.2.300\" is not a valid IPv4 address");
    assert!(errs[1].starts_with("4:9: quoted string"), "{errs:?}");
    let errs = read("www A 192.0.2.1\n").unwrap_err();
    assert!(errs[0].contains("no TTL"), "{errs:?}");
    let errs = read("$TTL 1\n$INCLUDE /etc/passwd\n").unwrap_err();
    assert!(
        errs[0].starts_with("2:1: $INCLUDE is not supported"),
        "{errs:?}"
    );
    let errs = read("$TTL 1\nexample.org. A 192.0.2.1\n").unwrap_err();
    assert!(errs[0].contains("outside the zone"), "{errs:?}");
    let errs = read("$TTL 1\nwww CH A 192.0.2.1\nwww FOO 1\n a..b A 1.2.3.4\n").unwrap_err();
    assert!(errs[0].contains("class CH"), "{errs:?}");
    assert!(errs[1].contains("not a record type"), "{errs:?}");
    let errs = read("$TTL 1\n(\nwww A 192.0.2.1\n").unwrap_err();
    assert_eq!(errs[0], "2:1: parenthesis opened here is never closed");
    let errs = read("$TTL 1\nwww A 192.0.2.1 )\n").unwrap_err();
    assert!(errs[0].starts_with("2:17:"), "{errs:?}");
}

#[test]
fn signer_records_are_dropped() {
    let z = read(concat!(
        "$TTL 300\n",
        "@ DNSKEY 257 3 13 aGVsbG8=\n",
        "@ NSEC3PARAM 1 0 0 -\n",
        "www A 192.0.2.1\n",
        "www RRSIG A 13 3 300 20261201000000 20261101000000 12345 example.com. aGVsbG8=\n",
        "www NSEC x.example.com. A RRSIG NSEC\n",
    ));
    // RRSIG/NSEC/NSEC3PARAM have no text form here: generic form or dropping. They are
    // dropped before their data is read.
    let z = z.unwrap();
    assert_eq!(show(&z), vec!["www.example.com. 300 A 192.0.2.1"]);
    assert_eq!(z.warnings.len(), 4, "{:?}", z.warnings);
}

#[test]
fn generate_and_round_trip() {
    let z = read("$TTL 60\n$GENERATE 1-3 h$ A 10.0.0.$\n").unwrap();
    assert_eq!(show(&z).len(), 3);
    let mut records = z.records.clone();
    let text = write(&origin(), None, &mut records).unwrap();
    assert_eq!(
        text,
        "$ORIGIN example.com.\nh1\t60\tIN\tA\t10.0.0.1\nh2\t60\tIN\tA\t10.0.0.2\nh3\t60\tIN\tA\t10.0.0.3\n"
    );
    let again = read(&text).unwrap();
    assert_eq!(
        again
            .records
            .iter()
            .map(|r| (&r.name, r.rtype, &r.rdata))
            .collect::<Vec<_>>(),
        z.records
            .iter()
            .map(|r| (&r.name, r.rtype, &r.rdata))
            .collect::<Vec<_>>()
    );
}

#[test]
fn review_regressions() {
    // SVCB parameters quoted as BIND, dig and Cloudflare write them.
    let z = read("$TTL 300\n@ HTTPS 1 . alpn=\"h3,h2\" ipv4hint=192.0.2.1\n").unwrap();
    assert_eq!(
        show(&z),
        vec!["example.com. 300 HTTPS 1 . alpn=h3,h2 ipv4hint=192.0.2.1"]
    );
    // A million comment lines cost linear time, and the comment is capped.
    let many = format!(
        "$TTL 300\n{}www A 192.0.2.1\n",
        ";xxxxxxxxxx\n".repeat(200_000)
    );
    let start = std::time::Instant::now();
    let z = read(&many).unwrap();
    assert!(start.elapsed() < std::time::Duration::from_secs(2));
    assert!(z.records[0].comment.as_ref().unwrap().len() <= 500);
    // An escaped newline inside a string still counts as a line.
    let errs = read("$TTL 300\na TXT \"x\\\ny\"\nb A 999.1.1.1\n").unwrap_err();
    assert!(errs[0].starts_with("4:"), "{errs:?}");
    let errs = read("$TTL 300\nb A 192.0.2.1\\\nc A 192.0.2.2\n").unwrap_err();
    assert!(
        errs[0].contains("backslash at the end of a line"),
        "{errs:?}"
    );
    // Addresses are not hosts, even without a final dot in a zone file.
    let errs = read("$TTL 300\n@ MX 10 192.0.2.1\n@ NS 2001:db8::1\n").unwrap_err();
    assert!(errs.iter().all(|e| e.contains("is an address")), "{errs:?}");
    // An SOA mailbox may hold an escaped dot.
    assert!(read("$TTL 300\n@ SOA ns admin\\.ops.example.com. 1 2 3 4 5\n").is_ok());
    // No $TTL: the SOA's MINIMUM is its TTL and the default after it (RFC 2308).
    let z = read("@ SOA ns host 1 3600 600 86400 120\nwww A 192.0.2.1\n").unwrap();
    assert_eq!((z.soa.unwrap().ttl, z.records[0].ttl), (120, 120));
    // $GENERATE keeps UTF-8 text intact.
    let z = read("$TTL 300\n$GENERATE 1-1 t$ TXT \"é$\"\n").unwrap();
    assert_eq!(z.records[0].rdata.as_ref(), &[3, 0xc3, 0xa9, b'1'][..]);
    // Generic data of length 0 takes nothing after it.
    assert!(read("$TTL 300\nx TYPE65534 \\# 0 deadbeef\n").is_err());
    // ZONEMD is a signer's record; a second SOA is an error.
    let z = read("$TTL 300\n@ ZONEMD \\# 6 000000010101\nwww A 192.0.2.1\n").unwrap();
    assert_eq!(z.records.len(), 1);
    let errs = read("$TTL 300\n@ SOA ns host 1 2 3 4 5\n@ SOA ns host 2 2 3 4 5\n").unwrap_err();
    assert!(errs[0].contains("second SOA"), "{errs:?}");
    // RFC 2317: '/' in owners and in CNAME targets, kept as the same text everywhere.
    let z = read("$TTL 300\n1 CNAME 1.0/26.example.com.\n0/26 NS ns1.example.net.\n").unwrap();
    assert_eq!(show(&z)[0], "1.example.com. 300 CNAME 1.0/26.example.com.");
    assert_eq!(z.records[1].name.to_string(), "0/26.example.com.");
}

/// A `$GENERATE` whose lines would pass the bytes a file may make is refused before any line
/// is made; records that pass it one by one stop the file there.
#[test]
fn generated_and_listed_records_are_bounded_in_bytes() {
    let opts = |max_bytes| ParseOptions {
        max_bytes,
        ..ParseOptions::default()
    };
    let text = format!("$TTL 300\n$GENERATE 0-999 h$ TXT \"{}\"\n", "x".repeat(200));
    let e = parse(text.as_bytes(), &origin(), opts(100_000)).unwrap_err();
    assert!(
        e[0].message.contains("$GENERATE would make about"),
        "{:?}",
        e
    );
    if let Err(e) = parse(text.as_bytes(), &origin(), opts(1_000_000)) {
        panic!("{e:?}");
    }

    let mut text = String::from("$TTL 300\n");
    for i in 0..1000 {
        text.push_str(&format!("h{i} TXT \"{}\"\n", "x".repeat(200)));
    }
    let e = parse(text.as_bytes(), &origin(), opts(100_000)).unwrap_err();
    assert!(e[0].message.contains("too large"), "{:?}", e);
    assert!(e[0].line < 1000, "{:?}", e);

    // Upload sizes: eight times the file, at least 32 MiB, at most 512 MiB.
    assert_eq!(ParseOptions::for_upload(1000).max_bytes, 32 << 20);
    assert_eq!(ParseOptions::for_upload(16 << 20).max_bytes, 128 << 20);
    assert_eq!(ParseOptions::for_upload(1 << 30).max_bytes, 512 << 20);
}

/// Errors quote at most about 100 bytes of a token.
#[test]
fn errors_quote_tokens_cut_short() {
    let long = "1".repeat(5000);
    let text = format!("$TTL 300\nwww A {long}\n");
    let e = parse(text.as_bytes(), &origin(), ParseOptions::default()).unwrap_err();
    assert!(e[0].message.len() < 200, "{}", e[0].message);
    assert!(e[0].message.contains('…'), "{}", e[0].message);
}

/// Found by `make fuzz`: a comment cut at its 500-byte limit inside a run of whitespace (here
/// carriage returns) was written with trailing spaces that reading dropped, so the canonical
/// form was not a fixed point.
#[test]
fn a_comment_cut_inside_whitespace_round_trips() {
    let above = format!(";{}{}zz\n", "a".repeat(497), "\r".repeat(20));
    let own = format!("x 3 MX 3 mx ;{}{}yy\n", "b".repeat(497), "\r".repeat(20));
    for text in [
        format!("$TTL 300\n{above}x 3 MX 3 mx\n"),
        format!("$TTL 300\n{own}"),
    ] {
        let opts = ParseOptions::default();
        let first = check(text.as_bytes(), &origin(), opts, true).unwrap();
        let again = check(first.canonical.as_bytes(), &origin(), opts, true).unwrap();
        assert_eq!(again.canonical, first.canonical);
        assert!(!first.canonical.contains("a \n") && !first.canonical.contains("b \n"));
    }
}
