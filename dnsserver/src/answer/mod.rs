//! Answering a query from the zone table, on the wire: RFC 1034 section 4.3.2 with wildcards
//! (RFC 4592), DNAME (RFC 6672), negative answers (RFC 2308), pre-signed zones with their
//! proofs (RFC 4035, 5155), minimal ANY (RFC 8482) and EDNS (RFC 6891).
//!
//! The query is read straight from the packet ([`parse`]) and the reply written into a reused
//! buffer ([`write`]) from pre-encoded records; a query costs a few hash lookups and copies.
//! Answers, referrals and negative answers allocate nothing; following a CNAME or DNAME,
//! matching a wildcard and hashing names for NSEC3 proofs allocate a little. NOTIFY,
//! TSIG-signed requests and zone transfers are not handled here ([`Handled::SlowPath`]).
//!
//! For the zone holding the name (found by one hash lookup per label, [`Store::find`]):
//!
//! 1. walk down from the apex: a delegation (NS below the apex) at or above the name gives a
//!    referral (AA clear, NS in authority, glue in additional; DS or its absence proven when DO
//!    is set), unless the query is for DS at the cut itself; a DNAME above the name gives the
//!    DNAME and a synthesised CNAME;
//! 2. the name exists: its RRset of the query type; or its CNAME, followed through the zone (at
//!    most [`MAX_CHAIN`] links); or NODATA with the SOA (empty non-terminals too);
//! 3. the name does not exist: the wildcard at the closest encloser answers as if it were the
//!    name; with no wildcard, NXDOMAIN with the SOA.
//!
//! Negative answers carry the SOA with TTL min(SOA TTL, MINIMUM). With DO set, signed zones add
//! RRSIGs and NSEC or NSEC3 proofs ([`dnssec`]).

mod dnssec;
pub mod parse;
mod write;

use crate::store::Store;
use crate::zone::{Node, Rrset, Zone, flags};
use parse::{FORMERR, Parsed, Query, parse};
use write::{Owner, Section, Writer, flag};

/// The UDP payload size we offer and honour at most (DNS Flag Day 2020).
pub const EDNS_PAYLOAD: u16 = 1232;

/// Longest CNAME/DNAME chain followed inside a zone.
pub const MAX_CHAIN: usize = 8;

const NOERROR: u8 = 0;
const SERVFAIL: u8 = 2;
const NXDOMAIN: u8 = 3;
const REFUSED: u8 = 5;
const YXDOMAIN: u8 = 6;

const T_A: u16 = 1;
const T_NS: u16 = 2;
const T_CNAME: u16 = 5;
const T_SOA: u16 = 6;
const T_AAAA: u16 = 28;
const T_DNAME: u16 = 39;
const T_OPT: u16 = 41;
const T_DS: u16 = 43;
const T_RRSIG: u16 = 46;
const T_NSEC: u16 = 47;
const T_NSEC3: u16 = 50;
const T_TSIG: u16 = 250;
const T_IXFR: u16 = 251;
const T_AXFR: u16 = 252;
const T_ANY: u16 = 255;

/// What became of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// The reply is in the buffer.
    Reply,
    /// Send nothing.
    Drop,
    /// NOTIFY or a signed request: for the engine's slow path.
    SlowPath,
}

/// What kind of response, for rate limiting (responses of one kind to one client network
/// share a budget).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Kind {
    /// Data from the zone.
    #[default]
    Answer,
    /// A referral to a child zone.
    Referral,
    /// NXDOMAIN or NODATA.
    Negative,
    /// FORMERR, REFUSED, SERVFAIL and the like.
    Error,
}

/// Facts about a reply, for metrics and rate limiting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The rcode sent (with EDNS extended bits).
    pub rcode: u16,
    /// The query type.
    pub qtype: u16,
    /// Whether the reply was truncated.
    pub truncated: bool,
    /// The kind of response.
    pub kind: Kind,
    /// A hash of the name the response is about: the query name for answers (the wildcard
    /// for a wildcard answer), the delegation point for referrals, the zone for negative
    /// answers (so a random-subdomain flood is one stream, as in NSD and BIND).
    pub name_hash: u64,
}

fn hash_name(name: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    // Seeded at random once per process: the rate-limit table is indexed by this hash, and
    // nobody outside may be able to pick names that collide.
    static SEED: std::sync::OnceLock<foldhash::fast::RandomState> = std::sync::OnceLock::new();
    SEED.get_or_init(foldhash::fast::RandomState::default)
        .hash_one(name)
}

/// Answers `packet` into `out`. `udp` bounds the reply by the requester's payload size (and
/// 1232), less `reserve` bytes (room for a TSIG record); over TCP the bound is 65535.
pub fn handle(
    store: &Store,
    packet: &[u8],
    out: &mut Vec<u8>,
    udp: bool,
    reserve: usize,
) -> (Handled, Outcome) {
    match parse(packet) {
        Parsed::Drop => (Handled::Drop, Outcome::default()),
        Parsed::SlowPath => (Handled::SlowPath, Outcome::default()),
        Parsed::Error {
            rcode,
            question_end,
        } => {
            Writer::bare(out, packet, rcode).finish();
            if let Some(end) = question_end {
                out.extend_from_slice(&packet[12..end]);
                out[5] = 1;
            }
            (
                Handled::Reply,
                Outcome {
                    rcode: u16::from(rcode),
                    kind: Kind::Error,
                    ..Outcome::default()
                },
            )
        }
        // Zone transfers are for the slow path, which decides who may have them.
        Parsed::Query(q) if matches!(q.qtype, T_AXFR | T_IXFR) => {
            (Handled::SlowPath, Outcome::default())
        }
        Parsed::Query(q) => {
            let outcome = answer(store, &q, out, udp, reserve);
            (Handled::Reply, outcome)
        }
    }
}

fn limit(q: &Query<'_>, udp: bool, reserve: usize) -> usize {
    let max = if !udp {
        65_535
    } else {
        match q.edns {
            Some(e) => usize::from(e.payload.clamp(512, EDNS_PAYLOAD)),
            None => 512,
        }
    };
    max.saturating_sub(reserve)
}

/// A name being resolved: the question name (owners written as pointers into the question)
/// or a CNAME/DNAME target (owners written in full).
struct Current {
    wire: [u8; 255],
    len: usize,
    labels: [u8; 128],
    count: usize,
    is_question: bool,
}

impl Current {
    fn of_question(q: &Query<'_>) -> Self {
        let mut c = Current {
            wire: [0; 255],
            len: q.name_len,
            labels: q.labels,
            count: q.label_count,
            is_question: true,
        };
        c.wire[..q.name_len].copy_from_slice(q.qname());
        c
    }

    fn of_wire(wire: &[u8]) -> Option<Self> {
        if wire.len() > 255 {
            return None;
        }
        let mut c = Current {
            wire: [0; 255],
            len: wire.len(),
            labels: [0; 128],
            count: 0,
            is_question: false,
        };
        // Targets are looked up like the question: lowercase (a primary may send any case).
        for (d, s) in c.wire.iter_mut().zip(wire) {
            *d = s.to_ascii_lowercase();
        }
        let mut pos = 0;
        while pos < wire.len() && wire[pos] != 0 {
            if c.count >= 127 {
                return None;
            }
            c.labels[c.count] = pos as u8;
            c.count += 1;
            pos += 1 + wire[pos] as usize;
        }
        c.labels[c.count] = wire.len().saturating_sub(1) as u8;
        Some(c)
    }

    fn suffix(&self, i: usize) -> &[u8] {
        &self.wire[self.labels[i] as usize..self.len]
    }

    fn owner(&self, i: usize) -> Owner<'_> {
        if self.is_question {
            Owner::Suffix(i)
        } else {
            Owner::Name(self.suffix(i))
        }
    }
}

/// The authority items of one answer, without allocating: a negative answer needs the SOA and
/// at most three NSEC3 (RFC 5155 section 7.2.1 and 7.2.2), a referral NS, DS or its proof.
#[derive(Debug, Clone, Copy, Default)]
struct AuthList {
    items: [Option<Auth>; 8],
    len: usize,
}

impl AuthList {
    fn push(&mut self, item: Auth) {
        if self.len < self.items.len() {
            self.items[self.len] = Some(item);
            self.len += 1;
        }
    }

    fn contains(&self, item: &Auth) -> bool {
        self.items[..self.len]
            .iter()
            .any(|i| i.as_ref() == Some(item))
    }

    fn items(&self) -> impl Iterator<Item = &Auth> {
        self.items[..self.len].iter().flatten()
    }
}

/// Authority-section items, written after the answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth {
    /// The SOA, for a negative answer.
    Soa,
    /// An RRset of a node (with its RRSIGs when DO): NS of a cut, DS, NSEC, NSEC3.
    Rrset(u32, u16),
}

struct Ctx<'z> {
    zone: &'z Zone,
    qtype: u16,
    dnssec_ok: bool,
    rcode: u8,
    authoritative: bool,
    auth: AuthList,
    /// A negative answer (NXDOMAIN or NODATA).
    negative: bool,
    /// Links of the CNAME/DNAME chain followed so far (0: the query name itself).
    depth: usize,
    /// NS RRsets whose in-zone targets' addresses go in additional: (node, required glue).
    glue_for: Option<(u32, bool)>,
    /// The name rate limiting accounts the response to when it is not the query name: the
    /// wildcard that answered, or the delegation point of a referral (as NSD does), so
    /// random labels under either share one budget.
    rrl_name: Option<u64>,
}

fn answer(store: &Store, q: &Query<'_>, out: &mut Vec<u8>, udp: bool, reserve: usize) -> Outcome {
    let mut outcome = Outcome {
        qtype: q.qtype,
        kind: Kind::Error,
        name_hash: hash_name(q.qname()),
        ..Outcome::default()
    };
    let reply_edns = q.edns.map(|e| e.dnssec_ok);
    if let Some(e) = q.edns
        && e.version > 0
    {
        // BADVERS (16): rcode 0 in the header, 1 in OPT's extended rcode.
        let mut w = Writer::new(out, q, 0, 0);
        w.opt(EDNS_PAYLOAD, e.dnssec_ok, 1);
        w.finish();
        outcome.rcode = 16;
        return outcome;
    }
    let simple = |out: &mut Vec<u8>, rcode: u8| {
        let mut w = Writer::new(out, q, rcode, 0);
        if let Some(dnssec_ok) = reply_edns {
            w.opt(EDNS_PAYLOAD, dnssec_ok, 0);
        }
        w.finish();
    };
    let refused = q.qclass != 1 || matches!(q.qtype, T_AXFR | T_IXFR);
    if matches!(q.qtype, T_OPT | T_TSIG) || (128..=254).contains(&q.qtype) && !refused {
        simple(out, FORMERR);
        outcome.rcode = u16::from(FORMERR);
        return outcome;
    }
    let found = if refused {
        None
    } else {
        // DS belongs to the parent side of a cut (RFC 4035 section 3.1.4.1): at a zone's apex
        // it is answered from the parent zone if we serve that too.
        let found = store.find(q.label_count, |i| q.suffix(i));
        match found {
            Some(f) if q.qtype == T_DS && f.apex_label == 0 && q.label_count > 0 => store
                .find_from(1, q.label_count, |i| q.suffix(i))
                .or(Some(f)),
            other => other,
        }
    };
    let Some(found) = found else {
        simple(out, REFUSED);
        outcome.rcode = u16::from(REFUSED);
        return outcome;
    };
    found
        .slot
        .queries
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let zone = match &found.zone {
        Some(zone) if !found.slot.is_expired() => &**zone,
        _ => {
            simple(out, SERVFAIL);
            outcome.rcode = u16::from(SERVFAIL);
            return outcome;
        }
    };
    let mut ctx = Ctx {
        zone,
        qtype: q.qtype,
        dnssec_ok: q.dnssec_ok(),
        rcode: NOERROR,
        authoritative: true,
        auth: AuthList::default(),
        negative: false,
        depth: 0,
        glue_for: None,
        rrl_name: None,
    };
    let mut w = Writer::new(out, q, NOERROR, flag::AA);
    let max = limit(q, udp, reserve);
    let opt_room = if reply_edns.is_some() { 11 } else { 0 };
    let mut name = Current::of_question(q);
    let mut apex_label = found.apex_label;
    let mut seen: Vec<Vec<u8>> = Vec::new();
    for depth in 0..=MAX_CHAIN {
        ctx.depth = depth;
        match resolve(&mut ctx, &name, apex_label, q, &mut w) {
            Next::Done => break,
            Next::Follow(target) => {
                // A loop stops once every name in it has been answered.
                let lower = target.to_ascii_lowercase();
                if lower.as_slice() == q.qname() || seen.contains(&lower) {
                    break;
                }
                seen.push(lower);
                // Follow only inside this zone: a resolver follows the rest itself.
                let Some(next) = Current::of_wire(&target) else {
                    break;
                };
                let Some(label) = (0..=next.count).find(|&i| next.suffix(i) == zone.apex().wire())
                else {
                    break;
                };
                name = next;
                apex_label = label;
            }
        }
    }
    if !ctx.authoritative {
        w.clear_flags(flag::AA);
    }
    w.set_rcode(ctx.rcode);
    // Authority, then additional; truncate when the required part does not fit.
    let auth = std::mem::take(&mut ctx.auth);
    for &item in auth.items() {
        write_auth(&ctx, q, &mut w, item);
    }
    if w.len() + opt_room > max {
        // Answer and authority do not fit: TC with the question only (RFC 2181 section 9).
        w = Writer::new(
            out,
            q,
            ctx.rcode,
            flag::TC | if ctx.authoritative { flag::AA } else { 0 },
        );
        outcome.truncated = true;
    } else if let Some((cut, required)) = ctx.glue_for {
        let before = w.mark();
        write_glue(&ctx, q, &mut w, cut);
        if w.len() + opt_room > max {
            w.reset(before);
            if required {
                w = Writer::new(out, q, ctx.rcode, flag::TC);
                outcome.truncated = true;
            }
        }
    }
    if let Some(dnssec_ok) = reply_edns {
        w.opt(EDNS_PAYLOAD, dnssec_ok, 0);
    }
    w.finish();
    outcome.rcode = u16::from(ctx.rcode);
    outcome.kind = if !ctx.authoritative {
        Kind::Referral
    } else if ctx.negative {
        outcome.name_hash = hash_name(zone.apex().wire());
        Kind::Negative
    } else {
        Kind::Answer
    };
    if let Some(h) = ctx.rrl_name
        && !ctx.negative
    {
        outcome.name_hash = h;
    }
    outcome
}

/// What to do after resolving one name.
enum Next {
    Done,
    /// Continue with this target (lowercase wire).
    Follow(Vec<u8>),
}

/// Resolves `name` (whose apex is its suffix `apex_label`) in the zone, writing answers.
fn resolve(
    ctx: &mut Ctx<'_>,
    name: &Current,
    apex_label: usize,
    q: &Query<'_>,
    w: &mut Writer<'_>,
) -> Next {
    let zone = ctx.zone;
    // Walk down from the apex: delegations and DNAMEs above the name; the closest encloser.
    let mut encloser = apex_label;
    let mut exact: Option<(u32, &Node)> = None;
    if zone.has_cuts() || zone.has_dnames() {
        for j in (0..=apex_label).rev() {
            let Some((id, node)) = zone.lookup(name.suffix(j)) else {
                break;
            };
            encloser = j;
            if node.flags & flags::CUT != 0 && !(j == 0 && ctx.qtype == T_DS) {
                referral(ctx, name, j, id, w);
                return Next::Done;
            }
            if node.flags & flags::DNAME != 0 && j > 0 {
                return dname(ctx, name, j, id, node, q, w);
            }
            if j == 0 {
                exact = Some((id, node));
            }
        }
    } else if let Some(found) = zone.lookup(name.suffix(0)) {
        exact = Some(found);
        encloser = 0;
    } else {
        // The closest existing ancestor.
        encloser = (1..=apex_label)
            .find(|&j| zone.lookup(name.suffix(j)).is_some())
            .unwrap_or(apex_label);
    }
    if let Some((id, node)) = exact {
        return existing(ctx, name, id, node, q, w, false);
    }
    // The name does not exist: a wildcard at the closest encloser, or NXDOMAIN.
    let (enc_id, enc_node) = match zone.lookup(name.suffix(encloser)) {
        Some(found) => found,
        None => return Next::Done,
    };
    if enc_node.flags & flags::WILDCARD_CHILD != 0 {
        let mut wild = Vec::with_capacity(name.suffix(encloser).len() + 2);
        wild.extend_from_slice(b"\x01*");
        wild.extend_from_slice(name.suffix(encloser));
        if let Some((wid, wnode)) = zone.lookup(&wild) {
            if ctx.depth == 0 {
                ctx.rrl_name = Some(hash_name(&wild));
            }
            if ctx.dnssec_ok {
                // The name itself does not exist (RFC 4035 section 3.1.3.3, RFC 5155 7.2.6).
                dnssec::wildcard_answer_proof(ctx, name, encloser);
            }
            return existing(ctx, name, wid, wnode, q, w, true);
        }
    }
    ctx.rcode = NXDOMAIN;
    ctx.negative = true;
    ctx.auth.push(Auth::Soa);
    if ctx.dnssec_ok {
        dnssec::nxdomain_proof(ctx, name, encloser, enc_id);
    }
    Next::Done
}

/// The name exists (or a wildcard stands for it): answer, follow a CNAME, or NODATA.
fn existing(
    ctx: &mut Ctx<'_>,
    name: &Current,
    id: u32,
    node: &Node,
    q: &Query<'_>,
    w: &mut Writer<'_>,
    wildcard: bool,
) -> Next {
    let zone = ctx.zone;
    let qtype = ctx.qtype;
    let owner = name.owner(0);
    if qtype == T_ANY {
        // RFC 8482: one RRset is enough; prefer real data over DNSSEC records.
        // At the apex the SOA, elsewhere the lowest type (what NSD sends too).
        let sets = zone.rrsets(node);
        let pick = sets.iter().find(|s| s.rtype == T_SOA).or_else(|| {
            sets.iter()
                .filter(|s| !matches!(s.rtype, T_RRSIG | T_NSEC | T_NSEC3))
                .min_by_key(|s| s.rtype)
        });
        if let Some(set) = pick {
            write_rrset(ctx, q, w, Section::Answer, owner, set);
            return Next::Done;
        }
        return nodata(ctx, name, id, wildcard);
    }
    // RRSIG: every signature at the name; a name without any is asked like any other type
    // (a CNAME is followed, NODATA otherwise).
    if qtype == T_RRSIG && zone.rrsets(node).iter().any(|set| !set.sigs.is_empty()) {
        for set in zone.rrsets(node) {
            w.records(
                Section::Answer,
                owner,
                q,
                zone.bytes(set.sigs),
                set.sigs.count,
            );
        }
        return Next::Done;
    }
    if let Some(set) = zone.rrset_of(node, qtype) {
        write_rrset(ctx, q, w, Section::Answer, owner, set);
        if qtype == T_NS {
            ctx.glue_for = Some((id, false));
        }
        return Next::Done;
    }
    if node.flags & flags::CNAME != 0
        && let Some(set) = zone.rrset_of(node, T_CNAME)
    {
        write_rrset(ctx, q, w, Section::Answer, owner, set);
        let target = crate::zone::Tails::new(zone.bytes(set.records))
            .next()
            .map(|(_, _, data)| data.to_vec());
        return match target {
            Some(t) => Next::Follow(t),
            None => Next::Done,
        };
    }
    nodata(ctx, name, id, wildcard)
}

fn nodata(ctx: &mut Ctx<'_>, name: &Current, id: u32, wildcard: bool) -> Next {
    ctx.negative = true;
    ctx.auth.push(Auth::Soa);
    if ctx.dnssec_ok {
        dnssec::nodata_proof(ctx, name, id, wildcard);
    }
    Next::Done
}

/// A referral to the delegation at `name`'s suffix `j` (node `id`).
fn referral(ctx: &mut Ctx<'_>, name: &Current, j: usize, id: u32, _w: &mut Writer<'_>) {
    // AA is about the query name: a chain that leads into a delegation keeps it set
    // (RFC 1035 section 4.1.1).
    if ctx.depth == 0 {
        ctx.authoritative = false;
        ctx.rrl_name = Some(hash_name(name.suffix(j)));
    }
    ctx.auth.push(Auth::Rrset(id, T_NS));
    // DS and its proofs come from signed zones only (RFC 4035 section 3.1.4).
    if ctx.dnssec_ok && ctx.zone.is_signed() {
        let node = ctx.zone.node(id);
        if ctx.zone.rrset_of(node, T_DS).is_some() {
            ctx.auth.push(Auth::Rrset(id, T_DS));
        } else {
            dnssec::no_ds_proof(ctx, id);
        }
    }
    ctx.glue_for = Some((id, true));
}

/// A DNAME at `name`'s suffix `j`: the DNAME, a synthesised CNAME, and on to its target.
fn dname(
    ctx: &mut Ctx<'_>,
    name: &Current,
    j: usize,
    id: u32,
    node: &Node,
    q: &Query<'_>,
    w: &mut Writer<'_>,
) -> Next {
    let zone = ctx.zone;
    let Some(set) = zone.rrset_of(node, T_DNAME) else {
        return Next::Done;
    };
    write_rrset(ctx, q, w, Section::Answer, name.owner(j), set);
    let Some((_, ttl, target)) = crate::zone::Tails::new(zone.bytes(set.records)).next() else {
        return Next::Done;
    };
    // The part of the name below the DNAME owner, then the DNAME's target.
    let head = &name.wire[..name.labels[j] as usize];
    if head.len() + target.len() > 255 {
        ctx.rcode = YXDOMAIN;
        return Next::Done;
    }
    let mut synthesized = Vec::with_capacity(head.len() + target.len());
    synthesized.extend_from_slice(head);
    synthesized.extend_from_slice(target);
    w.synthesized(
        Section::Answer,
        name.owner(0),
        q,
        T_CNAME,
        ttl,
        &synthesized,
    );
    let _ = id;
    if ctx.qtype == T_CNAME {
        return Next::Done;
    }
    Next::Follow(synthesized)
}

fn write_rrset(
    ctx: &Ctx<'_>,
    q: &Query<'_>,
    w: &mut Writer<'_>,
    section: Section,
    owner: Owner<'_>,
    set: &Rrset,
) {
    let zone = ctx.zone;
    w.records(
        section,
        owner,
        q,
        zone.bytes(set.records),
        set.records.count,
    );
    if ctx.dnssec_ok {
        w.records(section, owner, q, zone.bytes(set.sigs), set.sigs.count);
    }
}

fn write_auth(ctx: &Ctx<'_>, q: &Query<'_>, w: &mut Writer<'_>, item: Auth) {
    let zone = ctx.zone;
    match item {
        Auth::Soa => {
            let apex = zone.apex_node();
            let Some(set) = zone.rrset_of(apex, T_SOA) else {
                return;
            };
            // The apex is a suffix of the question name when the answer is for it; not after
            // a CNAME chain into a sibling name, but the apex is then still a suffix, since
            // chains are followed only inside the zone.
            let owner = apex_owner(q, zone);
            let ttl = zone.negative_ttl();
            if let Some((_, _, _)) = crate::zone::Tails::new(zone.bytes(set.records)).next() {
                w.record_with_ttl(Section::Authority, owner, q, zone.bytes(set.records), ttl);
            }
            if ctx.dnssec_ok {
                for (_, _, _) in crate::zone::Tails::new(zone.bytes(set.sigs)) {}
                write_sigs_with_ttl(w, q, owner, zone.bytes(set.sigs), ttl);
            }
        }
        Auth::Rrset(id, rtype) => {
            let node = zone.node(id);
            let Some(set) = zone.rrset_of(node, rtype) else {
                return;
            };
            let owner = owner_of(q, zone.name(id));
            write_rrset(ctx, q, w, Section::Authority, owner, set);
        }
    }
}

/// RRSIGs of the SOA in a negative answer take the negative TTL too (RFC 4035 section 3.1.3).
fn write_sigs_with_ttl(w: &mut Writer<'_>, q: &Query<'_>, owner: Owner<'_>, sigs: &[u8], ttl: u32) {
    let mut rest = sigs;
    while rest.len() >= 10 {
        let len = 10 + u16::from_be_bytes([rest[8], rest[9]]) as usize;
        let Some(one) = rest.get(..len) else { break };
        w.record_with_ttl(Section::Authority, owner, q, one, ttl);
        rest = &rest[len..];
    }
}

/// The owner for a name: a pointer when it is a suffix of the question name.
fn owner_of<'a>(q: &Query<'_>, wire: &'a [u8]) -> Owner<'a> {
    (0..=q.label_count)
        .find(|&i| q.suffix(i) == wire)
        .map_or(Owner::Name(wire), Owner::Suffix)
}

fn apex_owner<'a>(q: &Query<'_>, zone: &'a Zone) -> Owner<'a> {
    owner_of(q, zone.apex().wire())
}

/// Addresses of the in-zone targets of an NS RRset: glue below a delegation, or the
/// zone's own (signed, with their RRSIGs when DO is set) for an NS answer.
fn write_glue(ctx: &Ctx<'_>, q: &Query<'_>, w: &mut Writer<'_>, id: u32) {
    let zone = ctx.zone;
    let Some(set) = zone.rrset_of(zone.node(id), T_NS) else {
        return;
    };
    let mut lower = [0u8; 255];
    for (_, _, target) in crate::zone::Tails::new(zone.bytes(set.records)) {
        let Some(dst) = lower.get_mut(..target.len()) else {
            continue;
        };
        for (d, s) in dst.iter_mut().zip(target) {
            *d = s.to_ascii_lowercase();
        }
        let Some((tid, tnode)) = zone.lookup(dst) else {
            continue;
        };
        for rtype in [T_A, T_AAAA] {
            if let Some(addr) = zone.rrset_of(tnode, rtype) {
                let owner = owner_of(q, zone.name(tid));
                write_rrset(ctx, q, w, Section::Additional, owner, addr);
            }
        }
    }
}

#[cfg(test)]
mod tests;
