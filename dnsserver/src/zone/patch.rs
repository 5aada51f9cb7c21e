//! Applying an incremental transfer (RFC 1995) to a zone: the owners the steps touch are
//! re-encoded into a new delta, everything else is shared with the version before, so the
//! work is in proportion to the change, not the zone.
//!
//! The new version is built whole instead (compaction) when the delta would outgrow an eighth
//! of the base, when a step changes a large part of the zone (a re-signing), or when the way
//! the zone proves non-existence changes (NSEC3 parameters, signing or unsigning).

use std::collections::HashMap;
use std::sync::Arc;

use apex_net::xfr::Delta as Step;
use apex_zone::dname::DName;
use apex_zone::rdata::RrType;
use apex_zone::record::{ZoneRecord, sort_canonical};

use super::{
    Base, Delta, Denial, Node, Rrset, SoaTimers, Zone, encode_owner, find_in, flags, node_in,
    nsec3_owner_hash, rrsets_in, soa_fields,
};

/// Smallest delta that triggers a compaction, whatever the base's size.
const MIN_COMPACT_BYTES: usize = 4 << 20;

impl Zone {
    /// The zone after the IXFR `steps` leading to `soa`. Each step must start from the serial
    /// reached so far and remove only records that are there: anything else means our copy
    /// and the primary's history disagree (the caller then transfers the whole zone).
    pub fn apply(&self, soa: ZoneRecord, steps: &[Step]) -> Result<Zone, String> {
        let mut serial = self.serial;
        // Each touched owner with its records as they become.
        let mut owners: HashMap<DName, Vec<ZoneRecord>> = HashMap::new();
        let mut touched = 0usize;
        for step in steps {
            if step.from != serial {
                return Err(format!(
                    "step from serial {} but we hold {serial}",
                    step.from
                ));
            }
            for r in &step.removed {
                let set = owners
                    .entry(r.name.clone())
                    .or_insert_with(|| self.owner_records(&r.name));
                let Some(i) = set
                    .iter()
                    .position(|x| x.rtype == r.rtype && x.rdata == r.rdata)
                else {
                    return Err(format!(
                        "removes {} type {}, which we do not have",
                        r.name, r.rtype.0
                    ));
                };
                set.swap_remove(i);
                touched += 1;
            }
            for r in &step.added {
                if !r.name.is_within(&self.apex) || r.rtype == RrType::SOA {
                    continue;
                }
                let set = owners
                    .entry(r.name.clone())
                    .or_insert_with(|| self.owner_records(&r.name));
                match set
                    .iter_mut()
                    .find(|x| x.rtype == r.rtype && x.rdata == r.rdata)
                {
                    Some(x) => x.ttl = r.ttl,
                    None => set.push(r.clone()),
                }
                touched += 1;
            }
            serial = step.to;
        }
        let apex_set = owners
            .entry(self.apex.clone())
            .or_insert_with(|| self.owner_records(&self.apex));
        apex_set.retain(|r| r.rtype != RrType::SOA);
        apex_set.push(ZoneRecord {
            name: self.apex.clone(),
            ..soa.clone()
        });
        let (new_serial, refresh, retry, expire, minimum) =
            soa_fields(&soa.rdata).ok_or_else(|| "the new SOA is malformed".to_string())?;

        if self.needs_rebuild(&owners, touched) {
            return self.rebuild(owners);
        }
        let mut zone = self.clone();
        let mut patch = Patch {
            base: &zone.base,
            delta: Arc::make_mut(&mut zone.delta),
            denial: &mut zone.denial,
            apex: &self.apex,
            fresh_from: 0,
            records: self.records,
            has_cuts: false,
            has_dnames: false,
        };
        patch.fresh_from = patch.base.t.nodes.len() + patch.delta.t.nodes.len();
        for (name, mut records) in owners {
            sort_canonical(&mut records);
            records.dedup_by(|a, b| a.name == b.name && a.rtype == b.rtype && a.rdata == b.rdata);
            patch.set_owner(&name, &records);
        }
        let (records, has_cuts, has_dnames) = (patch.records, patch.has_cuts, patch.has_dnames);
        zone.records = records;
        zone.has_cuts |= has_cuts;
        zone.has_dnames |= has_dnames;
        zone.serial = new_serial;
        zone.timers = SoaTimers::new(refresh, retry, expire);
        zone.negative_ttl = soa.ttl.min(minimum);
        Ok(zone)
    }

    /// The records at `name` now (RRSIGs among them).
    fn owner_records(&self, name: &DName) -> Vec<ZoneRecord> {
        let mut out = Vec::new();
        if let Some(id) = self.find_node(name.wire()) {
            self.node_records(name, self.node(id), &mut out);
        }
        out
    }

    /// Whether this change is better made by building the zone whole.
    fn needs_rebuild(&self, owners: &HashMap<DName, Vec<ZoneRecord>>, touched: usize) -> bool {
        let base_bytes = self.base.t.arena.len();
        if self.delta.heap_bytes() > MIN_COMPACT_BYTES.max(base_bytes / 8)
            || touched > 1000 && touched > self.records / 8
            || base_bytes + self.delta.t.arena.len() + touched * 512 > u32::MAX as usize
        {
            return true;
        }
        let has = |rtype: RrType| owners.values().flatten().any(|r| r.rtype == rtype);
        let param_now = owners.get(&self.apex).and_then(|set| {
            set.iter()
                .find(|r| r.rtype == RrType::NSEC3PARAM)
                .map(|r| r.rdata.clone())
        });
        let param_before = self
            .owner_records(&self.apex)
            .into_iter()
            .find(|r| r.rtype == RrType::NSEC3PARAM)
            .map(|r| r.rdata);
        match &self.denial {
            Denial::Nsec3 { .. } => param_now != param_before || has(RrType::NSEC),
            Denial::Nsec(_) => param_now.is_some() || has(RrType::NSEC3),
            Denial::None => param_now.is_some() || has(RrType::NSEC) || has(RrType::NSEC3),
        }
    }

    /// The new version built whole: every owner not touched as it is, the touched ones as
    /// they become.
    fn rebuild(&self, owners: HashMap<DName, Vec<ZoneRecord>>) -> Result<Zone, String> {
        let mut records = self.to_records();
        records.retain(|r| !owners.contains_key(&r.name));
        records.extend(owners.into_values().flatten());
        Zone::build_sized(self.apex.clone(), records).map_err(|e| e.to_string())
    }
}

/// A new version being written: the base it shares, the delta it owns.
struct Patch<'a> {
    base: &'a Base,
    delta: &'a mut Delta,
    denial: &'a mut Denial,
    apex: &'a DName,
    /// Nodes from this id on were made by this patch and may be changed in place.
    fresh_from: usize,
    records: usize,
    has_cuts: bool,
    has_dnames: bool,
}

impl Patch<'_> {
    fn find(&self, wire: &[u8]) -> Option<u32> {
        find_in(self.base, self.delta, wire)
    }

    fn node(&self, id: u32) -> Node {
        *node_in(self.base, self.delta, id)
    }

    /// The RRsets of a node.
    fn sets(&self, node: &Node) -> &[Rrset] {
        rrsets_in(self.base, self.delta, node)
    }

    fn holds(&self, node: &Node, rtype: RrType) -> bool {
        self.sets(node).iter().any(|s| s.rtype == rtype.0)
    }

    /// Records (RRSIGs included) a node holds.
    fn record_count(&self, node: &Node) -> usize {
        self.sets(node)
            .iter()
            .map(|s| usize::from(s.records.count) + usize::from(s.sigs.count))
            .sum()
    }

    /// Makes `node` the node of `name` (a new id; the old one stays for older versions).
    fn put(&mut self, name: &DName, node: Node) -> u32 {
        let id = (self.base.t.nodes.len() + self.delta.t.push(name.wire(), node)) as u32;
        self.delta.map.insert(name.wire().into(), Some(id));
        id
    }

    /// Changes the node of `name` (which exists): in place when this patch made it, else as a
    /// copy, whose id then replaces the old one in the chains.
    fn update(&mut self, name: &DName, change: impl FnOnce(&mut Node)) {
        let Some(id) = self.find(name.wire()) else {
            return;
        };
        let mut node = self.node(id);
        change(&mut node);
        if id as usize >= self.fresh_from {
            self.delta.t.nodes[id as usize - self.base.t.nodes.len()] = node;
        } else {
            let new = self.put(name, node);
            self.chain(name, &node, Some(new));
        }
    }

    /// Points the chains' entries for `name` (if its node holds NSEC or NSEC3) at `to`.
    fn chain(&mut self, name: &DName, node: &Node, to: Option<u32>) {
        let nsec = matches!(self.denial, Denial::Nsec(_)) && self.holds(node, RrType::NSEC);
        let nsec3 = matches!(self.denial, Denial::Nsec3 { .. }) && self.holds(node, RrType::NSEC3);
        match &mut *self.denial {
            Denial::Nsec(chain) if nsec => chain.set(name.canonical_key(), to),
            Denial::Nsec3 { chain, .. } if nsec3 => {
                if let Some(hash) = nsec3_owner_hash(name.wire()) {
                    chain.set(hash, to);
                }
            }
            _ => {}
        }
    }

    /// The parent of `name` within the zone (none for the apex).
    fn parent(&self, name: &DName) -> Option<DName> {
        (name != self.apex)
            .then(|| name.parent())
            .flatten()
            .filter(|p| p.is_within(self.apex))
    }

    /// Counts a new node below its parent, creating the parent (an empty non-terminal) and
    /// its own missing ancestors as needed.
    fn attach(&mut self, name: &DName) {
        let Some(parent) = self.parent(name) else {
            return;
        };
        if self.find(parent.wire()).is_some() {
            self.update(&parent, |n| n.children += 1);
        } else {
            self.put(
                &parent,
                Node {
                    children: 1,
                    ..Node::default()
                },
            );
            self.attach(&parent);
        }
    }

    /// Removes the node of `name` (no RRsets, no children), and its parent in turn when that
    /// was an empty non-terminal kept only by it.
    fn detach(&mut self, name: &DName) {
        self.delta.map.insert(name.wire().into(), None);
        let Some(parent) = self.parent(name) else {
            return;
        };
        let Some(pid) = self.find(parent.wire()) else {
            return;
        };
        let p = self.node(pid);
        if p.count == 0 && p.children <= 1 && &parent != self.apex {
            self.detach(&parent);
        } else {
            self.update(&parent, |n| n.children = n.children.saturating_sub(1));
        }
    }

    /// Gives `name` exactly `records` (sorted canonically; none: the name goes, or stays an
    /// empty non-terminal when names below it remain).
    fn set_owner(&mut self, name: &DName, records: &[ZoneRecord]) {
        let old = self.find(name.wire()).map(|id| (id, self.node(id)));
        if let Some((_, node)) = &old {
            self.records = self.records.saturating_sub(self.record_count(node));
            self.chain(name, node, None);
        }
        let wildcard_parent = name.is_wildcard().then(|| name.parent()).flatten();
        // Signatures alone are not kept (nothing they cover): the name holds nothing.
        if records.iter().all(|r| r.rtype == RrType::RRSIG) {
            let Some((_, node)) = old else { return };
            if node.children > 0 {
                self.put(
                    name,
                    Node {
                        children: node.children,
                        flags: node.flags & flags::WILDCARD_CHILD,
                        ..Node::default()
                    },
                );
            } else {
                self.detach(name);
            }
            if let Some(p) = wildcard_parent {
                self.update(&p, |n| n.flags &= !flags::WILDCARD_CHILD);
            }
            return;
        }
        let (rrset_base, arena_base) = (self.base.t.rrsets.len(), self.base.t.arena.len());
        let (mut node, count) = encode_owner(
            &mut self.delta.t,
            rrset_base,
            arena_base,
            records,
            name == self.apex,
        );
        self.records += count;
        self.has_cuts |= node.flags & flags::CUT != 0;
        self.has_dnames |= node.flags & flags::DNAME != 0;
        if let Some((_, before)) = &old {
            node.children = before.children;
            node.flags |= before.flags & flags::WILDCARD_CHILD;
        }
        let id = self.put(name, node);
        self.chain(name, &node, Some(id));
        if old.is_none() {
            self.attach(name);
        }
        if let Some(p) = wildcard_parent {
            self.update(&p, |n| n.flags |= flags::WILDCARD_CHILD);
        }
    }
}
