//! The one shape of a DNS record inside Apex: [`ZoneRecord`], owner and data in canonical wire
//! form (RFC 4034 section 6.2), and the canonical order of records (owner as RFC 4034 section
//! 6.1 orders names, then type, then data) with the sort and merge every part of the crate
//! uses. Zone files, rendering, signing, the live zone, the stored versions and transfers all
//! carry records in this shape; hickory's `Record` appears only at the wire edge (a
//! nameserver's answers, [`ZoneRecord::from_record`]).

use std::cmp::Ordering;

use crate::dname::DName;
use crate::rdata::RrType;

/// One record: what a zone file line, a rendered zone, a signer's output or a transfer holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneRecord {
    /// Owner, absolute.
    pub name: DName,
    /// TTL in seconds.
    pub ttl: u32,
    /// Type.
    pub rtype: RrType,
    /// Data in canonical wire form.
    pub rdata: Box<[u8]>,
    /// The record's comment.
    pub comment: Option<String>,
    /// The line it came from (0 when not read from a file).
    pub line: u32,
}

impl ZoneRecord {
    /// A record with no comment and no line.
    pub fn new(name: DName, ttl: u32, rtype: RrType, rdata: Box<[u8]>) -> Self {
        Self {
            name,
            ttl,
            rtype,
            rdata,
            comment: None,
            line: 0,
        }
    }

    /// From a hickory record (the wire edge), data in canonical wire form.
    pub fn from_record(r: &hickory_proto::rr::Record) -> Result<Self, crate::rdata::WireError> {
        use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};
        let mut wire = Vec::with_capacity(64);
        let mut enc = BinEncoder::new(&mut wire);
        // Canonical form: names uncompressed and lowercase (RFC 4034 section 6.2).
        enc.set_canonical_form(true);
        r.data
            .emit(&mut enc)
            .map_err(|e| crate::rdata::WireError(e.to_string()))?;
        Ok(Self::new(
            DName::from_name(&r.name),
            r.ttl,
            RrType(u16::from(r.record_type())),
            wire.into_boxed_slice(),
        ))
    }

    /// To a hickory record for the wire edge (an answer, a transfer): the data decoded for the
    /// types hickory needs typed, carried as bytes otherwise ([`crate::content::to_rdata`]).
    pub fn to_record(&self) -> Result<hickory_proto::rr::Record, crate::rdata::WireError> {
        let data = crate::content::to_rdata(self.rtype, &self.rdata)?;
        Ok(hickory_proto::rr::Record::from_rdata(
            self.name.to_name(),
            self.ttl,
            data,
        ))
    }

    /// Canonical order: owner (RFC 4034 section 6.1), type, data.
    pub fn canonical_cmp(&self, other: &Self) -> Ordering {
        self.name
            .cmp(&other.name)
            .then_with(|| self.rtype.cmp(&other.rtype))
            .then_with(|| self.rdata.cmp(&other.rdata))
    }
}

/// Merges two runs each in canonical order into one.
pub fn merge_canonical(a: Vec<ZoneRecord>, b: Vec<ZoneRecord>) -> Vec<ZoneRecord> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let mut a = a.into_iter().peekable();
    let mut b = b.into_iter().peekable();
    loop {
        let take_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => x.canonical_cmp(y) != Ordering::Greater,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return out,
        };
        out.extend(if take_a { a.next() } else { b.next() });
    }
}

/// Sorts records in canonical order (owner, type, data), comparing precomputed name keys
/// rather than names label by label. Records already in order (a signer's output) are only
/// checked.
pub fn sort_canonical(records: &mut [ZoneRecord]) {
    if records.is_sorted_by(|a, b| a.canonical_cmp(b) != Ordering::Greater) {
        return;
    }
    let mut keys: Vec<(Box<[u8]>, usize)> = Vec::with_capacity(records.len());
    let mut last: Option<(&DName, Box<[u8]>)> = None;
    for (i, r) in records.iter().enumerate() {
        // Records of one owner usually come together: compute its key once.
        let key = match &last {
            Some((name, key)) if *name == &r.name => key.clone(),
            _ => r.name.canonical_key(),
        };
        last = Some((&r.name, key.clone()));
        keys.push((key, i));
    }
    keys.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| records[a.1].rtype.cmp(&records[b.1].rtype))
            .then_with(|| records[a.1].rdata.cmp(&records[b.1].rdata))
            .then(a.1.cmp(&b.1))
    });
    permute(records, keys.into_iter().map(|(_, i)| i).collect());
}

/// Reorders `records` so that position k holds what was at `order[k]`.
pub(crate) fn permute(records: &mut [ZoneRecord], mut order: Vec<usize>) {
    for start in 0..order.len() {
        let mut current = start;
        while order[current] != start {
            let next = order[current];
            records.swap(current, next);
            order[current] = current;
            current = next;
        }
        order[current] = current;
    }
}
