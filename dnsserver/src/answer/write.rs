//! Writing a reply into one reused buffer: the header, the question copied from the request,
//! then records as an owner name plus a pre-encoded tail from the zone's arena.
//!
//! Names are compressed (RFC 1035 section 4.1.4) as NSD and BIND do: an owner that is the
//! question name or one of its ancestors is a pointer into the question; any other owner, and
//! the names inside NS, CNAME, SOA, MX, PTR and the other RFC 1035 types, point to the
//! longest suffix already in the message (matched without regard to case, so the question's
//! case shows through, as in NSD). Names in newer types (SRV, DNAME, RRSIG, NSEC) are never
//! compressed (RFC 3597 section 4). Compressed sizes decide truncation, so they matter.

use super::parse::Query;

/// Where records go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Answer.
    Answer,
    /// Authority.
    Authority,
    /// Additional.
    Additional,
}

/// An owner name for a record being written.
#[derive(Debug, Clone, Copy)]
pub enum Owner<'a> {
    /// The question name or its suffix from label `i` (a pointer into the question).
    Suffix(usize),
    /// Any other name, in wire form.
    Name(&'a [u8]),
}

/// Most names remembered for compression.
const TABLE: usize = 96;

/// The reply being built.
pub struct Writer<'b> {
    buf: &'b mut Vec<u8>,
    counts: [u16; 3],
    /// Offsets of names (and their suffixes) written so far, that later names may point to.
    table: [u16; TABLE],
    entries: usize,
}

/// A point to roll back to.
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    len: usize,
    counts: [u16; 3],
    entries: usize,
}

/// Header flag bits.
pub mod flag {
    /// Authoritative answer.
    pub const AA: u16 = 0x0400;
    /// Truncated.
    pub const TC: u16 = 0x0200;
}

/// Whether `rtype`'s data holds names that may be compressed, and where: (octets before the
/// first name, number of names).
fn compressible(rtype: u16) -> Option<(usize, usize)> {
    match rtype {
        2..=5 | 7..=9 | 12 => Some((0, 1)), // NS MD MF CNAME MB MG MR PTR
        6 | 14 => Some((0, 2)),             // SOA MINFO
        15 => Some((2, 1)),                 // MX
        _ => None,
    }
}

impl<'b> Writer<'b> {
    /// Starts a reply to `q` with `rcode` (low 4 bits) and `flags`.
    pub fn new(buf: &'b mut Vec<u8>, q: &Query<'_>, rcode: u8, flags: u16) -> Self {
        buf.clear();
        let question = &q.packet[12..q.question_end];
        buf.extend_from_slice(&q.id.to_be_bytes());
        let mut f: u16 = 0x8000 | (u16::from(q.opcode) << 11) | flags | u16::from(rcode & 0x0f);
        if q.rd {
            f |= 0x0100;
        }
        if q.cd {
            f |= 0x0010;
        }
        buf.extend_from_slice(&f.to_be_bytes());
        buf.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
        buf.extend_from_slice(question);
        let mut w = Self {
            buf,
            counts: [0; 3],
            table: [0; TABLE],
            entries: 0,
        };
        for i in 0..q.label_count.min(TABLE) {
            w.table[i] = 12 + u16::from(q.labels[i]);
        }
        w.entries = q.label_count.min(TABLE);
        w
    }

    /// A reply with only a header (no question could be read).
    pub fn bare(buf: &'b mut Vec<u8>, packet: &[u8], rcode: u8) -> Self {
        buf.clear();
        buf.extend_from_slice(&packet[..2]);
        let opcode = packet[2] & 0x78;
        buf.push(0x80 | opcode | (packet[2] & 0x01));
        buf.push(rcode & 0x0f);
        buf.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        Self {
            buf,
            counts: [0; 3],
            table: [0; TABLE],
            entries: 0,
        }
    }

    /// Current length.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether the name at `offset` in the message equals `name` (wire form, uncompressed),
    /// ignoring case.
    fn equals_at(&self, mut offset: usize, name: &[u8]) -> bool {
        let mut pos = 0;
        let mut jumps = 0;
        loop {
            let Some(&len) = self.buf.get(offset) else {
                return false;
            };
            if len & 0xc0 == 0xc0 {
                let Some(&lo) = self.buf.get(offset + 1) else {
                    return false;
                };
                offset = (usize::from(len & 0x3f) << 8) | usize::from(lo);
                jumps += 1;
                if jumps > 64 {
                    return false;
                }
                continue;
            }
            let len = usize::from(len);
            if name.get(pos) != Some(&(len as u8)) {
                return false;
            }
            if len == 0 {
                return true;
            }
            let (Some(a), Some(b)) = (
                self.buf.get(offset + 1..offset + 1 + len),
                name.get(pos + 1..pos + 1 + len),
            ) else {
                return false;
            };
            if !a.eq_ignore_ascii_case(b) {
                return false;
            }
            offset += 1 + len;
            pos += 1 + len;
        }
    }

    fn find(&self, suffix: &[u8]) -> Option<u16> {
        self.table[..self.entries]
            .iter()
            .copied()
            .find(|&o| self.equals_at(usize::from(o), suffix))
    }

    /// Writes `name` compressed against the names already in the message.
    fn name(&mut self, name: &[u8]) {
        // The longest suffix already present.
        let mut pos = 0;
        let mut target = None;
        while let Some(&len) = name.get(pos) {
            if len == 0 {
                break;
            }
            if let Some(o) = self.find(&name[pos..]) {
                target = Some(o);
                break;
            }
            pos += 1 + usize::from(len);
        }
        // The labels before it, each remembered for later names.
        let mut p = 0;
        while p < pos {
            let start = self.buf.len();
            if start < 0x3fff && self.entries < TABLE {
                self.table[self.entries] = start as u16;
                self.entries += 1;
            }
            let len = usize::from(name[p]);
            self.buf.extend_from_slice(&name[p..p + 1 + len]);
            p += 1 + len;
        }
        match target {
            Some(o) => self.buf.extend_from_slice(&(0xc000 | o).to_be_bytes()),
            None => self.buf.push(0),
        }
    }

    fn owner(&mut self, owner: Owner<'_>, q: &Query<'_>) {
        match owner {
            Owner::Suffix(i) => {
                let offset = 12 + u16::from(q.labels[i]);
                self.buf.extend_from_slice(&(0xc000 | offset).to_be_bytes());
            }
            Owner::Name(wire) => self.name(wire),
        }
    }

    /// Writes one pre-encoded tail (type, class, TTL, length, data) with `ttl` if given,
    /// compressing the names in its data where the type allows.
    fn tail(&mut self, tail: &[u8], ttl: Option<u32>) {
        let rtype = u16::from_be_bytes([tail[0], tail[1]]);
        self.buf.extend_from_slice(&tail[..4]);
        match ttl {
            Some(t) => self.buf.extend_from_slice(&t.to_be_bytes()),
            None => self.buf.extend_from_slice(&tail[4..8]),
        }
        let rdata = &tail[10..];
        let Some((before, names)) = compressible(rtype) else {
            self.buf.extend_from_slice(&tail[8..]);
            return;
        };
        let len_at = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        let start = self.buf.len();
        let mut pos = before.min(rdata.len());
        self.buf.extend_from_slice(&rdata[..pos]);
        for _ in 0..names {
            let Some((end, ok)) = name_end(rdata, pos) else {
                // Not a well-formed name: copy the rest as it is.
                break;
            };
            if !ok {
                break;
            }
            self.name(&rdata[pos..end]);
            pos = end;
        }
        self.buf.extend_from_slice(&rdata[pos..]);
        let written = (self.buf.len() - start) as u16;
        self.buf[len_at..len_at + 2].copy_from_slice(&written.to_be_bytes());
    }

    /// Writes every record of `tails` (pre-encoded type..rdata) with `owner`.
    pub fn records(
        &mut self,
        section: Section,
        owner: Owner<'_>,
        q: &Query<'_>,
        tails: &[u8],
        count: u16,
    ) {
        if count == 0 {
            return;
        }
        let mut rest = tails;
        while rest.len() >= 10 {
            let len = (10 + u16::from_be_bytes([rest[8], rest[9]]) as usize).min(rest.len());
            self.owner(owner, q);
            self.tail(&rest[..len], None);
            rest = &rest[len..];
        }
        self.counts[section as usize] += count;
    }

    /// Writes one record with `ttl` replaced (a negative answer's SOA takes the negative TTL).
    pub fn record_with_ttl(
        &mut self,
        section: Section,
        owner: Owner<'_>,
        q: &Query<'_>,
        tail: &[u8],
        ttl: u32,
    ) {
        if tail.len() < 10 {
            return;
        }
        let len = (10 + u16::from_be_bytes([tail[8], tail[9]]) as usize).min(tail.len());
        self.owner(owner, q);
        self.tail(&tail[..len], Some(ttl));
        self.counts[section as usize] += 1;
    }

    /// Writes one record from parts (synthesised CNAMEs of DNAME answers).
    pub fn synthesized(
        &mut self,
        section: Section,
        owner: Owner<'_>,
        q: &Query<'_>,
        rtype: u16,
        ttl: u32,
        rdata: &[u8],
    ) {
        self.owner(owner, q);
        let mut tail = Vec::with_capacity(10 + rdata.len());
        tail.extend_from_slice(&rtype.to_be_bytes());
        tail.extend_from_slice(&1u16.to_be_bytes());
        tail.extend_from_slice(&ttl.to_be_bytes());
        tail.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        tail.extend_from_slice(rdata);
        self.tail(&tail, None);
        self.counts[section as usize] += 1;
    }

    /// A mark to roll back to if what follows does not fit.
    pub fn mark(&self) -> Mark {
        Mark {
            len: self.buf.len(),
            counts: self.counts,
            entries: self.entries,
        }
    }

    /// Rolls back to a mark.
    pub fn reset(&mut self, mark: Mark) {
        self.buf.truncate(mark.len);
        self.counts = mark.counts;
        self.entries = mark.entries;
    }

    /// Clears header flags.
    pub fn clear_flags(&mut self, flags: u16) {
        let f = u16::from_be_bytes([self.buf[2], self.buf[3]]) & !flags;
        self.buf[2..4].copy_from_slice(&f.to_be_bytes());
    }

    /// Sets the rcode (low 4 bits in the header; the high bits go in OPT).
    pub fn set_rcode(&mut self, rcode: u8) {
        self.buf[3] = (self.buf[3] & 0xf0) | (rcode & 0x0f);
    }

    /// Appends the OPT record (counted in additional).
    pub fn opt(&mut self, payload: u16, dnssec_ok: bool, ext_rcode: u8) {
        self.buf.push(0);
        self.buf.extend_from_slice(&41u16.to_be_bytes());
        self.buf.extend_from_slice(&payload.to_be_bytes());
        self.buf.push(ext_rcode);
        self.buf.push(0);
        self.buf.push(if dnssec_ok { 0x80 } else { 0 });
        self.buf.push(0);
        self.buf.extend_from_slice(&0u16.to_be_bytes());
        self.counts[Section::Additional as usize] += 1;
    }

    /// Writes the section counts into the header.
    pub fn finish(&mut self) {
        for (i, c) in self.counts.iter().enumerate() {
            let at = 6 + 2 * i;
            self.buf[at..at + 2].copy_from_slice(&c.to_be_bytes());
        }
    }
}

/// The end of the uncompressed name at `pos` in `data`, and whether it is well formed.
fn name_end(data: &[u8], mut pos: usize) -> Option<(usize, bool)> {
    loop {
        let len = usize::from(*data.get(pos)?);
        if len == 0 {
            return Some((pos + 1, true));
        }
        if len > 63 {
            return Some((pos, false));
        }
        pos += 1 + len;
    }
}
