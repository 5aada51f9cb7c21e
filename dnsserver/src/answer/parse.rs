//! Reading a query straight from the packet: header, question (its name lowercased for lookup,
//! its bytes kept for the echo, case and all) and the EDNS OPT record. No allocation.

/// Largest name, in wire octets.
pub const MAX_NAME: usize = 255;

/// EDNS (RFC 6891) of a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edns {
    /// The requester's UDP payload size.
    pub payload: u16,
    /// DNSSEC OK.
    pub dnssec_ok: bool,
    /// EDNS version.
    pub version: u8,
}

/// A query, parsed.
#[derive(Debug, Clone)]
pub struct Query<'a> {
    /// The request as received.
    pub packet: &'a [u8],
    /// Message id.
    pub id: u16,
    /// RD and CD, to copy into the reply.
    pub rd: bool,
    /// Checking disabled.
    pub cd: bool,
    /// Opcode.
    pub opcode: u8,
    /// End of the question (offset after QCLASS).
    pub question_end: usize,
    /// The question name, lowercase wire form, in `name[..name_len]`.
    pub name: [u8; MAX_NAME],
    /// Its length.
    pub name_len: usize,
    /// Offsets of its labels (the suffix starting at each), leftmost first.
    pub labels: [u8; 128],
    /// How many labels.
    pub label_count: usize,
    /// QTYPE.
    pub qtype: u16,
    /// QCLASS.
    pub qclass: u16,
    /// EDNS, if the query has an OPT record.
    pub edns: Option<Edns>,
}

impl Query<'_> {
    /// The lowercase wire name.
    pub fn qname(&self) -> &[u8] {
        &self.name[..self.name_len]
    }

    /// The suffix of the question name starting at label `i` (0 is the whole name).
    pub fn suffix(&self, i: usize) -> &[u8] {
        &self.name[self.labels[i] as usize..self.name_len]
    }

    /// Whether DNSSEC records are wanted.
    pub fn dnssec_ok(&self) -> bool {
        self.edns.is_some_and(|e| e.dnssec_ok)
    }
}

/// What the packet turned out to be.
#[derive(Debug)]
// A query is a few hundred bytes on the stack: cheaper than a heap allocation per packet.
#[allow(clippy::large_enum_variant)]
pub enum Parsed<'a> {
    /// A query to answer.
    Query(Query<'a>),
    /// Not answerable here: NOTIFY, or signed with TSIG (the slow path decides).
    SlowPath,
    /// Answer with this rcode and the question echoed if it could be read.
    Error {
        /// The rcode.
        rcode: u8,
        /// End of the question, if it was read.
        question_end: Option<usize>,
    },
    /// No answer at all: not a query, or not even a header.
    Drop,
}

const OPCODE_QUERY: u8 = 0;
const OPCODE_NOTIFY: u8 = 4;
/// RFC 2136 UPDATE.
pub const OPCODE_UPDATE: u8 = 5;
/// FORMERR.
pub const FORMERR: u8 = 1;
/// NOTIMP.
pub const NOTIMP: u8 = 4;

/// Parses a query.
pub fn parse(packet: &[u8]) -> Parsed<'_> {
    if packet.len() < 12 || packet[2] & 0x80 != 0 {
        return Parsed::Drop;
    }
    let opcode = (packet[2] >> 3) & 0x0f;
    if opcode == OPCODE_NOTIFY || opcode == OPCODE_UPDATE {
        return Parsed::SlowPath;
    }
    let qdcount = u16::from_be_bytes([packet[4], packet[5]]);
    let ancount = u16::from_be_bytes([packet[6], packet[7]]);
    let nscount = u16::from_be_bytes([packet[8], packet[9]]);
    let arcount = u16::from_be_bytes([packet[10], packet[11]]);
    if opcode != OPCODE_QUERY {
        return Parsed::Error {
            rcode: NOTIMP,
            question_end: None,
        };
    }
    if qdcount != 1 {
        return Parsed::Error {
            rcode: FORMERR,
            question_end: None,
        };
    }
    let mut q = Query {
        packet,
        id: u16::from_be_bytes([packet[0], packet[1]]),
        rd: packet[2] & 0x01 != 0,
        cd: packet[3] & 0x10 != 0,
        opcode,
        question_end: 0,
        name: [0; MAX_NAME],
        name_len: 0,
        labels: [0; 128],
        label_count: 0,
        qtype: 0,
        qclass: 0,
        edns: None,
    };
    // The question name: plain labels only (no compression in a question).
    let mut pos = 12;
    loop {
        let Some(&len) = packet.get(pos) else {
            return Parsed::Error {
                rcode: FORMERR,
                question_end: None,
            };
        };
        if len & 0xc0 != 0 || (len as usize) > 63 {
            return Parsed::Error {
                rcode: FORMERR,
                question_end: None,
            };
        }
        let at = q.name_len;
        if at + 1 + len as usize > MAX_NAME {
            return Parsed::Error {
                rcode: FORMERR,
                question_end: None,
            };
        }
        if len == 0 {
            q.name[at] = 0;
            q.name_len = at + 1;
            pos += 1;
            break;
        }
        let Some(label) = packet.get(pos + 1..pos + 1 + len as usize) else {
            return Parsed::Error {
                rcode: FORMERR,
                question_end: None,
            };
        };
        q.labels[q.label_count] = at as u8;
        q.label_count += 1;
        q.name[at] = len;
        for (k, b) in label.iter().enumerate() {
            q.name[at + 1 + k] = b.to_ascii_lowercase();
        }
        q.name_len = at + 1 + len as usize;
        pos += 1 + len as usize;
    }
    // The root itself has one suffix: the root.
    q.labels[q.label_count] = (q.name_len - 1) as u8;
    let Some(tail) = packet.get(pos..pos + 4) else {
        return Parsed::Error {
            rcode: FORMERR,
            question_end: None,
        };
    };
    q.qtype = u16::from_be_bytes([tail[0], tail[1]]);
    q.qclass = u16::from_be_bytes([tail[2], tail[3]]);
    pos += 4;
    q.question_end = pos;
    if ancount != 0 || nscount != 0 {
        return Parsed::Error {
            rcode: FORMERR,
            question_end: Some(pos),
        };
    }
    // Additional records: one OPT at most; a TSIG goes to the slow path.
    for _ in 0..arcount {
        let Some(name_end) = skip_name(packet, pos) else {
            return Parsed::Error {
                rcode: FORMERR,
                question_end: Some(q.question_end),
            };
        };
        let Some(fixed) = packet.get(name_end..name_end + 10) else {
            return Parsed::Error {
                rcode: FORMERR,
                question_end: Some(q.question_end),
            };
        };
        let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let rdlen = u16::from_be_bytes([fixed[8], fixed[9]]) as usize;
        let end = name_end + 10 + rdlen;
        if end > packet.len() {
            return Parsed::Error {
                rcode: FORMERR,
                question_end: Some(q.question_end),
            };
        }
        match rtype {
            41 => {
                if q.edns.is_some() || packet[pos] != 0 {
                    return Parsed::Error {
                        rcode: FORMERR,
                        question_end: Some(q.question_end),
                    };
                }
                q.edns = Some(Edns {
                    payload: u16::from_be_bytes([fixed[2], fixed[3]]),
                    version: fixed[5],
                    dnssec_ok: fixed[6] & 0x80 != 0,
                });
            }
            250 => return Parsed::SlowPath,
            _ => {}
        }
        pos = end;
    }
    Parsed::Query(q)
}

/// Skips a (possibly compressed) name; the offset after it.
fn skip_name(packet: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let len = *packet.get(pos)?;
        match len {
            0 => return Some(pos + 1),
            l if l & 0xc0 == 0xc0 => return (pos + 2 <= packet.len()).then_some(pos + 2),
            l if l & 0xc0 == 0 => pos += 1 + l as usize,
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &[u8], qtype: u16, edns: bool) -> Vec<u8> {
        let mut p = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, u8::from(edns)];
        p.extend_from_slice(name);
        p.extend_from_slice(&qtype.to_be_bytes());
        p.extend_from_slice(&1u16.to_be_bytes());
        if edns {
            p.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0]);
        }
        p
    }

    #[test]
    fn reads_a_query() {
        let p = query(b"\x03WwW\x07Example\x03com\x00", 1, true);
        let Parsed::Query(q) = parse(&p) else {
            panic!()
        };
        assert_eq!(q.qname(), b"\x03www\x07example\x03com\x00");
        assert_eq!(q.label_count, 3);
        assert_eq!(q.suffix(1), b"\x07example\x03com\x00");
        assert_eq!(q.suffix(3), b"\x00");
        assert_eq!(
            q.edns,
            Some(Edns {
                payload: 1232,
                dnssec_ok: true,
                version: 0
            })
        );
        assert!(q.rd);
    }

    #[test]
    fn refuses_the_malformed() {
        assert!(matches!(parse(&[0; 5]), Parsed::Drop));
        let mut p = query(b"\x03www\x00", 1, false);
        p[2] |= 0x80;
        assert!(matches!(parse(&p), Parsed::Drop));
        let mut p = query(b"\x03www\x00", 1, false);
        p[5] = 2;
        assert!(matches!(parse(&p), Parsed::Error { rcode: FORMERR, .. }));
        let p = query(b"\xc0\x0c", 1, false);
        assert!(matches!(parse(&p), Parsed::Error { rcode: FORMERR, .. }));
        let p = query(b"\x05ab", 1, false);
        assert!(matches!(parse(&p), Parsed::Error { rcode: FORMERR, .. }));
        let mut p = query(b"\x03www\x00", 1, false);
        p[2] = 0x10; // opcode 2, STATUS
        assert!(matches!(parse(&p), Parsed::Error { rcode: NOTIMP, .. }));
        let mut p = query(b"\x03www\x00", 6, false);
        p[2] = 0x20; // NOTIFY
        assert!(matches!(parse(&p), Parsed::SlowPath));
    }
}
