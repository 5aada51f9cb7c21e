//! Writing a reply into one reused buffer: the header, the question copied from the request,
//! then records as an owner name plus a pre-encoded tail from the zone's arena. Owner names
//! that are the question name or one of its ancestors are written as compression pointers
//! into the question (RFC 1035 section 4.1.4); other owners are written in full.

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
    /// Any other name, in lowercase wire form.
    Name(&'a [u8]),
}

/// The reply being built.
pub struct Writer<'b> {
    buf: &'b mut Vec<u8>,
    counts: [u16; 3],
}

/// Header flag bits.
pub mod flag {
    /// Authoritative answer.
    pub const AA: u16 = 0x0400;
    /// Truncated.
    pub const TC: u16 = 0x0200;
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
        Self {
            buf,
            counts: [0; 3],
        }
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
        }
    }

    /// Current length.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    fn owner(&mut self, owner: Owner<'_>, q: &Query<'_>) {
        match owner {
            Owner::Suffix(i) => {
                let offset = 12 + u16::from(q.labels[i]);
                self.buf.extend_from_slice(&(0xc000 | offset).to_be_bytes());
            }
            Owner::Name(wire) => self.buf.extend_from_slice(wire),
        }
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
            let len = 10 + u16::from_be_bytes([rest[8], rest[9]]) as usize;
            self.owner(owner, q);
            self.buf.extend_from_slice(&rest[..len.min(rest.len())]);
            rest = &rest[len.min(rest.len())..];
        }
        self.counts[section as usize] += count;
    }

    /// Writes one record with `ttl` replaced (wildcard answers keep the wildcard's TTL; a
    /// negative answer's SOA takes the negative TTL).
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
        self.owner(owner, q);
        self.buf.extend_from_slice(&tail[..4]);
        self.buf.extend_from_slice(&ttl.to_be_bytes());
        self.buf.extend_from_slice(&tail[8..]);
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
        self.buf.extend_from_slice(&rtype.to_be_bytes());
        self.buf.extend_from_slice(&1u16.to_be_bytes());
        self.buf.extend_from_slice(&ttl.to_be_bytes());
        self.buf
            .extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        self.buf.extend_from_slice(rdata);
        self.counts[section as usize] += 1;
    }

    /// A mark to roll back to if what follows does not fit.
    pub fn mark(&self) -> (usize, [u16; 3]) {
        (self.buf.len(), self.counts)
    }

    /// Rolls back to a mark.
    pub fn reset(&mut self, mark: (usize, [u16; 3])) {
        self.buf.truncate(mark.0);
        self.counts = mark.1;
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

    /// Appends the OPT record (counted in additional) and finishes the counts.
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
