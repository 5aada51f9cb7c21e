//! DNSSEC signing (RFC 4033-4035, 5155, 6605, 8080, 9276): keys, RRSIGs over canonical RRsets,
//! and the NSEC or NSEC3 chain, for a whole zone.
//!
//! Given a zone's unsigned records (SOA and apex NS included), [`sign_zone`] returns the signed
//! zone: the DNSKEY RRset (and CDS/CDNSKEY when asked), an NSEC or NSEC3 record per
//! authoritative name (empty non-terminals get NSEC3 records too), and an RRSIG for every
//! authoritative RRset. Delegation NS RRsets and glue are not signed (RFC 4035 section 2.2);
//! names below a delegation have no NSEC/NSEC3 of their own.
//!
//! [`sign_zone`] runs in named phases, deciding before doing: prepare the records, plan what is
//! signed and what the denial chain covers, build the chain, sign the RRsets, assemble. The
//! result comes in canonical order (merged from runs already in order, not sorted again).
//! Signing is spread over threads: RRsets are cut into chunks, each signed on its own thread.
//! Keys sign what their flags say: with a ZSK (flags 256) present, KSKs (257) sign only the
//! DNSKEY, CDS and CDNSKEY RRsets; a single key with flags 257 is a combined signing key (CSK)
//! and signs everything.

use std::collections::{BTreeSet, HashSet};

use ring::digest::{SHA1_FOR_LEGACY_USE_ONLY, SHA256, digest};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair};

use crate::dname::DName;
use crate::rdata::RrType;
use crate::record::{ZoneRecord, merge_canonical, sort_canonical};

/// A signing algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// 13, ECDSA P-256 with SHA-256 (RFC 6605): the default.
    EcdsaP256Sha256,
    /// 15, Ed25519 (RFC 8080).
    Ed25519,
}

impl Algorithm {
    /// The IANA number.
    pub fn number(self) -> u8 {
        match self {
            Self::EcdsaP256Sha256 => 13,
            Self::Ed25519 => 15,
        }
    }

    /// From the IANA number.
    pub fn from_number(n: u8) -> Option<Self> {
        match n {
            13 => Some(Self::EcdsaP256Sha256),
            15 => Some(Self::Ed25519),
            _ => None,
        }
    }

    /// The mnemonic (RFC 8624 table, [`crate::algorithm::ALGORITHMS`]): `ECDSAP256SHA256`,
    /// `ED25519`.
    pub fn mnemonic(self) -> &'static str {
        crate::algorithm::mnemonic(self.number()).unwrap_or_default()
    }

    /// From the mnemonic, any case, or the number in decimal.
    pub fn parse(text: &str) -> Option<Self> {
        crate::algorithm::number(text)
            .or_else(|| text.parse::<u8>().ok().filter(|n| n.to_string() == text))
            .and_then(Self::from_number)
    }
}

/// Why signing failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// A key could not be made or read.
    #[error("key: {0}")]
    Key(String),
    /// The zone has no SOA at its apex.
    #[error("the zone has no SOA at its apex")]
    NoSoa,
    /// No key to sign with.
    #[error("no signing key")]
    NoKey,
    /// The system's random number generator failed.
    #[error("signing failed: {0}")]
    Crypto(String),
}

enum Pair {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A DNSSEC key with its private half.
pub struct SigningKey {
    algorithm: Algorithm,
    flags: u16,
    pkcs8: Vec<u8>,
    pair: Pair,
    public: Vec<u8>,
    tag: u16,
    rng: SystemRandom,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the private key.
        write!(
            f,
            "SigningKey({} flags {} tag {})",
            self.algorithm.mnemonic(),
            self.flags,
            self.tag
        )
    }
}

/// The key flags of a zone key that is also a secure entry point (KSK or CSK).
pub const KSK_FLAGS: u16 = 257;
/// The key flags of a zone-signing key.
pub const ZSK_FLAGS: u16 = 256;

impl SigningKey {
    /// A new random key; also returns its private key as PKCS#8, to be stored (encrypted).
    pub fn generate(algorithm: Algorithm, flags: u16) -> Result<(Self, Vec<u8>), SignError> {
        let rng = SystemRandom::new();
        let pkcs8 = match algorithm {
            Algorithm::EcdsaP256Sha256 => {
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            }
            Algorithm::Ed25519 => Ed25519KeyPair::generate_pkcs8(&rng),
        }
        .map_err(|e| SignError::Key(e.to_string()))?;
        let der = pkcs8.as_ref().to_vec();
        Ok((Self::from_pkcs8(algorithm, flags, &der)?, der))
    }

    /// A key from its stored PKCS#8 private key.
    pub fn from_pkcs8(algorithm: Algorithm, flags: u16, pkcs8: &[u8]) -> Result<Self, SignError> {
        let rng = SystemRandom::new();
        let (pair, public) = match algorithm {
            Algorithm::EcdsaP256Sha256 => {
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
                    .map_err(|e| SignError::Key(e.to_string()))?;
                // Uncompressed point 0x04 || x || y; DNSKEY carries x || y (RFC 6605 section 4).
                let public = pair
                    .public_key()
                    .as_ref()
                    .get(1..)
                    .unwrap_or_default()
                    .to_vec();
                (Pair::Ecdsa(pair), public)
            }
            Algorithm::Ed25519 => {
                let pair = Ed25519KeyPair::from_pkcs8(pkcs8)
                    .or_else(|_| Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8))
                    .map_err(|e| SignError::Key(e.to_string()))?;
                let public = pair.public_key().as_ref().to_vec();
                (Pair::Ed25519(pair), public)
            }
        };
        let mut key = Self {
            algorithm,
            flags,
            pkcs8: pkcs8.to_vec(),
            pair,
            public,
            tag: 0,
            rng,
        };
        key.tag = key_tag(&key.dnskey_rdata());
        Ok(key)
    }

    /// The private key as PKCS#8, to be stored encrypted; never logged.
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The flags (256 ZSK, 257 KSK or CSK).
    pub fn flags(&self) -> u16 {
        self.flags
    }

    /// The key tag (RFC 4034 appendix B).
    pub fn tag(&self) -> u16 {
        self.tag
    }

    /// Whether this key is a secure entry point (KSK or CSK).
    pub fn is_sep(&self) -> bool {
        self.flags & 1 == 1
    }

    /// The DNSKEY record data: flags, protocol 3, algorithm, public key.
    pub fn dnskey_rdata(&self) -> Vec<u8> {
        let mut r = Vec::with_capacity(4 + self.public.len());
        r.extend_from_slice(&self.flags.to_be_bytes());
        r.push(3);
        r.push(self.algorithm.number());
        r.extend_from_slice(&self.public);
        r
    }

    /// The DS record data for this key at `owner` with SHA-256 (digest type 2).
    pub fn ds_rdata(&self, owner: &DName) -> Vec<u8> {
        let mut input = owner.wire().to_vec();
        input.extend_from_slice(&self.dnskey_rdata());
        let d = digest(&SHA256, &input);
        let mut r = Vec::with_capacity(4 + 32);
        r.extend_from_slice(&self.tag.to_be_bytes());
        r.push(self.algorithm.number());
        r.push(2);
        r.extend_from_slice(d.as_ref());
        r
    }

    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, SignError> {
        match &self.pair {
            Pair::Ecdsa(p) => p
                .sign(&self.rng, data)
                .map(|s| s.as_ref().to_vec())
                .map_err(|e| SignError::Crypto(e.to_string())),
            Pair::Ed25519(p) => Ok(p.sign(data).as_ref().to_vec()),
        }
    }
}

/// The key tag of DNSKEY record data (RFC 4034 appendix B).
pub fn key_tag(rdata: &[u8]) -> u16 {
    let mut ac: u32 = 0;
    for (i, &b) in rdata.iter().enumerate() {
        ac += if i & 1 == 1 {
            u32::from(b)
        } else {
            u32::from(b) << 8
        };
    }
    ac += (ac >> 16) & 0xffff;
    (ac & 0xffff) as u16
}

/// How the zone proves that names and types do not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// NSEC (RFC 4034).
    Nsec,
    /// NSEC3 (RFC 5155) with these parameters; RFC 9276 asks for no salt and 0 iterations.
    Nsec3 {
        /// Extra iterations.
        iterations: u16,
        /// Salt.
        salt: Vec<u8>,
    },
}

/// What to sign with and for how long.
#[derive(Debug, Clone)]
pub struct SignParams {
    /// Signature inception (seconds since the epoch, RFC 1982 arithmetic on the wire).
    pub inception: u32,
    /// Signature expiration.
    pub expiration: u32,
    /// NSEC or NSEC3.
    pub denial: Denial,
    /// Publish CDS and CDNSKEY for the secure entry points (RFC 7344).
    pub cds: bool,
    /// Publish the CDS/CDNSKEY "delete" records instead (RFC 8078 section 4): the parent is
    /// asked to remove the DS before signing stops.
    pub cds_delete: bool,
    /// Threads to sign on.
    pub threads: usize,
}

impl SignParams {
    /// Signatures made now and valid for `validity` seconds: inception back-dated an hour for
    /// resolvers whose clocks run behind; no CDS/CDNSKEY; on every CPU.
    pub fn now(validity: u32, denial: Denial) -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX));
        Self {
            inception: now.wrapping_sub(3600),
            expiration: now.wrapping_add(validity),
            denial,
            cds: false,
            cds_delete: false,
            threads: std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
        }
    }
}

/// NSEC3 hash of a name (RFC 5155 section 5).
pub fn nsec3_hash(name: &[u8], salt: &[u8], iterations: u16) -> [u8; 20] {
    let mut buf = Vec::with_capacity(name.len().max(20) + salt.len());
    buf.extend_from_slice(name);
    buf.extend_from_slice(salt);
    let mut h = digest(&SHA1_FOR_LEGACY_USE_ONLY, &buf);
    for _ in 0..iterations {
        buf.clear();
        buf.extend_from_slice(h.as_ref());
        buf.extend_from_slice(salt);
        h = digest(&SHA1_FOR_LEGACY_USE_ONLY, &buf);
    }
    let mut out = [0u8; 20];
    out.copy_from_slice(h.as_ref());
    out
}

/// Base32hex without padding, lowercase (RFC 4648 section 7), as NSEC3 owner labels are
/// written.
pub fn base32hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    crate::rdata::encode_base32hex(bytes, &mut out);
    out.make_ascii_lowercase();
    out
}

/// The type bitmap field of NSEC and NSEC3 (RFC 4034 section 4.1.2).
pub fn type_bitmap(types: &BTreeSet<u16>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut window: Option<(u8, [u8; 32], usize)> = None;
    let flush = |w: &(u8, [u8; 32], usize), out: &mut Vec<u8>| {
        out.push(w.0);
        out.push(w.2 as u8);
        out.extend_from_slice(&w.1[..w.2]);
    };
    for &t in types {
        let (hi, lo) = ((t >> 8) as u8, (t & 0xff) as usize);
        if window.as_ref().is_none_or(|w| w.0 != hi) {
            if let Some(w) = &window {
                flush(w, &mut out);
            }
            window = Some((hi, [0; 32], 0));
        }
        if let Some(w) = window.as_mut() {
            w.1[lo / 8] |= 0x80 >> (lo % 8);
            w.2 = w.2.max(lo / 8 + 1);
        }
    }
    if let Some(w) = &window {
        flush(w, &mut out);
    }
    out
}

/// One RRset to sign.
pub(crate) struct ToSign {
    pub(crate) owner: DName,
    pub(crate) rtype: RrType,
    pub(crate) ttl: u32,
    /// Record data, each already canonical.
    pub(crate) rdatas: Vec<Box<[u8]>>,
    /// Signed by the secure entry points (DNSKEY, CDS, CDNSKEY) rather than the ZSKs.
    pub(crate) by_sep: bool,
}

/// Number of labels of a name for the RRSIG labels field: the leftmost `*` does not count.
fn rrsig_labels(name: &DName) -> u8 {
    let n = name.label_count();
    (if name.is_wildcard() { n - 1 } else { n }) as u8
}

/// The RRSIG by `key` over one RRset (RFC 4034 section 3.1.8.1).
fn rrsig(
    set: &ToSign,
    key: &SigningKey,
    apex: &DName,
    params: &SignParams,
) -> Result<ZoneRecord, SignError> {
    let mut head = Vec::with_capacity(18 + apex.wire().len());
    head.extend_from_slice(&set.rtype.0.to_be_bytes());
    head.push(key.algorithm.number());
    head.push(rrsig_labels(&set.owner));
    head.extend_from_slice(&set.ttl.to_be_bytes());
    head.extend_from_slice(&params.expiration.to_be_bytes());
    head.extend_from_slice(&params.inception.to_be_bytes());
    head.extend_from_slice(&key.tag.to_be_bytes());
    head.extend_from_slice(apex.wire());
    // RFC 4034 section 3.1.8.1: the RRSIG data without the signature, then every record of
    // the RRset in canonical form and order.
    let mut data = head.clone();
    let mut rdatas: Vec<&Box<[u8]>> = set.rdatas.iter().collect();
    rdatas.sort();
    rdatas.dedup();
    for rd in rdatas {
        data.extend_from_slice(set.owner.wire());
        data.extend_from_slice(&set.rtype.0.to_be_bytes());
        data.extend_from_slice(&1u16.to_be_bytes());
        data.extend_from_slice(&set.ttl.to_be_bytes());
        data.extend_from_slice(&(rd.len() as u16).to_be_bytes());
        data.extend_from_slice(rd);
    }
    let sig = key.sign(&data)?;
    head.extend_from_slice(&sig);
    Ok(ZoneRecord {
        name: set.owner.clone(),
        ttl: set.ttl,
        rtype: RrType::RRSIG,
        rdata: head.into_boxed_slice(),
        comment: None,
        line: 0,
    })
}

pub(crate) fn record(name: &DName, ttl: u32, rtype: RrType, rdata: Vec<u8>) -> ZoneRecord {
    ZoneRecord {
        name: name.clone(),
        ttl,
        rtype,
        rdata: rdata.into_boxed_slice(),
        comment: None,
        line: 0,
    }
}

/// Which keys sign what: (the zone's RRsets, the apex key RRsets). With a ZSK present, KSKs
/// sign only the key RRsets; a lone KSK is a combined signing key.
pub(crate) fn signers(keys: &[SigningKey]) -> (Vec<&SigningKey>, Vec<&SigningKey>) {
    let has_zsk = keys.iter().any(|k| !k.is_sep());
    let zone_keys: Vec<&SigningKey> = keys.iter().filter(|k| !has_zsk || !k.is_sep()).collect();
    let sep_keys: Vec<&SigningKey> = keys.iter().filter(|k| k.is_sep()).collect();
    if sep_keys.is_empty() {
        (zone_keys.clone(), zone_keys)
    } else {
        (zone_keys, sep_keys)
    }
}

/// NSEC/NSEC3 TTL (RFC 9077): min(SOA TTL, SOA MINIMUM).
pub(crate) fn denial_ttl(soa: &ZoneRecord) -> u32 {
    let minimum = soa
        .rdata
        .get(soa.rdata.len().saturating_sub(4)..)
        .and_then(|m| m.try_into().ok())
        .map_or(soa.ttl, u32::from_be_bytes);
    soa.ttl.min(minimum)
}

/// Signs the zone `apex`. `records` are its unsigned records (any DNSSEC records among them
/// are replaced); `keys` its active keys.
///
/// In phases: `prepare` the records (key records added, canonical order), `plan` what is
/// signed and which names the denial chain covers, build the `denial_chain`, `sign_rrsets` on
/// threads, and `assemble` the result in canonical order.
pub fn sign_zone(
    apex: &DName,
    records: Vec<ZoneRecord>,
    keys: &[SigningKey],
    params: &SignParams,
) -> Result<Vec<ZoneRecord>, SignError> {
    if keys.is_empty() {
        return Err(SignError::NoKey);
    }
    let (records, denial_ttl) = prepare(apex, records, keys, params)?;
    let mut plan = plan(apex, &records);
    let (chain, chain_sets) = denial_chain(apex, &plan, &params.denial, denial_ttl)?;
    // The chain's RRsets are signed after the zone's (assemble relies on that order).
    plan.to_sign.extend(chain_sets);
    let signatures = sign_rrsets(apex, &plan.to_sign, keys, params)?;
    Ok(assemble(records, chain, signatures))
}

/// The zone's records ready to sign: DNSSEC records and out-of-zone records dropped, the
/// apex's DNSKEY (and CDS/CDNSKEY) records added, in canonical order without duplicates. Also
/// returns the TTL of the denial records.
fn prepare(
    apex: &DName,
    mut records: Vec<ZoneRecord>,
    keys: &[SigningKey],
    params: &SignParams,
) -> Result<(Vec<ZoneRecord>, u32), SignError> {
    records.retain(|r| {
        r.name.is_within(apex)
            && !matches!(
                r.rtype,
                RrType::RRSIG | RrType::NSEC | RrType::NSEC3 | RrType::NSEC3PARAM
            )
            && !(r.name == *apex
                && matches!(r.rtype, RrType::DNSKEY | RrType::CDS | RrType::CDNSKEY))
    });
    let soa = records
        .iter()
        .find(|r| r.rtype == RrType::SOA && r.name == *apex)
        .ok_or(SignError::NoSoa)?;
    let soa_ttl = soa.ttl;
    let denial_ttl = denial_ttl(soa);

    // The apex's key records.
    let mut dnskeys: Vec<Vec<u8>> = keys.iter().map(SigningKey::dnskey_rdata).collect();
    dnskeys.sort();
    dnskeys.dedup();
    for k in &dnskeys {
        records.push(record(apex, soa_ttl, RrType::DNSKEY, k.clone()));
    }
    if params.cds_delete {
        // RFC 8078 section 4: algorithm 0 means "delete the DS".
        records.push(record(apex, soa_ttl, RrType::CDS, vec![0, 0, 0, 0, 0]));
        records.push(record(apex, soa_ttl, RrType::CDNSKEY, vec![0, 0, 3, 0, 0]));
    } else if params.cds {
        for k in keys.iter().filter(|k| k.is_sep()) {
            records.push(record(apex, soa_ttl, RrType::CDS, k.ds_rdata(apex)));
            records.push(record(apex, soa_ttl, RrType::CDNSKEY, k.dnskey_rdata()));
        }
    }
    sort_canonical(&mut records);
    records.dedup_by(|a, b| a.name == b.name && a.rtype == b.rtype && a.rdata == b.rdata);
    Ok((records, denial_ttl))
}

/// What signing a zone involves, decided before anything is made.
struct Plan {
    /// The zone's RRsets to sign, in canonical order.
    to_sign: Vec<ToSign>,
    /// Every authoritative name with the types present there, in canonical order.
    names: Vec<(DName, BTreeSet<u16>)>,
    /// The delegation points.
    cuts: HashSet<DName>,
}

/// Plans the signing of `records` (prepared, so in canonical order): names below a delegation
/// or a DNAME are not authoritative (no signatures, no denial records); at a delegation only
/// the DS RRset is signed; the apex's key RRsets are signed by the secure entry points.
fn plan(apex: &DName, records: &[ZoneRecord]) -> Plan {
    // Delegations and what they (or DNAMEs) hide.
    let cuts: HashSet<DName> = records
        .iter()
        .filter(|r| r.rtype == RrType::NS && r.name != *apex)
        .map(|r| r.name.clone())
        .collect();
    let dnames: HashSet<DName> = records
        .iter()
        .filter(|r| r.rtype == RrType::DNAME)
        .map(|r| r.name.clone())
        .collect();
    let occluded = |name: &DName| -> bool {
        let mut p = name.parent();
        while let Some(n) = p {
            if !n.is_within(apex) || n == *apex {
                return false;
            }
            if cuts.contains(&n) || dnames.contains(&n) {
                return true;
            }
            p = n.parent();
        }
        false
    };

    // RRsets by owner, in canonical order (records are sorted).
    let mut to_sign: Vec<ToSign> = Vec::new();
    // (owner, types present) of every authoritative name, in canonical order.
    let mut names: Vec<(DName, BTreeSet<u16>)> = Vec::new();
    for group in records.chunk_by(|a, b| a.name == b.name) {
        let owner = group[0].name.clone();
        if occluded(&owner) {
            continue;
        }
        let cut = cuts.contains(&owner);
        let mut types = BTreeSet::new();
        for set in group.chunk_by(|a, b| a.rtype == b.rtype) {
            let t = set[0].rtype;
            types.insert(t.0);
            // At a delegation only DS (and the NSEC) is signed; the NS set is the child's.
            let signed = !cut || t == RrType::DS;
            if signed {
                to_sign.push(ToSign {
                    owner: owner.clone(),
                    rtype: t,
                    ttl: set.iter().map(|r| r.ttl).min().unwrap_or(0),
                    rdatas: set.iter().map(|r| r.rdata.clone()).collect(),
                    by_sep: owner == *apex
                        && matches!(t, RrType::DNSKEY | RrType::CDS | RrType::CDNSKEY),
                });
            }
        }
        names.push((owner, types));
    }
    Plan {
        to_sign,
        names,
        cuts,
    }
}

/// The denial chain of the planned names, in canonical order, and its RRsets to sign.
fn denial_chain(
    apex: &DName,
    plan: &Plan,
    denial: &Denial,
    ttl: u32,
) -> Result<(Vec<ZoneRecord>, Vec<ToSign>), SignError> {
    match denial {
        Denial::Nsec => Ok(nsec_chain(&plan.names, ttl)),
        Denial::Nsec3 { iterations, salt } => nsec3_chain(apex, plan, *iterations, salt, ttl),
    }
}

/// One denial record, and the same as an RRset to sign.
fn denial_record(owner: DName, rtype: RrType, ttl: u32, rdata: Vec<u8>) -> (ZoneRecord, ToSign) {
    let r = record(&owner, ttl, rtype, rdata);
    let set = ToSign {
        rdatas: vec![r.rdata.clone()],
        owner,
        rtype,
        ttl,
        by_sep: false,
    };
    (r, set)
}

/// An NSEC record at every authoritative name, pointing at the next (RFC 4034 section 4).
fn nsec_chain(names: &[(DName, BTreeSet<u16>)], ttl: u32) -> (Vec<ZoneRecord>, Vec<ToSign>) {
    let mut chain = Vec::with_capacity(names.len());
    let mut sets = Vec::with_capacity(names.len());
    for (n, (owner, types)) in names.iter().enumerate() {
        let next = &names[(n + 1) % names.len()].0;
        // The NSEC itself is signed, so RRSIG is at every name, delegations included
        // (RFC 4035 section 2.3).
        let mut t = types.clone();
        t.insert(RrType::NSEC.0);
        t.insert(RrType::RRSIG.0);
        let mut rdata = next.wire().to_vec();
        rdata.extend(type_bitmap(&t));
        let (r, set) = denial_record(owner.clone(), RrType::NSEC, ttl, rdata);
        sets.push(set);
        chain.push(r);
    }
    (chain, sets)
}

/// The NSEC3PARAM record and an NSEC3 record for every authoritative name and every empty
/// non-terminal, in hash order (RFC 5155 section 7.1).
fn nsec3_chain(
    apex: &DName,
    plan: &Plan,
    iterations: u16,
    salt: &[u8],
    ttl: u32,
) -> Result<(Vec<ZoneRecord>, Vec<ToSign>), SignError> {
    let (names, cuts) = (&plan.names, &plan.cuts);
    // Every authoritative name and every empty non-terminal between it and the apex.
    let mut all: Vec<(DName, BTreeSet<u16>)> = names.clone();
    let present: HashSet<DName> = names.iter().map(|(n, _)| n.clone()).collect();
    let mut ents: HashSet<DName> = HashSet::new();
    for (n, _) in names {
        let mut p = n.parent();
        while let Some(a) = p {
            if a == *apex || !a.is_within(apex) || present.contains(&a) || !ents.insert(a.clone()) {
                break;
            }
            p = a.parent();
        }
    }
    all.extend(ents.into_iter().map(|n| (n, BTreeSet::new())));
    let mut hashed: Vec<([u8; 20], BTreeSet<u16>, bool)> = all
        .into_iter()
        .map(|(n, mut types)| {
            let h = nsec3_hash(n.wire(), salt, iterations);
            let cut = cuts.contains(&n);
            if !types.is_empty() && (!cut || types.contains(&RrType::DS.0)) {
                types.insert(RrType::RRSIG.0);
            }
            if n == *apex {
                types.insert(RrType::NSEC3PARAM.0);
            }
            (h, types, cut)
        })
        .collect();
    hashed.sort_by_key(|a| a.0);
    hashed.dedup_by(|a, b| a.0 == b.0);
    let mut chain = Vec::with_capacity(hashed.len() + 1);
    let mut sets = Vec::with_capacity(hashed.len() + 1);
    let mut param = vec![1, 0];
    param.extend_from_slice(&iterations.to_be_bytes());
    param.push(salt.len() as u8);
    param.extend_from_slice(salt);
    let (p, set) = denial_record(apex.clone(), RrType::NSEC3PARAM, 0, param);
    sets.push(set);
    chain.push(p);
    for (n, (h, types, _)) in hashed.iter().enumerate() {
        let next = &hashed[(n + 1) % hashed.len()].0;
        let label = base32hex(h);
        let owner = DName::parse(label.as_bytes(), Some(apex))
            .map_err(|e| SignError::Key(e.to_string()))?;
        let mut rdata = vec![1, 0];
        rdata.extend_from_slice(&iterations.to_be_bytes());
        rdata.push(salt.len() as u8);
        rdata.extend_from_slice(salt);
        rdata.push(20);
        rdata.extend_from_slice(next);
        rdata.extend(type_bitmap(types));
        let (r, set) = denial_record(owner, RrType::NSEC3, ttl, rdata);
        sets.push(set);
        chain.push(r);
    }
    Ok((chain, sets))
}

/// Appends the signatures over one RRset by the keys that sign it, in canonical (data) order.
pub(crate) fn sign_set(
    set: &ToSign,
    zone_keys: &[&SigningKey],
    sep_keys: &[&SigningKey],
    apex: &DName,
    params: &SignParams,
    out: &mut Vec<ZoneRecord>,
) -> Result<(), SignError> {
    let first = out.len();
    for key in if set.by_sep { sep_keys } else { zone_keys } {
        out.push(rrsig(set, key, apex, params)?);
    }
    sort_canonical(&mut out[first..]);
    Ok(())
}

/// Signs every RRset of `sets` on `params.threads` threads (each a run of consecutive
/// RRsets); the signatures come in the order of `sets`.
fn sign_rrsets(
    apex: &DName,
    sets: &[ToSign],
    keys: &[SigningKey],
    params: &SignParams,
) -> Result<Vec<ZoneRecord>, SignError> {
    let (zone_keys, sep_keys) = signers(keys);
    let threads = params.threads.max(1);
    let chunk = sets.len().div_ceil(threads).max(1);
    let signatures: Vec<Result<Vec<ZoneRecord>, SignError>> = std::thread::scope(|s| {
        let handles: Vec<_> = sets
            .chunks(chunk)
            .map(|part| {
                let (zone_keys, sep_keys) = (&zone_keys, &sep_keys);
                s.spawn(move || {
                    let mut out = Vec::with_capacity(part.len());
                    for set in part {
                        sign_set(set, zone_keys, sep_keys, apex, params, &mut out)?;
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(SignError::Crypto("a signing thread panicked".into())))
            })
            .collect()
    });
    let mut sigs: Vec<ZoneRecord> = Vec::new();
    for s in signatures {
        sigs.extend(s?);
    }
    Ok(sigs)
}

/// The signed zone in canonical order, by merging runs that are each in order already: the
/// zone's records, the chain (NSEC by name; NSEC3PARAM at the apex, then NSEC3 by hash, which
/// is their names' order), and the signatures of the zone's RRsets and of the chain (signed
/// in that order, owners ascending).
fn assemble(
    records: Vec<ZoneRecord>,
    chain: Vec<ZoneRecord>,
    mut sigs: Vec<ZoneRecord>,
) -> Vec<ZoneRecord> {
    // The chain's signatures start at the first one covering NSEC, NSEC3 or NSEC3PARAM (the
    // zone's own records never include those types).
    let split = sigs
        .iter()
        .position(|r| {
            r.rdata
                .get(..2)
                .is_some_and(|t| matches!(u16::from_be_bytes([t[0], t[1]]), 47 | 50 | 51))
        })
        .unwrap_or(sigs.len());
    let chain_sigs = sigs.split_off(split);
    let data = merge_canonical(records, chain);
    let signatures = merge_canonical(sigs, chain_sigs);
    merge_canonical(data, signatures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_tags_and_base32() {
        // RFC 4034 section 5.4's example key is RSA; the checksum is the same for any data.
        assert_eq!(key_tag(&[0x01, 0x01, 0x03, 0x0d]), 0x0101 + 0x030d);
        assert_eq!(base32hex(&[0u8; 5]), "00000000");
        assert_eq!(base32hex(b"f"), "co");
        assert_eq!(base32hex(b"foobar"), "cpnmuoj1e8");
        // RFC 5155 appendix A.
        let h = nsec3_hash(b"\x07example\x00", &[0xaa, 0xbb, 0xcc, 0xdd], 12);
        assert_eq!(base32hex(&h), "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom");
        let bitmap = type_bitmap(&[1u16, 15, 46, 47, 1234].into_iter().collect());
        let mut expect = vec![0, 6, 0x40, 0x01, 0, 0, 0, 0x03, 4, 27];
        expect.extend([0; 26]);
        expect.push(0x20);
        assert_eq!(bitmap, expect);
    }

    #[test]
    fn algorithm_names_and_numbers() {
        for alg in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
            assert_eq!(Algorithm::from_number(alg.number()), Some(alg));
            assert_eq!(Algorithm::parse(alg.mnemonic()), Some(alg));
            assert_eq!(Algorithm::parse(&alg.number().to_string()), Some(alg));
        }
        assert_eq!(Algorithm::EcdsaP256Sha256.mnemonic(), "ECDSAP256SHA256");
        assert_eq!(Algorithm::Ed25519.mnemonic(), "ED25519");
        assert_eq!(Algorithm::parse("ed25519"), Some(Algorithm::Ed25519));
        assert_eq!(Algorithm::parse("013"), None);
        assert_eq!(Algorithm::parse("RSASHA256"), None);
        assert_eq!(Algorithm::parse("8"), None);
    }

    #[test]
    fn keys_round_trip_through_pkcs8() {
        for alg in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
            let (key, pkcs8) = SigningKey::generate(alg, KSK_FLAGS).unwrap();
            let back = SigningKey::from_pkcs8(alg, KSK_FLAGS, &pkcs8).unwrap();
            assert_eq!(key.dnskey_rdata(), back.dnskey_rdata());
            assert_eq!(key.tag(), back.tag());
            let expect = if alg == Algorithm::Ed25519 { 32 } else { 64 };
            assert_eq!(key.dnskey_rdata().len(), 4 + expect);
            assert!(!format!("{key:?}").contains("pkcs8"));
        }
    }
}
