//! One zone as the answer path needs it, built from a transfer, a file or the disk, and
//! changed by IXFR in proportion to the change.
//!
//! Every record is stored pre-encoded, as the part of a resource record that follows the
//! owner name (type, class, TTL, length, data), in one arena; answering an RRset is writing a
//! compression pointer for the owner and copying bytes. Owners are kept in a hash map from
//! their lowercase wire form; every ancestor of an owner up to the apex is a node too (empty
//! non-terminals, RFC 8020), so "does this name exist" is one hash lookup. Nothing on the
//! answer path scans the zone: the only ordered structures are the NSEC and NSEC3 chains,
//! searched by bisection.
//!
//! A version of a zone is two layers ([`patch`] makes new ones):
//!
//! - the **base**, built whole from a full transfer or the disk, shared (behind an `Arc`) by
//!   every later version and never changed;
//! - the **delta**: the owners changed since the base, each a node of its own with its RRsets
//!   encoded in the delta's arena, and a map from their names to those nodes (or to nothing:
//!   the name is gone). A name is looked up in the delta first; an empty delta costs nothing.
//!
//! Node ids, RRset indexes and arena offsets are global: those past the end of the base's
//! tables are the delta's. The NSEC and NSEC3 chains are layered the same way ([`Chain`]).
//! When the delta grows past an eighth of the base the next change builds a new base
//! (compaction), so memory stays within a small factor of the zone.

mod chain;
mod patch;

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::Duration;

use hashbrown::HashTable;

pub use chain::Chain;

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
    /// Index of its first RRset (global: see the module's notes).
    pub first: u32,
    /// Nodes directly below this one (a node with none and no RRsets is no name of the zone).
    pub children: u32,
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
    /// NSEC: the nodes holding an NSEC record by canonical sort key.
    Nsec(Chain<Box<[u8]>>),
    /// NSEC3: the parameters and the chain, by hash.
    Nsec3 {
        /// Hash iterations.
        iterations: u16,
        /// Salt.
        salt: Box<[u8]>,
        /// The nodes of the NSEC3 records by owner hash.
        chain: Chain<[u8; 20]>,
    },
}

/// Nodes with their names, RRsets and record bytes: a zone's base is one such set of tables,
/// its delta another.
#[derive(Debug, Clone)]
struct Tables {
    /// Owner names of the nodes, lowercase wire form, one after another.
    name_bytes: Vec<u8>,
    /// Where each node's name starts in `name_bytes`, plus the end.
    name_at: Vec<u32>,
    nodes: Vec<Node>,
    rrsets: Vec<Rrset>,
    arena: Vec<u8>,
}

impl Default for Tables {
    fn default() -> Self {
        Self {
            name_bytes: Vec::new(),
            name_at: vec![0],
            nodes: Vec::new(),
            rrsets: Vec::new(),
            arena: Vec::new(),
        }
    }
}

impl Tables {
    fn name(&self, i: usize) -> &[u8] {
        &self.name_bytes[self.name_at[i] as usize..self.name_at[i + 1] as usize]
    }

    /// Adds a node named `wire`; returns its index in these tables.
    fn push(&mut self, wire: &[u8], node: Node) -> usize {
        self.nodes.push(node);
        self.name_bytes.extend_from_slice(wire);
        self.name_at.push(self.name_bytes.len() as u32);
        self.nodes.len() - 1
    }

    fn heap_bytes(&self) -> usize {
        self.arena.capacity()
            + self.rrsets.capacity() * std::mem::size_of::<Rrset>()
            + self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.name_bytes.capacity()
            + self.name_at.capacity() * 4
    }

    fn shrink_to_fit(&mut self) {
        self.arena.shrink_to_fit();
        self.rrsets.shrink_to_fit();
        self.nodes.shrink_to_fit();
        self.name_bytes.shrink_to_fit();
        self.name_at.shrink_to_fit();
    }
}

/// The zone as last built whole, with its name index: one hash table of 4-byte node ids, the
/// names themselves in the tables (no allocation per name).
#[derive(Debug, Clone)]
struct Base {
    t: Tables,
    index: HashTable<u32>,
    hasher: RandomState,
}

impl Base {
    fn find(&self, wire: &[u8]) -> Option<u32> {
        let hash = self.hasher.hash_one(wire);
        self.index
            .find(hash, |&id| self.t.name(id as usize) == wire)
            .copied()
    }

    /// The node of `name`, created (with its missing ancestors up to `apex`, as empty
    /// non-terminals) if needed.
    fn node_for(&mut self, name: &DName, apex: &DName) -> u32 {
        if let Some(id) = self.find(name.wire()) {
            return id;
        }
        let parent = (name != apex)
            .then(|| name.parent())
            .flatten()
            .filter(|p| p.is_within(apex))
            .map(|p| self.node_for(&p, apex));
        let id = self.t.push(name.wire(), Node::default()) as u32;
        if let Some(p) = parent {
            self.t.nodes[p as usize].children += 1;
        }
        let hash = self.hasher.hash_one(name.wire());
        let (t, hasher) = (&self.t, &self.hasher);
        self.index
            .insert_unique(hash, id, |&other| hasher.hash_one(t.name(other as usize)));
        id
    }
}

/// The owners changed since the base: their nodes, and what each changed name is now.
#[derive(Debug, Clone, Default)]
struct Delta {
    t: Tables,
    /// Lowercase wire name → its node now (global id), or `None`: no longer in the zone.
    map: HashMap<Box<[u8]>, Option<u32>, RandomState>,
}

impl Delta {
    fn heap_bytes(&self) -> usize {
        self.t.heap_bytes()
            + self
                .map
                .keys()
                .map(|k| k.len() + 16 + std::mem::size_of::<Option<u32>>())
                .sum::<usize>()
    }
}

/// The node of a lowercase wire name: the delta's word first (changed or gone), then the
/// base's.
fn find_in(base: &Base, delta: &Delta, wire: &[u8]) -> Option<u32> {
    if !delta.map.is_empty()
        && let Some(now) = delta.map.get(wire)
    {
        return *now;
    }
    base.find(wire)
}

/// A node by global id.
fn node_in<'a>(base: &'a Base, delta: &'a Delta, id: u32) -> &'a Node {
    let (i, b) = (id as usize, base.t.nodes.len());
    if i < b {
        &base.t.nodes[i]
    } else {
        &delta.t.nodes[i - b]
    }
}

/// The RRsets of a node (an empty non-terminal's are an empty slice of the base's).
fn rrsets_in<'a>(base: &'a Base, delta: &'a Delta, node: &Node) -> &'a [Rrset] {
    let (first, count) = (node.first as usize, node.count as usize);
    let b = base.t.rrsets.len();
    if first < b || count == 0 {
        &base.t.rrsets[first.min(b)..first.min(b) + count]
    } else {
        &delta.t.rrsets[first - b..first - b + count]
    }
}

/// A zone ready to answer from.
#[derive(Clone)]
pub struct Zone {
    apex: DName,
    serial: u32,
    timers: SoaTimers,
    /// Negative-caching TTL: min(SOA TTL, SOA MINIMUM) (RFC 2308 section 5).
    negative_ttl: u32,
    base: Arc<Base>,
    delta: Arc<Delta>,
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

/// Encodes the records of one owner (sorted canonically, deduplicated, RRSIGs among them) into
/// `t`, whose RRsets and arena start at global `rrset_base` and `arena_base`: each RRset with
/// the signatures that cover it, one TTL per RRset (RFC 2181 section 5.2: the smallest).
/// Returns the node (no children yet) and how many records it holds.
fn encode_owner(
    t: &mut Tables,
    rrset_base: usize,
    arena_base: usize,
    group: &[ZoneRecord],
    is_apex: bool,
) -> (Node, usize) {
    let first = rrset_base + t.rrsets.len();
    let mut records = 0;
    for set in group.chunk_by(|a, b| a.rtype == b.rtype) {
        let rtype = set[0].rtype;
        if rtype == RrType::RRSIG {
            continue;
        }
        let ttl = set.iter().map(|r| r.ttl).min().unwrap_or(0);
        let start = t.arena.len();
        for r in set {
            encode_tail(&mut t.arena, rtype.0, ttl, &r.rdata);
        }
        let records_run = Run {
            start: (arena_base + start) as u32,
            len: (t.arena.len() - start) as u32,
            count: set.len().min(usize::from(u16::MAX)) as u16,
        };
        let sig_start = t.arena.len();
        let mut sig_count = 0u16;
        for sig in group.iter().filter(|r| {
            r.rtype == RrType::RRSIG && r.rdata.get(..2) == Some(&rtype.0.to_be_bytes()[..])
        }) {
            encode_tail(&mut t.arena, RrType::RRSIG.0, sig.ttl, &sig.rdata);
            sig_count = sig_count.saturating_add(1);
        }
        records += set.len() + usize::from(sig_count);
        t.rrsets.push(Rrset {
            rtype: rtype.0,
            records: records_run,
            sigs: Run {
                start: (arena_base + sig_start) as u32,
                len: (t.arena.len() - sig_start) as u32,
                count: sig_count,
            },
        });
    }
    let sets = &t.rrsets[first - rrset_base..];
    let has = |rt: RrType| sets.iter().any(|r| r.rtype == rt.0);
    let mut f = 0;
    if has(RrType::NS) && !is_apex {
        f |= flags::CUT;
    }
    if has(RrType::DNAME) {
        f |= flags::DNAME;
    }
    if has(RrType::CNAME) {
        f |= flags::CNAME;
    }
    if !sets.is_empty() && sets.iter().all(|r| r.rtype == RrType::NSEC3.0) {
        f |= flags::NSEC3_ONLY;
    }
    let node = Node {
        first: first as u32,
        children: 0,
        count: sets.len().min(usize::from(u16::MAX)) as u16,
        flags: f,
    };
    (node, records)
}

/// The SOA's serial, refresh, retry, expire and minimum.
fn soa_fields(rdata: &[u8]) -> Option<(u32, u32, u32, u32, u32)> {
    let mut w = Wire::new(rdata);
    w.name().ok()?;
    w.name().ok()?;
    Some((
        w.u32().ok()?,
        w.u32().ok()?,
        w.u32().ok()?,
        w.u32().ok()?,
        w.u32().ok()?,
    ))
}

/// The NSEC3 parameters of an NSEC3PARAM record we serve (SHA-1, flags 0): iterations, salt.
fn nsec3_params(param: &[u8]) -> Option<(u16, Box<[u8]>)> {
    if param.len() < 5 || param[0] != 1 {
        return None;
    }
    let iterations = u16::from_be_bytes([param[2], param[3]]);
    let salt_len = param[4] as usize;
    Some((
        iterations,
        param.get(5..5 + salt_len).unwrap_or_default().into(),
    ))
}

/// The hash an NSEC3 owner name stands for (its first label, base32hex).
fn nsec3_owner_hash(wire: &[u8]) -> Option<[u8; 20]> {
    let len = *wire.first()? as usize;
    base32hex(wire.get(1..1 + len)?)
}

impl Zone {
    /// Builds the zone `apex` from its records (the SOA among them). Records outside the zone
    /// are ignored; duplicates are kept once.
    pub fn build(apex: DName, mut records: Vec<ZoneRecord>) -> Result<Zone, ZoneError> {
        records.retain(|r| r.name.is_within(&apex));
        sort_canonical(&mut records);
        records.dedup_by(|a, b| a.name == b.name && a.rtype == b.rtype && a.rdata == b.rdata);
        let mut base = Base {
            t: Tables {
                name_bytes: Vec::with_capacity(records.len() * 8),
                name_at: vec![0],
                nodes: Vec::new(),
                rrsets: Vec::with_capacity(records.len() / 2 + 1),
                arena: Vec::with_capacity(records.len() * 32),
            },
            index: HashTable::with_capacity(records.len() / 2 + 1),
            hasher: RandomState::default(),
        };
        let (mut has_cuts, mut has_dnames) = (false, false);
        let mut soa: Option<(u32, Vec<u8>)> = None;
        let mut nsec3param: Option<Vec<u8>> = None;
        let mut count = 0;
        for group in records.chunk_by(|a, b| a.name == b.name) {
            // Signatures with nothing they cover are not kept, and make no name.
            if group.iter().all(|r| r.rtype == RrType::RRSIG) {
                continue;
            }
            let name = &group[0].name;
            let is_apex = name == &apex;
            let id = base.node_for(name, &apex) as usize;
            let (node, n) = encode_owner(&mut base.t, 0, 0, group, is_apex);
            count += n;
            let slot = &mut base.t.nodes[id];
            slot.first = node.first;
            slot.count = node.count;
            slot.flags |= node.flags;
            has_cuts |= node.flags & flags::CUT != 0;
            has_dnames |= node.flags & flags::DNAME != 0;
            if is_apex {
                for r in group {
                    match r.rtype {
                        RrType::SOA => soa = Some((r.ttl, r.rdata.to_vec())),
                        RrType::NSEC3PARAM => nsec3param = Some(r.rdata.to_vec()),
                        _ => {}
                    }
                }
            }
            if name.is_wildcard()
                && let Some(parent) = name.parent()
            {
                let p = base.node_for(&parent, &apex);
                base.t.nodes[p as usize].flags |= flags::WILDCARD_CHILD;
            }
        }
        if base.t.arena.len() > u32::MAX as usize {
            return Err(ZoneError::TooLarge(apex.to_string()));
        }
        let (soa_ttl, soa_rdata) = soa.ok_or_else(|| ZoneError::NoSoa(apex.to_string()))?;
        let (serial, refresh, retry, expire, minimum) =
            soa_fields(&soa_rdata).ok_or_else(|| ZoneError::NoSoa(apex.to_string()))?;
        base.t.shrink_to_fit();
        let (t, hasher) = (&base.t, &base.hasher);
        base.index
            .shrink_to_fit(|&id| hasher.hash_one(t.name(id as usize)));
        let denial = build_denial(&base.t, nsec3param.as_deref());
        if let Denial::Nsec3 { iterations, .. } = &denial
            && *iterations > MAX_NSEC3_ITERATIONS
        {
            return Err(ZoneError::Nsec3Iterations(apex.to_string(), *iterations));
        }
        Ok(Zone {
            apex,
            serial,
            timers: SoaTimers::new(refresh, retry, expire),
            negative_ttl: soa_ttl.min(minimum),
            base: Arc::new(base),
            delta: Arc::new(Delta::default()),
            denial,
            has_cuts,
            has_dnames,
            records: count,
        })
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

    /// Number of records it holds.
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
            Ok(Ok(Ok(zone))) => Ok(Ok(zone.deep_copy())),
            Ok(Ok(Err(e))) => Ok(Err(e)),
            Ok(Err(e)) => Err(e),
            // A panic in the build is a bug; building again in place reports it here.
            Err(_) => Ok(Err(ZoneError::NoSoa(apex.to_string()))),
        }
    }

    /// A copy sharing nothing with this one.
    fn deep_copy(&self) -> Zone {
        Zone {
            base: Arc::new(Base::clone(&self.base)),
            delta: Arc::new(Delta::clone(&self.delta)),
            denial: match &self.denial {
                Denial::None => Denial::None,
                Denial::Nsec(c) => Denial::Nsec(c.deep_copy()),
                Denial::Nsec3 {
                    iterations,
                    salt,
                    chain,
                } => Denial::Nsec3 {
                    iterations: *iterations,
                    salt: salt.clone(),
                    chain: chain.deep_copy(),
                },
            },
            ..self.clone()
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

    /// Bytes of memory the zone holds (its tables and arenas, base and delta).
    pub fn heap_bytes(&self) -> usize {
        self.base.t.heap_bytes()
            + self.base.index.capacity() * 5
            + self.delta.heap_bytes()
            + match &self.denial {
                Denial::None => 0,
                Denial::Nsec(chain) => chain.heap_bytes(|k| k.len() + 16),
                Denial::Nsec3 { chain, .. } => chain.heap_bytes(|_| 0),
            }
    }

    /// Bytes held by the delta (what changed since the zone was last built whole).
    pub fn delta_bytes(&self) -> usize {
        self.delta.heap_bytes()
    }

    /// Whether the zone is signed (its SOA has an RRSIG): only then do answers carry DS
    /// records and proofs of non-existence.
    pub fn is_signed(&self) -> bool {
        self.rrset_of(self.apex_node(), RrType::SOA.0)
            .is_some_and(|s| !s.sigs.is_empty())
    }

    /// Whether any delegation exists below the apex (once true, stays true until the zone is
    /// built whole again: it only spares the answer path a walk up the name).
    pub fn has_cuts(&self) -> bool {
        self.has_cuts
    }

    /// Whether any DNAME exists (the same caveat as [`Zone::has_cuts`]).
    pub fn has_dnames(&self) -> bool {
        self.has_dnames
    }

    /// The node of a lowercase wire name.
    pub fn lookup(&self, wire: &[u8]) -> Option<(u32, &Node)> {
        let id = self.find_node(wire)?;
        let node = self.node(id);
        // An NSEC3 record's owner is no name of the zone to a query (RFC 5155 section 7.2.8).
        (node.flags & flags::NSEC3_ONLY == 0).then_some((id, node))
    }

    fn find_node(&self, wire: &[u8]) -> Option<u32> {
        find_in(&self.base, &self.delta, wire)
    }

    /// A node by id.
    pub fn node(&self, id: u32) -> &Node {
        node_in(&self.base, &self.delta, id)
    }

    /// A node's owner name (lowercase wire).
    pub fn name(&self, id: u32) -> &[u8] {
        let i = id as usize;
        let b = self.base.t.nodes.len();
        if i < b {
            self.base.t.name(i)
        } else {
            self.delta.t.name(i - b)
        }
    }

    /// The RRsets of a node.
    pub fn rrsets(&self, node: &Node) -> &[Rrset] {
        rrsets_in(&self.base, &self.delta, node)
    }

    /// A node's RRset of `rtype`.
    pub fn rrset_of(&self, node: &Node, rtype: u16) -> Option<&Rrset> {
        self.rrsets(node).iter().find(|r| r.rtype == rtype)
    }

    /// The arena bytes of a run.
    pub fn bytes(&self, run: Run) -> &[u8] {
        let (start, len) = (run.start as usize, run.len as usize);
        let b = self.base.t.arena.len();
        if start < b {
            &self.base.t.arena[start..start + len]
        } else {
            &self.delta.t.arena[start - b..start - b + len]
        }
    }

    /// The apex node.
    pub fn apex_node(&self) -> &Node {
        // The apex always has a node: the SOA is there.
        self.lookup(self.apex.wire())
            .map_or(&self.base.t.nodes[0], |(_, node)| node)
    }

    /// How the zone proves non-existence.
    pub fn denial(&self) -> &Denial {
        &self.denial
    }

    /// The ids of the nodes of this version: the base's not changed since, then the delta's
    /// current ones.
    fn live_nodes(&self) -> impl Iterator<Item = u32> + '_ {
        let b = self.base.t.nodes.len() as u32;
        let map = &self.delta.map;
        let from_base =
            (0..b).filter(move |&id| map.is_empty() || !map.contains_key(self.name(id)));
        let from_delta = (b..b + self.delta.t.nodes.len() as u32)
            .filter(move |&id| map.get(self.name(id)) == Some(&Some(id)));
        from_base.chain(from_delta)
    }

    /// The records of one node.
    fn node_records(&self, name: &DName, node: &Node, out: &mut Vec<ZoneRecord>) {
        for set in self.rrsets(node) {
            for run in [set.records, set.sigs] {
                for (rtype, ttl, rdata) in Tails::new(self.bytes(run)) {
                    out.push(ZoneRecord {
                        name: name.clone(),
                        ttl,
                        rtype: RrType(rtype),
                        rdata: rdata.into(),
                        comment: None,
                        line: 0,
                    });
                }
            }
        }
    }

    /// The records back, SOA first (for writing to disk and for AXFR).
    pub fn to_records(&self) -> Vec<ZoneRecord> {
        let mut out = Vec::with_capacity(self.records);
        let mut soa = None;
        for id in self.live_nodes() {
            let Some((name, _)) = DName::from_wire(self.name(id)) else {
                continue;
            };
            let start = out.len();
            self.node_records(&name, self.node(id), &mut out);
            if name == self.apex
                && let Some(i) = out[start..].iter().position(|r| r.rtype == RrType::SOA)
            {
                soa = Some(out.remove(start + i));
            }
        }
        if let Some(s) = soa {
            out.insert(0, s);
        }
        out
    }
}

/// The NSEC or NSEC3 chain of freshly built tables.
fn build_denial(t: &Tables, nsec3param: Option<&[u8]>) -> Denial {
    let has = |node: &Node, rtype: RrType| {
        t.rrsets[node.first as usize..node.first as usize + node.count as usize]
            .iter()
            .any(|r| r.rtype == rtype.0)
    };
    if let Some((iterations, salt)) = nsec3param.and_then(nsec3_params) {
        let chain = t
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, node)| has(node, RrType::NSEC3))
            .filter_map(|(id, _)| nsec3_owner_hash(t.name(id)).map(|h| (h, id as u32)))
            .collect();
        return Denial::Nsec3 {
            iterations,
            salt,
            chain: Chain::new(chain),
        };
    }
    let chain: Vec<(Box<[u8]>, u32)> = t
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, node)| has(node, RrType::NSEC))
        .filter_map(|(id, _)| {
            DName::from_wire(t.name(id)).map(|(n, _)| (n.canonical_key(), id as u32))
        })
        .collect();
    if chain.is_empty() {
        return Denial::None;
    }
    Denial::Nsec(Chain::new(chain))
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
