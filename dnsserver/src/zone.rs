//! One zone as the answer path needs it, built once from a transfer, a file or the disk.
//!
//! Every record is stored pre-encoded, as the part of a resource record that follows the
//! owner name (type, class, TTL, length, data), in one arena per zone; answering an RRset is
//! writing a compression pointer for the owner and copying bytes. Owners are kept in a hash map
//! from their lowercase wire form; every ancestor of an owner up to the apex is a node too
//! (empty non-terminals, RFC 8020), so "does this name exist" is one hash lookup. Nothing on
//! the answer path scans the zone: the only ordered structures are the NSEC and NSEC3 chains,
//! searched by bisection.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use std::time::Duration;

use apex_zone::dname::DName;
use apex_zone::rdata::{RrType, Wire};
use apex_zone::record::{ZoneRecord, sort_canonical};
use foldhash::fast::RandomState;

/// Longest any SOA timer is taken to be; larger values (the catalog's expire is 68 years)
/// mean "practically never" and would only overflow timer arithmetic.
const MAX_TIMER: Duration = Duration::from_secs(365 * 24 * 3600);

/// A zone that cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZoneError {
    /// No SOA at the apex.
    #[error("zone {0} has no SOA at its apex")]
    NoSoa(String),
    /// NSEC3 with more iterations than answering can afford (every negative answer hashes up
    /// to three names this many times).
    #[error(
        "zone {0} uses {1} NSEC3 iterations; at most {MAX_NSEC3_ITERATIONS} are served (RFC 9276 asks for 0)"
    )]
    Nsec3Iterations(String, u16),
    /// Too big for the arena's 32-bit offsets.
    #[error("zone {0} is too large (over 4 GB of record data)")]
    TooLarge(String),
}

/// Most NSEC3 iterations served: BIND's and Knot's limit too (RFC 9276 section 3.2).
pub const MAX_NSEC3_ITERATIONS: u16 = 150;

/// The SOA timers that drive a secondary (RFC 1035 section 3.3.13).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SoaTimers {
    /// Check the primary for a newer serial this often.
    pub refresh: Duration,
    /// After a failed check, try again after this long.
    pub retry: Duration,
    /// Stop answering (SERVFAIL) when no check has succeeded for this long.
    pub expire: Duration,
}

impl SoaTimers {
    /// From the SOA's refresh, retry and expire fields, each at least one second and at most
    /// a year.
    pub fn new(refresh: u32, retry: u32, expire: u32) -> Self {
        let secs =
            |v: u32| Duration::from_secs(u64::from(v)).clamp(Duration::from_secs(1), MAX_TIMER);
        Self {
            refresh: secs(refresh),
            retry: secs(retry),
            expire: secs(expire),
        }
    }
}

/// A run of pre-encoded records in the arena: `count` records, `len` bytes from `start`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Run {
    /// Offset in the arena.
    pub start: u32,
    /// Bytes.
    pub len: u32,
    /// Records.
    pub count: u16,
}

impl Run {
    /// Whether it holds no record.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// One RRset and the RRSIGs that cover it.
#[derive(Debug, Clone, Copy)]
pub struct Rrset {
    /// Its type.
    pub rtype: u16,
    /// The records.
    pub records: Run,
    /// RRSIG records covering this type at this owner.
    pub sigs: Run,
}

/// Flags of a node.
pub mod flags {
    /// NS below the apex: a delegation point.
    pub const CUT: u8 = 1;
    /// Holds a DNAME.
    pub const DNAME: u8 = 2;
    /// `*.<this name>` exists.
    pub const WILDCARD_CHILD: u8 = 4;
    /// Holds a CNAME.
    pub const CNAME: u8 = 8;
    /// Holds nothing but NSEC3 (and its RRSIG): not a name of the zone (RFC 5155 7.2.8).
    pub const NSEC3_ONLY: u8 = 16;
}

/// The RRsets at one owner name (none for an empty non-terminal).
#[derive(Debug, Clone, Copy, Default)]
pub struct Node {
    /// Index of its first RRset in [`Zone::rrsets`].
    pub first: u32,
    /// How many RRsets.
    pub count: u16,
    /// [`flags`].
    pub flags: u8,
}

/// How the zone proves what does not exist.
#[derive(Debug, Clone)]
pub enum Denial {
    /// Not signed (or signed without a chain): no proofs.
    None,
    /// NSEC: (canonical sort key, node) of the nodes holding an NSEC record, in canonical
    /// order.
    Nsec(Vec<(Box<[u8]>, u32)>),
    /// NSEC3: the parameters and the chain, sorted by hash.
    Nsec3 {
        /// Hash iterations.
        iterations: u16,
        /// Salt.
        salt: Box<[u8]>,
        /// (owner hash, node of the NSEC3 record), sorted by hash.
        chain: Vec<([u8; 20], u32)>,
    },
}

/// A zone ready to answer from.
#[derive(Clone)]
pub struct Zone {
    apex: DName,
    serial: u32,
    timers: SoaTimers,
    /// Negative-caching TTL: min(SOA TTL, SOA MINIMUM) (RFC 2308 section 5).
    negative_ttl: u32,
    /// Node ids, found by hashing the name: one hash table of 4-byte entries, the names
    /// themselves in `name_bytes` (no allocation per name).
    index: HashTable<u32>,
    hasher: RandomState,
    /// Owner names of all nodes, lowercase wire form, one after another.
    name_bytes: Vec<u8>,
    /// Where each node's name starts in `name_bytes`, plus the end.
    name_at: Vec<u32>,
    nodes: Vec<Node>,
    rrsets: Vec<Rrset>,
    arena: Vec<u8>,
    denial: Denial,
    has_cuts: bool,
    has_dnames: bool,
    records: usize,
}

impl std::fmt::Debug for Zone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Zone({} serial {} records {})",
            self.apex, self.serial, self.records
        )
    }
}

/// Encodes the part of a record after its owner name.
fn encode_tail(arena: &mut Vec<u8>, rtype: u16, ttl: u32, rdata: &[u8]) {
    arena.extend_from_slice(&rtype.to_be_bytes());
    arena.extend_from_slice(&1u16.to_be_bytes());
    arena.extend_from_slice(&ttl.to_be_bytes());
    arena.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    arena.extend_from_slice(rdata);
}

impl Zone {
    /// Builds the zone `apex` from its records (the SOA among them). Records outside the zone
    /// are ignored; duplicates are kept once.
    pub fn build(apex: DName, mut records: Vec<ZoneRecord>) -> Result<Zone, ZoneError> {
        records.retain(|r| r.name.is_within(&apex));
        sort_canonical(&mut records);
        records.dedup_by(|a, b| a.name == b.name && a.rtype == b.rtype && a.rdata == b.rdata);
        let mut zone = Zone {
            apex: apex.clone(),
            serial: 0,
            timers: SoaTimers::new(3600, 600, 1_209_600),
            negative_ttl: 0,
            index: HashTable::with_capacity(records.len() / 2 + 1),
            hasher: RandomState::default(),
            name_bytes: Vec::with_capacity(records.len() * 8),
            name_at: vec![0],
            nodes: Vec::new(),
            rrsets: Vec::with_capacity(records.len() / 2 + 1),
            arena: Vec::with_capacity(records.len() * 32),
            denial: Denial::None,
            has_cuts: false,
            has_dnames: false,
            records: records.len(),
        };
        let mut soa: Option<(u32, Vec<u8>)> = None;
        let mut nsec3param: Option<Vec<u8>> = None;
        for group in records.chunk_by(|a, b| a.name == b.name) {
            let name = group[0].name.clone();
            let node_id = zone.node_for(&name);
            let first = zone.rrsets.len() as u32;
            // RRsets other than RRSIG, each with the signatures that cover it.
            for set in group.chunk_by(|a, b| a.rtype == b.rtype) {
                let t = set[0].rtype;
                if t != RrType::RRSIG {
                    // One TTL per RRset (RFC 2181 section 5.2): the smallest.
                    let ttl = set.iter().map(|r| r.ttl).min().unwrap_or(0);
                    let start = zone.arena.len();
                    for r in set {
                        encode_tail(&mut zone.arena, t.0, ttl, &r.rdata);
                    }
                    let records_run = Run {
                        start: start as u32,
                        len: (zone.arena.len() - start) as u32,
                        count: set.len().min(usize::from(u16::MAX)) as u16,
                    };
                    let sig_start = zone.arena.len();
                    let mut sig_count = 0u16;
                    for sig in group.iter().filter(|r| {
                        r.rtype == RrType::RRSIG && r.rdata.get(..2) == Some(&t.0.to_be_bytes()[..])
                    }) {
                        encode_tail(&mut zone.arena, RrType::RRSIG.0, sig.ttl, &sig.rdata);
                        sig_count = sig_count.saturating_add(1);
                    }
                    zone.rrsets.push(Rrset {
                        rtype: t.0,
                        records: records_run,
                        sigs: Run {
                            start: sig_start as u32,
                            len: (zone.arena.len() - sig_start) as u32,
                            count: sig_count,
                        },
                    });
                    if t == RrType::SOA && name == apex {
                        soa = Some((ttl, set[0].rdata.to_vec()));
                    }
                    if t == RrType::NSEC3PARAM && name == apex {
                        nsec3param = Some(set[0].rdata.to_vec());
                    }
                }
            }
            let node = &mut zone.nodes[node_id as usize];
            node.first = first;
            node.count = (zone.rrsets.len() as u32 - first) as u16;
            let has = |t: RrType| zone.rrsets[first as usize..].iter().any(|r| r.rtype == t.0);
            let mut f = 0;
            if has(RrType::NS) && name != apex {
                f |= flags::CUT;
                zone.has_cuts = true;
            }
            if has(RrType::DNAME) {
                f |= flags::DNAME;
                zone.has_dnames = true;
            }
            if has(RrType::CNAME) {
                f |= flags::CNAME;
            }
            if zone.rrsets[first as usize..]
                .iter()
                .all(|r| r.rtype == RrType::NSEC3.0)
                && zone.rrsets.len() > first as usize
            {
                f |= flags::NSEC3_ONLY;
            }
            zone.nodes[node_id as usize].flags |= f;
            if name.is_wildcard()
                && let Some(parent) = name.parent()
            {
                let p = zone.node_for(&parent);
                zone.nodes[p as usize].flags |= flags::WILDCARD_CHILD;
            }
        }
        if zone.arena.len() > u32::MAX as usize {
            return Err(ZoneError::TooLarge(apex.to_string()));
        }
        let (soa_ttl, soa_rdata) = soa.ok_or_else(|| ZoneError::NoSoa(apex.to_string()))?;
        let mut w = Wire::new(&soa_rdata);
        let fields = (|| {
            w.name().ok()?;
            w.name().ok()?;
            Some((
                w.u32().ok()?,
                w.u32().ok()?,
                w.u32().ok()?,
                w.u32().ok()?,
                w.u32().ok()?,
            ))
        })();
        let (serial, refresh, retry, expire, minimum) =
            fields.ok_or_else(|| ZoneError::NoSoa(apex.to_string()))?;
        zone.serial = serial;
        zone.timers = SoaTimers::new(refresh, retry, expire);
        zone.negative_ttl = soa_ttl.min(minimum);
        zone.denial = zone.build_denial(nsec3param.as_deref());
        if let Denial::Nsec3 { iterations, .. } = &zone.denial
            && *iterations > MAX_NSEC3_ITERATIONS
        {
            return Err(ZoneError::Nsec3Iterations(apex.to_string(), *iterations));
        }
        zone.arena.shrink_to_fit();
        zone.rrsets.shrink_to_fit();
        zone.nodes.shrink_to_fit();
        zone.name_bytes.shrink_to_fit();
        zone.name_at.shrink_to_fit();
        zone.index.shrink_to_fit(|&id| {
            let i = id as usize;
            zone.hasher
                .hash_one(&zone.name_bytes[zone.name_at[i] as usize..zone.name_at[i + 1] as usize])
        });
        Ok(zone)
    }

    /// The node of `name`, created (with its missing ancestors, as empty non-terminals) if
    /// needed.
    fn node_for(&mut self, name: &DName) -> u32 {
        if let Some(id) = self.find_node(name.wire()) {
            return id;
        }
        let id = self.nodes.len() as u32;
        self.nodes.push(Node::default());
        self.name_bytes.extend_from_slice(name.wire());
        self.name_at.push(self.name_bytes.len() as u32);
        let hash = self.hasher.hash_one(name.wire());
        let (bytes, at) = (&self.name_bytes, &self.name_at);
        self.index.insert_unique(hash, id, |&other| {
            let o = other as usize;
            self.hasher
                .hash_one(&bytes[at[o] as usize..at[o + 1] as usize])
        });
        if name != &self.apex
            && let Some(parent) = name.parent()
            && parent.is_within(&self.apex)
        {
            self.node_for(&parent);
        }
        id
    }

    fn build_denial(&self, nsec3param: Option<&[u8]>) -> Denial {
        if let Some(param) = nsec3param.filter(|p| p.len() >= 5 && p[0] == 1) {
            let iterations = u16::from_be_bytes([param[2], param[3]]);
            let salt_len = param[4] as usize;
            let salt: Box<[u8]> = param.get(5..5 + salt_len).unwrap_or_default().into();
            let mut chain = Vec::new();
            for (id, node) in self.nodes.iter().enumerate() {
                if self.rrset_of(node, RrType::NSEC3.0).is_none() {
                    continue;
                }
                let name = self.name(id as u32);
                // The first label is the base32hex hash.
                let label = &name[1..1 + name[0] as usize];
                if let Some(hash) = base32hex(label) {
                    chain.push((hash, id as u32));
                }
            }
            chain.sort_unstable_by_key(|a| a.0);
            return Denial::Nsec3 {
                iterations,
                salt,
                chain,
            };
        }
        let mut chain: Vec<(Box<[u8]>, u32)> = (0..self.nodes.len() as u32)
            .filter(|&id| {
                self.rrset_of(&self.nodes[id as usize], RrType::NSEC.0)
                    .is_some()
            })
            .filter_map(|id| DName::from_wire(self.name(id)).map(|(n, _)| (n.canonical_key(), id)))
            .collect();
        if chain.is_empty() {
            return Denial::None;
        }
        chain.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Denial::Nsec(chain)
    }

    /// The zone's apex.
    pub fn apex(&self) -> &DName {
        &self.apex
    }

    /// The SOA serial.
    pub fn serial(&self) -> u32 {
        self.serial
    }

    /// The SOA timers.
    pub fn timers(&self) -> SoaTimers {
        self.timers
    }

    /// TTL of negative answers.
    pub fn negative_ttl(&self) -> u32 {
        self.negative_ttl
    }

    /// Number of records it was built from.
    pub fn record_count(&self) -> usize {
        self.records
    }

    /// Builds the zone on a thread of its own and keeps a copy made on this one. The many
    /// small allocations of reading and sorting the records stay in that thread's allocator
    /// arena, which is returned to the system whole when they are freed; the copy holds only
    /// a few large blocks. (Built in place, a large zone would leave the heap fragmented and
    /// resident memory half again larger than the zone.)
    pub fn build_compact<E: Send>(
        apex: DName,
        records: impl FnOnce() -> Result<Vec<ZoneRecord>, E> + Send,
    ) -> Result<Result<Zone, ZoneError>, E> {
        let built =
            std::thread::scope(|s| s.spawn(|| Ok(Zone::build(apex.clone(), records()?))).join());
        match built {
            Ok(Ok(Ok(zone))) => Ok(Ok(zone.clone())),
            Ok(Ok(Err(e))) => Ok(Err(e)),
            Ok(Err(e)) => Err(e),
            // A panic in the build is a bug; building again in place reports it here.
            Err(_) => Ok(Err(ZoneError::NoSoa(apex.to_string()))),
        }
    }

    /// [`Zone::build`] for small zones, [`Zone::build_compact`] for large ones (where a
    /// thread per build is worth it).
    pub fn build_sized(apex: DName, records: Vec<ZoneRecord>) -> Result<Zone, ZoneError> {
        if records.len() < 20_000 {
            return Zone::build(apex, records);
        }
        match Zone::build_compact(apex, move || Ok::<_, std::convert::Infallible>(records)) {
            Ok(result) => result,
            Err(never) => match never {},
        }
    }

    /// Bytes of memory the zone holds (its tables and arenas).
    pub fn heap_bytes(&self) -> usize {
        self.arena.capacity()
            + self.rrsets.capacity() * std::mem::size_of::<Rrset>()
            + self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.name_bytes.capacity()
            + self.name_at.capacity() * 4
            + self.index.capacity() * 5
            + match &self.denial {
                Denial::None => 0,
                Denial::Nsec(chain) => chain.iter().map(|(k, _)| k.len() + 24).sum(),
                Denial::Nsec3 { chain, .. } => chain.len() * 24,
            }
    }

    /// Whether the zone is signed (its SOA has an RRSIG): only then do answers carry DS
    /// records and proofs of non-existence.
    pub fn is_signed(&self) -> bool {
        self.rrset_of(self.apex_node(), RrType::SOA.0)
            .is_some_and(|s| !s.sigs.is_empty())
    }

    /// Whether any delegation exists below the apex.
    pub fn has_cuts(&self) -> bool {
        self.has_cuts
    }

    /// Whether any DNAME exists.
    pub fn has_dnames(&self) -> bool {
        self.has_dnames
    }

    /// The node of a lowercase wire name.
    pub fn lookup(&self, wire: &[u8]) -> Option<(u32, &Node)> {
        let id = self.find_node(wire)?;
        let node = &self.nodes[id as usize];
        // An NSEC3 record's owner is no name of the zone to a query (RFC 5155 section 7.2.8).
        (node.flags & flags::NSEC3_ONLY == 0).then_some((id, node))
    }

    fn find_node(&self, wire: &[u8]) -> Option<u32> {
        let hash = self.hasher.hash_one(wire);
        self.index.find(hash, |&id| self.name(id) == wire).copied()
    }

    /// A node by id.
    pub fn node(&self, id: u32) -> &Node {
        &self.nodes[id as usize]
    }

    /// A node's owner name (lowercase wire).
    pub fn name(&self, id: u32) -> &[u8] {
        let i = id as usize;
        &self.name_bytes[self.name_at[i] as usize..self.name_at[i + 1] as usize]
    }

    /// The RRsets of a node.
    pub fn rrsets(&self, node: &Node) -> &[Rrset] {
        &self.rrsets[node.first as usize..node.first as usize + node.count as usize]
    }

    /// A node's RRset of `rtype`.
    pub fn rrset_of(&self, node: &Node, rtype: u16) -> Option<&Rrset> {
        self.rrsets(node).iter().find(|r| r.rtype == rtype)
    }

    /// The arena bytes of a run.
    pub fn bytes(&self, run: Run) -> &[u8] {
        &self.arena[run.start as usize..run.start as usize + run.len as usize]
    }

    /// The apex node.
    pub fn apex_node(&self) -> &Node {
        // The apex always has a node: the SOA is there.
        self.lookup(self.apex.wire())
            .map_or(&self.nodes[0], |(_, node)| node)
    }

    /// How the zone proves non-existence.
    pub fn denial(&self) -> &Denial {
        &self.denial
    }

    /// The records back, SOA first (for IXFR bases and for writing to disk).
    pub fn to_records(&self) -> Vec<ZoneRecord> {
        let mut out = Vec::with_capacity(self.records);
        let mut soa = None;
        for (id, node) in self.nodes.iter().enumerate() {
            let name = DName::from_wire(self.name(id as u32)).map(|(n, _)| n);
            let Some(name) = name else { continue };
            for set in self.rrsets(node) {
                for run in [set.records, set.sigs] {
                    for (rtype, ttl, rdata) in Tails::new(self.bytes(run)) {
                        let r = ZoneRecord {
                            name: name.clone(),
                            ttl,
                            rtype: RrType(rtype),
                            rdata: rdata.into(),
                            comment: None,
                            line: 0,
                        };
                        if rtype == RrType::SOA.0 && name == self.apex {
                            soa = Some(r);
                        } else {
                            out.push(r);
                        }
                    }
                }
            }
        }
        if let Some(s) = soa {
            out.insert(0, s);
        }
        out
    }
}

/// Iterates pre-encoded record tails: (type, TTL, data).
pub struct Tails<'a> {
    bytes: &'a [u8],
}

impl<'a> Tails<'a> {
    /// Over a run's bytes.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }
}

impl<'a> Iterator for Tails<'a> {
    type Item = (u16, u32, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let b = self.bytes;
        if b.len() < 10 {
            return None;
        }
        let rtype = u16::from_be_bytes([b[0], b[1]]);
        let ttl = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
        let len = u16::from_be_bytes([b[8], b[9]]) as usize;
        let data = b.get(10..10 + len)?;
        self.bytes = &b[10 + len..];
        Some((rtype, ttl, data))
    }
}

/// Decodes a base32hex label (RFC 4648 section 7, no padding) of an SHA-1 NSEC3 owner.
pub fn base32hex(label: &[u8]) -> Option<[u8; 20]> {
    apex_zone::rdata::decode_base32hex(label)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32hex_round() {
        // RFC 5155 appendix A: H(example) = 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom
        let h = base32hex(b"0p9mhaveqvm6t7vbl5lop2u3t2rp3tom").unwrap();
        assert_eq!(h[0], 0x06);
        assert!(base32hex(b"short").is_none());
        assert!(base32hex(b"0p9mhaveqvm6t7vbl5lop2u3t2rp3toz").is_none());
    }
}
