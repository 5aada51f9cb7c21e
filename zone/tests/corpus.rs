//! The zone-file corpus (see corpus/README.md): files written by BIND, in Knot's and NSD's test
//! styles, a Cloudflare export, and hostile files.
//!
//! - Round trip: import → export → import gives the same records, and the export loads in
//!   `named-checkzone` and `kzonecheck` (installed by `make test`).
//! - Hostile files fail fast with a line number, never a panic or a hang.

// Test helpers panic on the unexpected, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use apex_zone::dname::DName;
use apex_zone::record::ZoneRecord;
use apex_zone::zonefile::{ParseOptions, check, parse};

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(name)
}

fn origin(text: &str) -> DName {
    DName::parse(text.as_bytes(), None).unwrap()
}

/// Records as comparable tuples, in canonical order, SOA included.
fn record_set(text: &[u8], zone: &DName) -> Vec<(String, u16, Vec<u8>, u32)> {
    let parsed = parse(text, zone, ParseOptions::default()).unwrap();
    let mut all: Vec<ZoneRecord> = parsed.records;
    all.extend(parsed.soa);
    apex_zone::record::sort_canonical(&mut all);
    all.into_iter()
        .map(|r| (r.name.to_string(), r.rtype.0, r.rdata.to_vec(), r.ttl))
        .collect()
}

fn tool(cmd: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} is needed for this test (make test installs it): {e}"));
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

const VALID: &[(&str, &str)] = &[
    ("db.local", "localhost."),
    ("db.127", "127.in-addr.arpa."),
    ("db.empty", "empty.example."),
    ("knot-types.zone", "types.example."),
    ("nsd-style.zone", "nsd.example."),
    ("generate.zone", "gen.example."),
    ("cloudflare-export.txt", "example.com."),
];

#[test]
fn round_trip_and_other_tools_agree() {
    let dir = std::env::temp_dir().join(format!("apex-corpus-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (file, zone) in VALID {
        let text = std::fs::read(corpus(file)).unwrap();
        let zone_name = origin(zone);
        let checked = check(&text, &zone_name, ParseOptions::default(), true)
            .unwrap_or_else(|e| panic!("{file}: {e:?}"));
        // Export → import gives the same record set.
        assert_eq!(
            record_set(checked.canonical.as_bytes(), &zone_name),
            record_set(&text, &zone_name),
            "{file}"
        );
        // Canonical form is a fixed point.
        let again = check(
            checked.canonical.as_bytes(),
            &zone_name,
            ParseOptions::default(),
            true,
        )
        .unwrap();
        assert_eq!(again.canonical, checked.canonical, "{file}");
        // And other servers load it.
        let out = dir.join(file);
        std::fs::write(&out, &checked.canonical).unwrap();
        let path = out.to_str().unwrap();
        let (ok, msg) = tool("named-checkzone", &["-q", zone, path]);
        assert!(
            ok,
            "named-checkzone rejects the export of {file}:\n{msg}\n{}",
            checked.canonical
        );
        let (ok, msg) = tool("kzonecheck", &["-o", zone, path]);
        assert!(
            ok,
            "kzonecheck rejects the export of {file}:\n{msg}\n{}",
            checked.canonical
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hostile_files_fail_fast_with_a_line() {
    let zone = origin("hostile.example.");
    let mut seen = 0;
    for entry in std::fs::read_dir(corpus("hostile")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read(&path).unwrap();
        let start = Instant::now();
        let result =
            std::panic::catch_unwind(|| check(&text, &zone, ParseOptions::default(), true));
        let took = start.elapsed();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let errors = match result {
            Ok(Err(errors)) => errors,
            Ok(Ok(_)) => panic!("{name} was accepted"),
            Err(_) => panic!("{name} made the parser panic"),
        };
        assert!(took < Duration::from_secs(1), "{name} took {took:?}");
        assert!(errors.iter().all(|e| e.line >= 1), "{name}: {errors:?}");
        seen += 1;
    }
    assert!(seen >= 8, "hostile corpus has {seen} files");
}

#[test]
fn specific_hostile_messages() {
    let zone = origin("hostile.example.");
    let first = |f: &str| {
        let text = std::fs::read(corpus(&format!("hostile/{f}"))).unwrap();
        let e = check(&text, &zone, ParseOptions::default(), false).unwrap_err();
        format!("{}:{}: {}", e[0].line, e[0].column, e[0].message)
    };
    assert!(
        first("unbalanced-open.zone").starts_with("2:15: parenthesis opened here is never closed"),
        "{}",
        first("unbalanced-open.zone")
    );
    assert!(
        first("unbalanced-close.zone").starts_with("2:17: ')' without"),
        "{}",
        first("unbalanced-close.zone")
    );
    assert!(
        first("generate-2g.zone").contains("at most 65536"),
        "{}",
        first("generate-2g.zone")
    );
    assert!(first("include.zone").contains("$INCLUDE is not supported"));
    assert!(
        first("bad-escape.zone").contains("above 255"),
        "{}",
        first("bad-escape.zone")
    );
    assert!(
        first("long-label.zone").contains("longer than 63"),
        "{}",
        first("long-label.zone")
    );
    assert!(
        first("long-line.zone").contains("at most 4096"),
        "{}",
        first("long-line.zone")
    );
}

/// A Cloudflare export of a zone not yet on Cloudflare's nameservers holds the placeholder
/// `REPLACE&ME$WITH^YOUR@NAMESERVER.` as its apex NS. Read as an import reads it (the apex NS
/// set is the platform's), the file is accepted and the NS left out with a warning; read as a
/// file to serve as it is, the placeholder is refused at its line.
#[test]
fn a_cloudflare_export_with_its_placeholder_nameserver() {
    let text = std::fs::read(corpus("cloudflare-placeholder.txt")).unwrap();
    let zone = origin("example.com.");
    let import = ParseOptions {
        platform_apex_ns: true,
        ..ParseOptions::default()
    };
    let parsed = parse(&text, &zone, import).unwrap_or_else(|e| panic!("{e:?}"));
    assert!(
        parsed
            .warnings
            .iter()
            .any(|w| w.line == 32 && w.message.contains("1 NS record(s) at the apex left out")),
        "{:?}",
        parsed.warnings
    );
    let ns = apex_zone::rdata::RrType::NS;
    assert!(
        !parsed
            .records
            .iter()
            .any(|r| r.rtype == ns && r.name == zone)
    );
    // Everything else of the file is there, as the export without the placeholder has it.
    let full = parse(
        &std::fs::read(corpus("cloudflare-export.txt")).unwrap(),
        &zone,
        import,
    )
    .unwrap();
    assert_eq!(parsed.records.len(), full.records.len());
    let errors = parse(&text, &zone, ParseOptions::default()).unwrap_err();
    assert_eq!(errors[0].line, 32, "{errors:?}");
}
