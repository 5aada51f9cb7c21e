//! A published zone kept in memory between publishes, so that a change costs time in
//! proportion to the change, not to the zone: the records it touches are swapped, and when the
//! zone is signed, only the touched RRsets are signed again and only the NSEC or NSEC3 records
//! whose next-name field or type bitmap moved are rebuilt (incremental signing).
//!
//! A [`LiveZone`] starts from a whole zone as [`crate::sign::sign_zone`] produced it (or an
//! unsigned one), and [`LiveZone::apply`] takes the unsigned records removed and added by a
//! change and returns the change to the signed zone, as an IXFR step wants it. Changes that
//! would move the zone's structure (delegations, DNAMEs, the keys or the denial TTL) are not
//! done here: `apply` answers [`LiveError::NeedsFullSign`] and the caller signs the whole
//! zone. The result of any sequence of `apply` calls is the zone `sign_zone` would make from
//! the same records, signatures aside (their validity times are those of the step that made
//! them); `tests/live.rs` checks this.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound::{Excluded, Unbounded};

use crate::dname::DName;
use crate::rdata::{RrType, decode_base32hex};
use crate::record::{ZoneRecord, sort_canonical};
use crate::sign::{
    Denial, SignError, SignParams, SigningKey, ToSign, base32hex, denial_ttl, nsec3_hash, record,
    sign_set, signers, type_bitmap,
};

/// Why a change was not applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LiveError {
    /// The change moves the zone's structure (or the zone in memory is not the one the change
    /// was made against): sign the whole zone instead. Nothing was changed.
    #[error("needs a full signing: {0}")]
    NeedsFullSign(&'static str),
    /// Signing failed; the zone in memory is no longer usable.
    #[error(transparent)]
    Sign(#[from] SignError),
}

/// What a change did to the zone as served: records removed and added, each list starting
/// with an SOA when the change carries one (as RFC 1995 orders an IXFR step).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Delta {
    /// Records no longer in the zone.
    pub removed: Vec<ZoneRecord>,
    /// Records new in the zone.
    pub added: Vec<ZoneRecord>,
}

/// One NSEC3 record's place in the chain.
struct Nsec3Entry {
    /// The type bitmap it must carry.
    bitmap: Vec<u8>,
    /// The record as published (None while being rebuilt).
    record: Option<ZoneRecord>,
}

struct Signing {
    keys: Vec<SigningKey>,
    denial: Denial,
    denial_ttl: u32,
    /// RRSIGs by owner and covered type (NSEC and NSEC3 included).
    sigs: HashMap<(DName, RrType), Vec<ZoneRecord>>,
    /// NSEC records by owner.
    nsec: BTreeMap<DName, ZoneRecord>,
    /// NSEC3 records by hash.
    nsec3: BTreeMap<[u8; 20], Nsec3Entry>,
    /// The NSEC3PARAM record.
    nsec3param: Option<ZoneRecord>,
}

/// A zone in memory.
pub struct LiveZone {
    apex: DName,
    /// The zone's data, signatures and denial records apart, by owner (canonical order) and
    /// type. DNSKEY, CDS and CDNSKEY are here too: they are data the signer added.
    data: BTreeMap<DName, BTreeMap<RrType, Vec<ZoneRecord>>>,
    signing: Option<Signing>,
    records: usize,
    /// Every record of the zone as served, signatures and denial records included.
    total: usize,
}

fn covered(rrsig: &ZoneRecord) -> Option<RrType> {
    let t = rrsig.rdata.get(..2)?;
    Some(RrType(u16::from_be_bytes([t[0], t[1]])))
}

fn nsec3_prefix(denial: &Denial) -> Vec<u8> {
    let (iterations, salt) = match denial {
        Denial::Nsec3 { iterations, salt } => (*iterations, salt.as_slice()),
        Denial::Nsec => (0, &[][..]),
    };
    let mut p = vec![1, 0];
    p.extend_from_slice(&iterations.to_be_bytes());
    p.push(salt.len() as u8);
    p.extend_from_slice(salt);
    p
}

impl LiveZone {
    /// An unsigned zone from its records.
    pub fn unsigned(apex: DName, records: Vec<ZoneRecord>) -> Self {
        let mut zone = Self {
            apex,
            data: BTreeMap::new(),
            signing: None,
            records: 0,
            total: 0,
        };
        for r in records {
            zone.insert_data(r);
        }
        zone.total = zone.records;
        zone
    }

    /// A signed zone from what [`crate::sign::sign_zone`] made with `keys` and `denial`.
    pub fn signed(
        apex: DName,
        signed: Vec<ZoneRecord>,
        keys: Vec<SigningKey>,
        denial: Denial,
    ) -> Result<Self, LiveError> {
        let total = signed.len();
        let mut zone = Self::unsigned(apex.clone(), Vec::new());
        zone.total = total;
        let mut s = Signing {
            keys,
            denial,
            denial_ttl: 0,
            sigs: HashMap::new(),
            nsec: BTreeMap::new(),
            nsec3: BTreeMap::new(),
            nsec3param: None,
        };
        let prefix = nsec3_prefix(&s.denial);
        for r in signed {
            match r.rtype {
                RrType::RRSIG => {
                    let t = covered(&r).ok_or(LiveError::NeedsFullSign("bad RRSIG"))?;
                    s.sigs.entry((r.name.clone(), t)).or_default().push(r);
                }
                RrType::NSEC => {
                    s.nsec.insert(r.name.clone(), r);
                }
                RrType::NSEC3 => {
                    let label = r.name.labels().next().unwrap_or_default();
                    let hash: [u8; 20] = decode_base32hex(label)
                        .and_then(|h| h.try_into().ok())
                        .ok_or(LiveError::NeedsFullSign("NSEC3 owner is not a hash"))?;
                    let bitmap = r
                        .rdata
                        .get(prefix.len() + 21..)
                        .ok_or(LiveError::NeedsFullSign("short NSEC3"))?
                        .to_vec();
                    s.nsec3.insert(
                        hash,
                        Nsec3Entry {
                            bitmap,
                            record: Some(r),
                        },
                    );
                }
                RrType::NSEC3PARAM => s.nsec3param = Some(r),
                _ => zone.insert_data(r),
            }
        }
        let soa = zone
            .rrset(&apex, RrType::SOA)
            .and_then(|s| s.first())
            .ok_or(LiveError::Sign(SignError::NoSoa))?;
        s.denial_ttl = denial_ttl(soa);
        zone.signing = Some(s);
        Ok(zone)
    }

    /// Is the zone signed?
    pub fn is_signed(&self) -> bool {
        self.signing.is_some()
    }

    /// The keys the zone is signed with.
    pub fn keys(&self) -> &[SigningKey] {
        self.signing.as_ref().map_or(&[], |s| &s.keys)
    }

    /// How the zone denies existence, if signed.
    pub fn denial(&self) -> Option<&Denial> {
        self.signing.as_ref().map(|s| &s.denial)
    }

    /// Records of the data (signatures and denial records not counted).
    pub fn data_len(&self) -> usize {
        self.records
    }

    /// Records in the zone as served (signatures and denial records included).
    pub fn len(&self) -> usize {
        self.total
    }

    /// No records at all (never the case for a zone with its SOA).
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The records of one RRset.
    pub fn rrset(&self, owner: &DName, rtype: RrType) -> Option<&Vec<ZoneRecord>> {
        self.data.get(owner)?.get(&rtype)
    }

    /// The whole zone, in canonical order.
    pub fn records(&self) -> Vec<ZoneRecord> {
        let mut out: Vec<ZoneRecord> = self
            .data
            .values()
            .flat_map(|types| types.values().flatten().cloned())
            .collect();
        if let Some(s) = &self.signing {
            out.extend(s.sigs.values().flatten().cloned());
            out.extend(s.nsec.values().cloned());
            out.extend(s.nsec3.values().filter_map(|e| e.record.clone()));
            out.extend(s.nsec3param.clone());
        }
        sort_canonical(&mut out);
        out
    }

    fn insert_data(&mut self, r: ZoneRecord) {
        self.records += 1;
        self.data
            .entry(r.name.clone())
            .or_default()
            .entry(r.rtype)
            .or_default()
            .push(r);
    }

    fn has(&self, r: &ZoneRecord) -> bool {
        self.rrset(&r.name, r.rtype)
            .is_some_and(|set| set.iter().any(|x| x.rdata == r.rdata && x.ttl == r.ttl))
    }

    fn remove_data(&mut self, r: &ZoneRecord) {
        let Some(types) = self.data.get_mut(&r.name) else {
            return;
        };
        if let Some(set) = types.get_mut(&r.rtype)
            && let Some(at) = set
                .iter()
                .position(|x| x.rdata == r.rdata && x.ttl == r.ttl)
        {
            set.remove(at);
            self.records -= 1;
            if set.is_empty() {
                types.remove(&r.rtype);
            }
        }
        if types.is_empty() {
            self.data.remove(&r.name);
        }
    }

    /// A delegation point (NS below the apex).
    fn is_cut(&self, name: &DName) -> bool {
        *name != self.apex && self.rrset(name, RrType::NS).is_some()
    }

    /// Below a delegation or a DNAME: glue or hidden data, neither signed nor in the chain.
    fn occluded(&self, name: &DName) -> bool {
        let mut p = name.parent();
        while let Some(n) = p {
            if n == self.apex || !n.is_within(&self.apex) {
                return false;
            }
            if let Some(types) = self.data.get(&n)
                && (types.contains_key(&RrType::NS) || types.contains_key(&RrType::DNAME))
            {
                return true;
            }
            p = n.parent();
        }
        false
    }

    /// An authoritative name in the data (not occluded).
    fn authoritative(&self, name: &DName) -> bool {
        self.data.contains_key(name) && !self.occluded(name)
    }

    /// The first authoritative name after `name` in canonical order, wrapping to the apex.
    fn next_authoritative(&self, name: &DName) -> DName {
        self.data
            .range((Excluded(name.clone()), Unbounded))
            .map(|(n, _)| n)
            .find(|n| !self.occluded(n))
            .cloned()
            .unwrap_or_else(|| self.apex.clone())
    }

    /// The last authoritative name before `name` in canonical order, wrapping to the last.
    fn previous_authoritative(&self, name: &DName) -> Option<DName> {
        self.data
            .range(..name.clone())
            .rev()
            .map(|(n, _)| n)
            .find(|n| !self.occluded(n))
            .or_else(|| {
                self.data
                    .keys()
                    .rev()
                    .find(|n| *n != name && !self.occluded(n))
            })
            .cloned()
    }

    /// Has `name` a name below it in the data? (Canonical order puts descendants right after
    /// their ancestor.)
    fn has_descendant(&self, name: &DName) -> bool {
        self.data
            .range((Excluded(name.clone()), Unbounded))
            .next()
            .is_some_and(|(n, _)| n.is_within(name))
    }

    fn sign_rrset(
        &self,
        owner: &DName,
        rtype: RrType,
        rdatas: Vec<Box<[u8]>>,
        ttl: u32,
        params: &SignParams,
    ) -> Result<Vec<ZoneRecord>, SignError> {
        let Some(s) = &self.signing else {
            return Ok(Vec::new());
        };
        let (zone_keys, sep_keys) = signers(&s.keys);
        let by_sep =
            *owner == self.apex && matches!(rtype, RrType::DNSKEY | RrType::CDS | RrType::CDNSKEY);
        let set = ToSign {
            owner: owner.clone(),
            rtype,
            ttl,
            rdatas,
            by_sep,
        };
        let mut out = Vec::new();
        sign_set(&set, &zone_keys, &sep_keys, &self.apex, params, &mut out)?;
        Ok(out)
    }

    /// Applies a change: `removed` and `added` are unsigned records (an SOA change included
    /// as the old SOA removed and the new one added). Returns what changed in the zone as
    /// served; `params` gives the new signatures' validity and must name the zone's denial.
    pub fn apply(
        &mut self,
        removed: Vec<ZoneRecord>,
        added: Vec<ZoneRecord>,
        params: &SignParams,
    ) -> Result<Delta, LiveError> {
        // Checks first: on NeedsFullSign nothing has changed.
        for r in removed.iter().chain(&added) {
            if !r.name.is_within(&self.apex) {
                return Err(LiveError::NeedsFullSign("record outside the zone"));
            }
            let structural = matches!(
                r.rtype,
                RrType::RRSIG
                    | RrType::NSEC
                    | RrType::NSEC3
                    | RrType::NSEC3PARAM
                    | RrType::DNSKEY
                    | RrType::CDS
                    | RrType::CDNSKEY
                    | RrType::DNAME
            ) || (r.rtype == RrType::NS && r.name != self.apex);
            if structural && self.signing.is_some() {
                return Err(LiveError::NeedsFullSign(
                    "the change moves the zone's structure",
                ));
            }
        }
        for r in &removed {
            if !self.has(r) {
                return Err(LiveError::NeedsFullSign(
                    "a removed record is not in the zone in memory",
                ));
            }
        }
        if let Some(s) = &self.signing {
            if s.denial != params.denial {
                return Err(LiveError::NeedsFullSign("the denial parameters changed"));
            }
            if let Some(soa) = added.iter().find(|r| r.rtype == RrType::SOA) {
                if denial_ttl(soa) != s.denial_ttl {
                    return Err(LiveError::NeedsFullSign("the denial TTL changed"));
                }
                // The key RRsets take the SOA's TTL.
                let old_ttl = self
                    .rrset(&self.apex, RrType::SOA)
                    .and_then(|set| set.first())
                    .map(|r| r.ttl);
                if old_ttl != Some(soa.ttl) {
                    return Err(LiveError::NeedsFullSign("the SOA TTL changed"));
                }
            }
        }

        // The data. A record both removed and added (an unchanged record of a rewritten
        // RRset) is no change at all.
        let mut delta = Delta::default();
        let key = |r: &ZoneRecord| (r.name.clone(), r.rtype, r.ttl, r.rdata.clone());
        let removed_keys: BTreeSet<_> = removed.iter().map(key).collect();
        let added_keys: BTreeSet<_> = added.iter().map(key).collect();
        let mut touched: BTreeSet<(DName, RrType)> = BTreeSet::new();
        for r in removed {
            if !added_keys.contains(&key(&r)) {
                self.remove_data(&r);
                touched.insert((r.name.clone(), r.rtype));
                delta.removed.push(r);
            }
        }
        for r in added {
            if !removed_keys.contains(&key(&r)) && !self.has(&r) {
                touched.insert((r.name.clone(), r.rtype));
                delta.added.push(r.clone());
                self.insert_data(r);
            }
        }
        if self.signing.is_some() {
            self.resign(&touched, params, &mut delta)?;
        }
        self.total = (self.total + delta.added.len()).saturating_sub(delta.removed.len());
        for list in [&mut delta.removed, &mut delta.added] {
            if let Some(at) = list.iter().position(|r| r.rtype == RrType::SOA) {
                let soa = list.remove(at);
                list.insert(0, soa);
            }
        }
        Ok(delta)
    }

    fn take_sigs(&mut self, owner: &DName, rtype: RrType, delta: &mut Delta) {
        if let Some(s) = self.signing.as_mut()
            && let Some(old) = s.sigs.remove(&(owner.clone(), rtype))
        {
            delta.removed.extend(old);
        }
    }

    fn put_sigs(&mut self, owner: DName, rtype: RrType, sigs: Vec<ZoneRecord>, delta: &mut Delta) {
        delta.added.extend(sigs.iter().cloned());
        if let Some(s) = self.signing.as_mut()
            && !sigs.is_empty()
        {
            s.sigs.insert((owner, rtype), sigs);
        }
    }

    fn resign(
        &mut self,
        touched: &BTreeSet<(DName, RrType)>,
        params: &SignParams,
        delta: &mut Delta,
    ) -> Result<(), LiveError> {
        // The touched RRsets.
        for (owner, rtype) in touched {
            self.take_sigs(owner, *rtype, delta);
            if self.occluded(owner) || (self.is_cut(owner) && *rtype != RrType::DS) {
                continue;
            }
            if let Some(set) = self.rrset(owner, *rtype) {
                let ttl = set.iter().map(|r| r.ttl).min().unwrap_or(0);
                let rdatas = set.iter().map(|r| r.rdata.clone()).collect();
                let sigs = self.sign_rrset(owner, *rtype, rdatas, ttl, params)?;
                self.put_sigs(owner.clone(), *rtype, sigs, delta);
            }
        }
        let owners: BTreeSet<DName> = touched.iter().map(|(n, _)| n.clone()).collect();
        let nsec3 = self
            .signing
            .as_ref()
            .is_some_and(|s| matches!(s.denial, Denial::Nsec3 { .. }));
        if nsec3 {
            self.rechain_nsec3(&owners, params, delta)
        } else {
            self.rechain_nsec(&owners, params, delta)
        }
    }

    fn rechain_nsec(
        &mut self,
        owners: &BTreeSet<DName>,
        params: &SignParams,
        delta: &mut Delta,
    ) -> Result<(), LiveError> {
        let mut affected: BTreeSet<DName> = owners.clone();
        for o in owners {
            affected.extend(self.previous_authoritative(o));
        }
        let ttl = self.signing.as_ref().map_or(0, |s| s.denial_ttl);
        for name in affected {
            let wanted = if self.authoritative(&name) {
                let mut types: BTreeSet<u16> = self
                    .data
                    .get(&name)
                    .map(|t| t.keys().map(|t| t.0).collect())
                    .unwrap_or_default();
                types.insert(RrType::NSEC.0);
                types.insert(RrType::RRSIG.0);
                let mut rdata = self.next_authoritative(&name).wire().to_vec();
                rdata.extend(type_bitmap(&types));
                Some(record(&name, ttl, RrType::NSEC, rdata))
            } else {
                None
            };
            let current = self.signing.as_ref().and_then(|s| s.nsec.get(&name));
            if current == wanted.as_ref() {
                continue;
            }
            if let Some(old) = self.signing.as_mut().and_then(|s| s.nsec.remove(&name)) {
                delta.removed.push(old);
            }
            self.take_sigs(&name, RrType::NSEC, delta);
            if let Some(r) = wanted {
                let sigs =
                    self.sign_rrset(&name, RrType::NSEC, vec![r.rdata.clone()], ttl, params)?;
                self.put_sigs(name.clone(), RrType::NSEC, sigs, delta);
                delta.added.push(r.clone());
                if let Some(s) = self.signing.as_mut() {
                    s.nsec.insert(name, r);
                }
            }
        }
        Ok(())
    }

    /// The NSEC3 type bitmap `name` must have, or None when it has no NSEC3 record.
    fn nsec3_bitmap(&self, name: &DName) -> Option<Vec<u8>> {
        if self.occluded(name) {
            return None;
        }
        let mut types: BTreeSet<u16> = match self.data.get(name) {
            Some(t) => t.keys().map(|t| t.0).collect(),
            // An empty non-terminal.
            None if *name != self.apex && self.has_descendant(name) => BTreeSet::new(),
            None => return None,
        };
        if !types.is_empty() && (!self.is_cut(name) || types.contains(&RrType::DS.0)) {
            types.insert(RrType::RRSIG.0);
        }
        if *name == self.apex {
            types.insert(RrType::NSEC3PARAM.0);
        }
        Some(type_bitmap(&types))
    }

    fn rechain_nsec3(
        &mut self,
        owners: &BTreeSet<DName>,
        params: &SignParams,
        delta: &mut Delta,
    ) -> Result<(), LiveError> {
        let (iterations, salt) = match &params.denial {
            Denial::Nsec3 { iterations, salt } => (*iterations, salt.clone()),
            Denial::Nsec => return Ok(()),
        };
        // The touched names and their ancestors: empty non-terminals come and go with them.
        let mut names: BTreeSet<DName> = BTreeSet::new();
        for o in owners {
            let mut n = Some(o.clone());
            while let Some(name) = n {
                if !name.is_within(&self.apex) || !names.insert(name.clone()) {
                    break;
                }
                n = (name != self.apex).then(|| name.parent()).flatten();
            }
        }
        let mut dirty: BTreeSet<[u8; 20]> = BTreeSet::new();
        let mut moved: Vec<[u8; 20]> = Vec::new();
        for name in names {
            let hash = nsec3_hash(name.wire(), &salt, iterations);
            let wanted = self.nsec3_bitmap(&name);
            let Some(s) = self.signing.as_mut() else {
                return Ok(());
            };
            let gone = match (s.nsec3.get_mut(&hash), wanted) {
                (Some(entry), Some(bitmap)) => {
                    if entry.bitmap != bitmap {
                        entry.bitmap = bitmap;
                        dirty.insert(hash);
                    }
                    None
                }
                (None, Some(bitmap)) => {
                    s.nsec3.insert(
                        hash,
                        Nsec3Entry {
                            bitmap,
                            record: None,
                        },
                    );
                    dirty.insert(hash);
                    moved.push(hash);
                    None
                }
                (Some(_), None) => {
                    moved.push(hash);
                    s.nsec3.remove(&hash).and_then(|e| e.record)
                }
                (None, None) => None,
            };
            if let Some(old) = gone {
                let owner = old.name.clone();
                delta.removed.push(old);
                self.take_sigs(&owner, RrType::NSEC3, delta);
            }
        }
        let Some(s) = self.signing.as_ref() else {
            return Ok(());
        };
        // A hash that came or went changes its predecessor's next-hash field.
        for h in moved {
            if let Some((p, _)) = s
                .nsec3
                .range(..h)
                .next_back()
                .or(s.nsec3.iter().next_back())
            {
                dirty.insert(*p);
            }
        }
        let prefix = nsec3_prefix(&params.denial);
        let ttl = s.denial_ttl;
        for h in dirty {
            let Some(s) = self.signing.as_ref() else {
                break;
            };
            let Some(entry) = s.nsec3.get(&h) else {
                continue;
            };
            let next = s
                .nsec3
                .range((Excluded(h), Unbounded))
                .next()
                .or(s.nsec3.iter().next())
                .map_or(h, |(n, _)| *n);
            let mut rdata = prefix.clone();
            rdata.push(20);
            rdata.extend_from_slice(&next);
            rdata.extend_from_slice(&entry.bitmap);
            if entry.record.as_ref().is_some_and(|r| *r.rdata == *rdata) {
                continue;
            }
            let owner = DName::parse(base32hex(&h).as_bytes(), Some(&self.apex))
                .map_err(|e| SignError::Key(e.to_string()))?;
            let r = record(&owner, ttl, RrType::NSEC3, rdata);
            let sigs =
                self.sign_rrset(&owner, RrType::NSEC3, vec![r.rdata.clone()], ttl, params)?;
            self.take_sigs(&owner, RrType::NSEC3, delta);
            self.put_sigs(owner, RrType::NSEC3, sigs, delta);
            if let Some(entry) = self.signing.as_mut().and_then(|s| s.nsec3.get_mut(&h)) {
                if let Some(old) = entry.record.replace(r.clone()) {
                    delta.removed.push(old);
                }
                delta.added.push(r);
            }
        }
        Ok(())
    }
}
