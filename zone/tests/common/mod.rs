//! Shared by the signing tests: signing parameters valid now, and a signed zone checked by
//! real validators.

#![allow(clippy::unwrap_used, dead_code)]

use std::process::Command;

use apex_zone::dname::DName;
use apex_zone::rdata::RrType;
use apex_zone::record::ZoneRecord;
use apex_zone::sign::{Denial, SignParams};
use apex_zone::zonefile::write;

/// Seconds since the epoch.
pub fn now() -> u32 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    u32::try_from(secs).unwrap()
}

/// Signatures valid from an hour ago for 14 days, CDS published, on `threads` threads.
pub fn params(denial: Denial, threads: usize) -> SignParams {
    SignParams {
        inception: now() - 3600,
        expiration: now() + 14 * 86400,
        denial,
        cds: true,
        cds_delete: false,
        threads,
    }
}

/// Writes `signed` as a zone file and runs `ldns-verify-zone` and `dnssec-verify` on it; a
/// `name` containing `csk` is checked as signed by a combined signing key.
pub fn check(name: &str, signed: Vec<ZoneRecord>, apex: &DName) {
    let mut signed = signed;
    let soa_at = signed.iter().position(|r| r.rtype == RrType::SOA).unwrap();
    let soa = signed.remove(soa_at);
    let text = write(apex, Some(&soa), &mut signed).unwrap();
    let dir = std::env::temp_dir().join(format!("apex-signing-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("zone");
    std::fs::write(&file, &text).unwrap();
    let ldns = Command::new("ldns-verify-zone")
        .arg(&file)
        .output()
        .expect("ldns-verify-zone (make test installs ldnsutils)");
    assert!(
        ldns.status.success(),
        "{name}: ldns-verify-zone:\n{}{}\n{text}",
        String::from_utf8_lossy(&ldns.stdout),
        String::from_utf8_lossy(&ldns.stderr)
    );
    let mut bind = Command::new("dnssec-verify");
    bind.args(["-o", "example.test."]);
    if name.contains("csk") {
        // A combined signing key has the KSK flag and signs everything.
        bind.arg("-z");
    }
    let bind = bind
        .arg(&file)
        .output()
        .expect("dnssec-verify (make test installs bind9-utils)");
    assert!(
        bind.status.success(),
        "{name}: dnssec-verify:\n{}{}",
        String::from_utf8_lossy(&bind.stdout),
        String::from_utf8_lossy(&bind.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
