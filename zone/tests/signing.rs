//! DNSSEC signing checked by real validators: zones signed with NSEC and NSEC3 (RFC 9276
//! parameters), with a combined signing key or a KSK and a ZSK, ECDSA P-256 and Ed25519, must
//! pass `dnssec-verify` (BIND) and `ldns-verify-zone` (ldns). `make test` installs both.

#![allow(clippy::unwrap_used)]

mod common;

use common::check;

use apex_zone::dname::DName;
use apex_zone::rdata::RrType;
use apex_zone::record::ZoneRecord;
use apex_zone::sign::{Algorithm, Denial, KSK_FLAGS, SignParams, SigningKey, ZSK_FLAGS, sign_zone};
use apex_zone::zonefile::{ParseOptions, parse};

const ZONE: &str = r#"$ORIGIN example.test.
$TTL 3600
@        SOA   ns1 hostmaster 2026112201 7200 3600 1209600 300
@        NS    ns1
@        NS    ns2.elsewhere.example.
@        MX    10 mail
ns1      A     192.0.2.1
mail     A     192.0.2.2
www      A     192.0.2.3
www      AAAA  2001:db8::3
alias    CNAME www
*.wild   A     192.0.2.10
a.b.c    TXT   "deep: b.c and c are empty non-terminals"
deleg    NS    ns.deleg
ns.deleg A     192.0.2.20
secure   NS    ns.secure
secure   DS    12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
ns.secure A    192.0.2.21
dname    DNAME target.example.net.
below.dname A  192.0.2.99
_sip._tcp SRV  10 5 5060 www
"#;

fn records() -> (DName, Vec<ZoneRecord>) {
    let apex = DName::parse(b"example.test.", None).unwrap();
    let parsed = parse(ZONE.as_bytes(), &apex, ParseOptions::default()).unwrap();
    let mut records = parsed.records;
    records.extend(parsed.soa);
    (apex, records)
}

/// Signing parameters valid now.
fn params(denial: Denial) -> SignParams {
    common::params(denial, 2)
}

#[test]
fn signed_zones_verify() {
    let (apex, records) = records();
    let nsec3 = Denial::Nsec3 {
        iterations: 0,
        salt: Vec::new(),
    };
    for alg in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
        let csk = SigningKey::generate(alg, KSK_FLAGS).unwrap().0;
        let ksk = SigningKey::generate(alg, KSK_FLAGS).unwrap().0;
        let zsk = SigningKey::generate(alg, ZSK_FLAGS).unwrap().0;
        for (denial, dname) in [(Denial::Nsec, "nsec"), (nsec3.clone(), "nsec3")] {
            let signed = sign_zone(
                &apex,
                records.clone(),
                std::slice::from_ref(&csk),
                &params(denial.clone()),
            )
            .unwrap();
            check(&format!("{}-csk-{dname}", alg.mnemonic()), signed, &apex);
            let both = [again(&ksk), again(&zsk)];
            let signed = sign_zone(&apex, records.clone(), &both, &params(denial)).unwrap();
            check(
                &format!("{}-ksk-zsk-{dname}", alg.mnemonic()),
                signed,
                &apex,
            );
        }
    }
}

/// The same key again (keys are not Clone: they hold the private key), from its stored form.
fn again(k: &SigningKey) -> SigningKey {
    SigningKey::from_pkcs8(k.algorithm(), k.flags(), k.pkcs8()).unwrap()
}

#[test]
fn delegations_and_glue_are_not_signed() {
    let (apex, records) = records();
    let key = SigningKey::generate(Algorithm::EcdsaP256Sha256, KSK_FLAGS)
        .unwrap()
        .0;
    let signed = sign_zone(&apex, records, &[key], &params(Denial::Nsec)).unwrap();
    let sigs = |owner: &str| -> Vec<u16> {
        let name = DName::parse(owner.as_bytes(), None).unwrap();
        signed
            .iter()
            .filter(|r| r.rtype == RrType::RRSIG && r.name == name)
            .map(|r| u16::from_be_bytes([r.rdata[0], r.rdata[1]]))
            .collect()
    };
    // The delegation: its NSEC only; the secure one also its DS; glue nothing.
    assert_eq!(sigs("deleg.example.test."), [RrType::NSEC.0]);
    let mut secure = sigs("secure.example.test.");
    secure.sort_unstable();
    assert_eq!(secure, [RrType::DS.0, RrType::NSEC.0]);
    assert!(sigs("ns.deleg.example.test.").is_empty());
    assert!(sigs("below.dname.example.test.").is_empty());
    // The DNSKEY set and the CDS/CDNSKEY are there and signed.
    let apex_sigs = sigs("example.test.");
    for t in [
        RrType::SOA,
        RrType::NS,
        RrType::DNSKEY,
        RrType::CDS,
        RrType::CDNSKEY,
        RrType::NSEC,
    ] {
        assert!(apex_sigs.contains(&t.0), "{t:?} not signed");
    }
}
