//! Property tests: for generated records of every type, printing and parsing are inverse
//! (parse ∘ print = identity on the wire form, and print is a fixed point), and whole zones
//! survive writing and reading.

// Test helpers panic on the unexpected, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use apex_zone::dname::DName;
use apex_zone::presentation::{Tok, tokens};
use apex_zone::rdata::{self, Ctx, RrType};
use apex_zone::record::ZoneRecord;
use apex_zone::zonefile::{ParseOptions, parse, write};
use proptest::prelude::*;

fn origin() -> DName {
    DName::parse(b"example.com.", None).unwrap()
}

fn parse_rdata(rtype: RrType, text: &str) -> Result<Vec<u8>, String> {
    let o = origin();
    let toks = tokens(text).map_err(|e| e.to_string())?;
    let name = rdata::type_name(rtype);
    let type_tok = Tok {
        raw: name.as_bytes(),
        quoted: false,
        line: 1,
        column: 1,
    };
    rdata::parse(rtype, &toks, &type_tok, Ctx { origin: Some(&o) }).map_err(|e| e.message)
}

fn label() -> impl Strategy<Value = String> {
    "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?"
}

fn host() -> impl Strategy<Value = String> {
    prop::collection::vec(label(), 1..4).prop_map(|ls| format!("{}.example.net.", ls.join(".")))
}

fn hex(len: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u8>(), len)
        .prop_map(|b| b.iter().map(|x| format!("{x:02x}")).collect())
}

fn b64() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u8>(), 1..80).prop_map(|b| {
        let mut s = String::new();
        rdata::encode_base64(&b, &mut s);
        s
    })
}

fn quoted() -> impl Strategy<Value = String> {
    quoted_up_to(300)
}

fn quoted_up_to(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u8>(), 0..max).prop_map(|b| {
        let mut s = String::new();
        apex_zone::presentation::quote(&b, &mut s);
        s
    })
}

/// (type, presentation text) for every type Apex reads.
fn record() -> impl Strategy<Value = (RrType, String)> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|b| (RrType::A, format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3]))),
        any::<[u8; 16]>().prop_map(|b| (RrType::AAAA, std::net::Ipv6Addr::from(b).to_string())),
        host().prop_map(|h| (RrType::NS, h)),
        host().prop_map(|h| (RrType::CNAME, h)),
        host().prop_map(|h| (RrType::DNAME, h)),
        host().prop_map(|h| (RrType::PTR, h)),
        (1u16.., host()).prop_map(|(p, h)| (RrType::MX, format!("{p} {h}"))),
        (any::<u16>(), any::<u16>(), any::<u16>(), host())
            .prop_map(|(a, b, c, h)| (RrType::SRV, format!("{a} {b} {c} {h}"))),
        prop::collection::vec(quoted(), 1..4).prop_map(|v| (RrType::TXT, v.join(" "))),
        (quoted_up_to(256), quoted_up_to(256))
            .prop_map(|(a, b)| (RrType::HINFO, format!("{a} {b}"))),
        (
            prop::sample::select(vec![1u8, 2, 3, 4, 6]),
            prop_oneof![Just(1u8), Just(2u8)]
        )
            .prop_flat_map(|(alg, fp)| {
                hex(if fp == 1 { 20 } else { 32 })
                    .prop_map(move |h| (RrType::SSHFP, format!("{alg} {fp} {h}")))
            }),
        (0u8..4, 0u8..2, prop_oneof![Just(1u8), Just(2u8)]).prop_flat_map(|(u, s, m)| {
            hex(if m == 1 { 32 } else { 64 })
                .prop_map(move |h| (RrType::TLSA, format!("{u} {s} {m} {h}")))
        }),
        (
            any::<u16>(),
            1u8..,
            prop_oneof![Just(1u8), Just(2u8), Just(4u8)]
        )
            .prop_flat_map(|(tag, alg, d)| {
                hex(match d {
                    1 => 20,
                    2 => 32,
                    _ => 48,
                })
                .prop_map(move |h| (RrType::DS, format!("{tag} {alg} {d} {h}")))
            }),
        (prop_oneof![Just(256u16), Just(257u16)], 1u8.., b64())
            .prop_map(|(f, a, k)| (RrType::DNSKEY, format!("{f} 3 {a} {k}"))),
        b64().prop_map(|k| (RrType::OPENPGPKEY, k)),
        (any::<u16>(), any::<u16>(), any::<u8>(), b64())
            .prop_map(|(t, k, a, c)| (RrType::CERT, format!("{t} {k} {a} {c}"))),
        (any::<u16>(), any::<u16>(), "[a-z]{1,8}://[a-z0-9./]{1,20}")
            .prop_map(|(p, w, u)| (RrType::URI, format!("{p} {w} \"{u}\""))),
        (
            prop_oneof![Just(0u8), Just(128u8)],
            "[a-z0-9]{1,15}",
            "[ -~]{0,40}"
        )
            .prop_map(|(f, t, v)| {
                let mut q = String::new();
                apex_zone::presentation::quote(v.as_bytes(), &mut q);
                (RrType::CAA, format!("{f} {t} {q}"))
            }),
        (
            0u32..90,
            0u32..60,
            0u32..60000,
            any::<bool>(),
            0u32..180,
            0u32..60,
            0u32..60000,
            any::<bool>(),
            -10000000i64..1000000000i64
        )
            .prop_map(|(d1, m1, s1, n, d2, m2, s2, e, alt)| {
                (
                    RrType::LOC,
                    format!(
                        "{d1} {m1} {}.{:03} {} {d2} {m2} {}.{:03} {} {}.{:02}m",
                        s1 / 1000,
                        s1 % 1000,
                        if n { "N" } else { "S" },
                        s2 / 1000,
                        s2 % 1000,
                        if e { "E" } else { "W" },
                        alt.div_euclid(100),
                        alt.rem_euclid(100)
                    ),
                )
            }),
        (
            1u16..,
            host(),
            any::<u16>(),
            prop::collection::vec("[a-z0-9]{1,8}", 1..4)
        )
            .prop_map(|(p, h, port, alpn)| {
                (
                    RrType::SVCB,
                    format!("{p} {h} alpn={} port={port}", alpn.join(",")),
                )
            }),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(|b| {
            let mut s = format!("\\# {}", b.len());
            if !b.is_empty() {
                s.push(' ');
                rdata::encode_hex(&b, &mut s);
            }
            (RrType(65280), s)
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn print_then_parse_is_identity((rtype, text) in record()) {
        let wire = parse_rdata(rtype, &text).map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        let printed = rdata::format(rtype, &wire).unwrap();
        let again = parse_rdata(rtype, &printed).map_err(|e| TestCaseError::fail(format!("reparse {printed:?}: {e}")))?;
        prop_assert_eq!(&again, &wire, "{} -> {}", text, printed);
        prop_assert_eq!(rdata::format(rtype, &again).unwrap(), printed);
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn zones_survive_writing((records, ttl) in (prop::collection::vec((label(), record()), 1..40), 30u32..100000)) {
        let o = origin();
        let mut zone: Vec<ZoneRecord> = Vec::new();
        for (owner, (rtype, text)) in records {
            if matches!(rtype, RrType::CNAME | RrType::DNAME) {
                continue; // CNAME/DNAME exclusivity is the validator's business, not the writer's
            }
            let wire = parse_rdata(rtype, &text).unwrap();
            zone.push(ZoneRecord {
                name: DName::parse(owner.as_bytes(), Some(&o)).unwrap(),
                ttl,
                rtype,
                rdata: wire.into_boxed_slice(),
                comment: None,
                line: 0,
            });
        }
        apex_zone::record::sort_canonical(&mut zone);
        zone.dedup_by(|a, b| a.name == b.name && a.rtype == b.rtype && a.rdata == b.rdata);
        let text = write(&o, None, &mut zone.clone()).unwrap();
        let mut back = parse(text.as_bytes(), &o, ParseOptions::default()).map_err(|e| TestCaseError::fail(format!("{e:?}\n{text}")))?.records;
        apex_zone::record::sort_canonical(&mut back);
        let key = |v: &[ZoneRecord]| v.iter().map(|r| (r.name.to_string(), r.rtype, r.rdata.to_vec(), r.ttl)).collect::<Vec<_>>();
        prop_assert_eq!(key(&back), key(&zone));
    }
}
