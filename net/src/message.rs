//! Reading the records of a DNS message at the byte level, for zone transfers: owner names
//! decompressed (and lowercased), record data copied exactly as sent, with the names of the
//! types that may be compressed (RFC 1035 and RFC 3597 section 4) decompressed but left in
//! their case. Nothing is decoded into typed data and re-encoded, so a zone signed elsewhere
//! arrives with every byte its signatures cover.

use apex_zone::dname::DName;

/// One record of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    /// Owner, lowercase.
    pub name: DName,
    /// Type.
    pub rtype: u16,
    /// Class.
    pub class: u16,
    /// TTL.
    pub ttl: u32,
    /// Data, uncompressed.
    pub rdata: Vec<u8>,
}

/// A message that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed message: {0}")]
pub struct MessageError(pub &'static str);

/// The header fields a transfer client needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Message id.
    pub id: u16,
    /// QR bit.
    pub response: bool,
    /// Rcode (low four bits).
    pub rcode: u8,
    /// Section counts: question, answer, authority, additional.
    pub counts: [u16; 4],
}

/// Reads the header.
pub fn header(msg: &[u8]) -> Result<Header, MessageError> {
    let h = msg.get(..12).ok_or(MessageError("shorter than a header"))?;
    let c = |i: usize| u16::from_be_bytes([h[4 + 2 * i], h[5 + 2 * i]]);
    Ok(Header {
        id: u16::from_be_bytes([h[0], h[1]]),
        response: h[2] & 0x80 != 0,
        rcode: h[3] & 0x0f,
        counts: [c(0), c(1), c(2), c(3)],
    })
}

/// Reads a possibly compressed name at `pos` into `out` (wire form, case kept); returns the
/// offset after the name where it is written (not where pointers lead).
fn read_name(msg: &[u8], mut pos: usize, out: &mut Vec<u8>) -> Result<usize, MessageError> {
    let mut end = None;
    let mut jumps = 0;
    let start = out.len();
    loop {
        let len = *msg.get(pos).ok_or(MessageError("name runs past the end"))?;
        match len {
            0 => {
                out.push(0);
                if out.len() - start > 255 {
                    return Err(MessageError("name longer than 255 octets"));
                }
                return Ok(end.unwrap_or(pos + 1));
            }
            l if l & 0xc0 == 0xc0 => {
                let lo = *msg
                    .get(pos + 1)
                    .ok_or(MessageError("pointer runs past the end"))?;
                if end.is_none() {
                    end = Some(pos + 2);
                }
                jumps += 1;
                if jumps > 127 {
                    return Err(MessageError("compression loop"));
                }
                pos = (usize::from(l & 0x3f) << 8) | usize::from(lo);
            }
            l if l & 0xc0 == 0 => {
                let label = msg
                    .get(pos..pos + 1 + l as usize)
                    .ok_or(MessageError("label runs past the end"))?;
                out.extend_from_slice(label);
                if out.len() - start > 255 {
                    return Err(MessageError("name longer than 255 octets"));
                }
                pos += 1 + l as usize;
            }
            _ => return Err(MessageError("unknown label type")),
        }
    }
}

/// Record data with its compressible names expanded: (bytes before each name, names) by type.
fn expand_rdata(
    msg: &[u8],
    rtype: u16,
    start: usize,
    end: usize,
    out: &mut Vec<u8>,
) -> Result<(), MessageError> {
    // (fixed octets before the first name, number of names, fixed octets after the names)
    let layout: Option<(usize, usize, usize)> = match rtype {
        2..=5 | 7..=9 | 12 => Some((0, 1, 0)), // NS MD MF CNAME MB MG MR PTR
        6 => Some((0, 2, 20)),                 // SOA
        14 | 17 => Some((0, 2, 0)),            // MINFO RP
        15 | 18 | 21 | 36 => Some((2, 1, 0)),  // MX AFSDB RT KX
        26 => Some((2, 2, 0)),                 // PX
        33 => Some((6, 1, 0)),                 // SRV (should not be compressed, but some do)
        _ => None,
    };
    let Some((before, names, after)) = layout else {
        out.extend_from_slice(&msg[start..end]);
        return Ok(());
    };
    let mut pos = start;
    out.extend_from_slice(
        msg.get(pos..pos + before)
            .ok_or(MessageError("record data too short"))?,
    );
    pos += before;
    for _ in 0..names {
        pos = read_name(msg, pos, out)?;
    }
    out.extend_from_slice(
        msg.get(pos..pos + after)
            .ok_or(MessageError("record data too short"))?,
    );
    pos += after;
    if pos != end {
        return Err(MessageError(
            "record data length does not match its contents",
        ));
    }
    Ok(())
}

/// One question: name, type, class (for UPDATE: the zone section).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// Name, lowercase.
    pub name: DName,
    /// Type.
    pub rtype: u16,
    /// Class.
    pub class: u16,
}

/// Every section of a message. For UPDATE (RFC 2136 section 2) the same four sections are
/// the zone, the prerequisites, the updates and the additional data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sections {
    /// The header.
    pub header: Header,
    /// Question (zone) section.
    pub questions: Vec<Question>,
    /// Answer (prerequisite) section.
    pub answers: Vec<RawRecord>,
    /// Authority (update) section.
    pub authorities: Vec<RawRecord>,
    /// Additional section, the TSIG record included.
    pub additionals: Vec<RawRecord>,
}

/// Reads names, questions and records from a message in order.
struct Reader<'a> {
    msg: &'a [u8],
    pos: usize,
    scratch: Vec<u8>,
}

impl<'a> Reader<'a> {
    fn new(msg: &'a [u8]) -> Self {
        Self {
            msg,
            pos: 12,
            scratch: Vec::with_capacity(256),
        }
    }

    fn name(&mut self) -> Result<DName, MessageError> {
        self.scratch.clear();
        self.pos = read_name(self.msg, self.pos, &mut self.scratch)?;
        DName::from_wire(&self.scratch)
            .map(|(n, _)| n)
            .ok_or(MessageError("bad owner name"))
    }

    fn u16_at(&self, at: usize) -> Result<u16, MessageError> {
        self.msg
            .get(at..at + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or(MessageError("record runs past the end"))
    }

    fn question(&mut self) -> Result<Question, MessageError> {
        let name = self.name()?;
        let rtype = self.u16_at(self.pos)?;
        let class = self.u16_at(self.pos + 2)?;
        self.pos += 4;
        Ok(Question { name, rtype, class })
    }

    fn skip_question(&mut self) -> Result<(), MessageError> {
        self.scratch.clear();
        self.pos = read_name(self.msg, self.pos, &mut self.scratch)? + 4;
        Ok(())
    }

    fn record(&mut self) -> Result<RawRecord, MessageError> {
        let name = self.name()?;
        let fixed = self
            .msg
            .get(self.pos..self.pos + 10)
            .ok_or(MessageError("record runs past the end"))?;
        let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let class = u16::from_be_bytes([fixed[2], fixed[3]]);
        let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
        let len = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
        let start = self.pos + 10;
        let end = start + len;
        if end > self.msg.len() {
            return Err(MessageError("record data runs past the end"));
        }
        let mut rdata = Vec::with_capacity(len + 16);
        // Empty data (UPDATE's deletions, RFC 2136 section 2.5) has no names to expand.
        if len > 0 {
            expand_rdata(self.msg, rtype, start, end, &mut rdata)?;
        }
        self.pos = end;
        Ok(RawRecord {
            name,
            rtype,
            class,
            ttl,
            rdata,
        })
    }

    fn records(&mut self, count: u16) -> Result<Vec<RawRecord>, MessageError> {
        // Each record takes at least 11 octets: a count beyond what the message can hold is
        // not an allocation to make.
        let room = self.msg.len().saturating_sub(self.pos) / 11;
        let mut out = Vec::with_capacity(usize::from(count).min(room));
        for _ in 0..count {
            out.push(self.record()?);
        }
        Ok(out)
    }
}

/// The records of the answer section (the question is skipped).
pub fn answers(msg: &[u8]) -> Result<Vec<RawRecord>, MessageError> {
    let h = header(msg)?;
    let mut r = Reader::new(msg);
    for _ in 0..h.counts[0] {
        r.skip_question()?;
    }
    r.records(h.counts[1])
}

/// Every section of the message; bytes after the last record are an error.
pub fn sections(msg: &[u8]) -> Result<Sections, MessageError> {
    let header = header(msg)?;
    let mut r = Reader::new(msg);
    let questions = (0..header.counts[0])
        .map(|_| r.question())
        .collect::<Result<Vec<_>, _>>()?;
    let answers = r.records(header.counts[1])?;
    let authorities = r.records(header.counts[2])?;
    let additionals = r.records(header.counts[3])?;
    if r.pos != msg.len() {
        return Err(MessageError("bytes after the last record"));
    }
    Ok(Sections {
        header,
        questions,
        answers,
        authorities,
        additionals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decompresses_owners_and_known_rdata() {
        // Question www.Example.com A; answers: MX with a pointer, and an unknown type whose
        // data looks like a pointer but must be copied as is.
        let mut m = vec![0, 1, 0x84, 0, 0, 1, 0, 2, 0, 0, 0, 0];
        m.extend_from_slice(b"\x03www\x07Example\x03com\x00\x00\x01\x00\x01");
        // MX: owner pointer to 12, pref 10, exchange "mail" + pointer to "Example.com" (16)
        m.extend_from_slice(&[0xc0, 12, 0, 15, 0, 1, 0, 0, 0, 60, 0, 9, 0, 10, 4]);
        m.extend_from_slice(b"mail");
        m.extend_from_slice(&[0xc0, 16]);
        m.extend_from_slice(&[0xc0, 12, 0xff, 0x00, 0, 1, 0, 0, 0, 60, 0, 2, 0xc0, 12]);
        let rs = answers(&m).unwrap();
        assert_eq!(rs[0].name.to_string(), "www.example.com.");
        assert_eq!(rs[0].rtype, 15);
        assert_eq!(
            rs[0].rdata,
            b"\x00\x0a\x04mail\x07Example\x03com\x00".to_vec()
        );
        assert_eq!(rs[1].rdata, vec![0xc0, 12]);
    }

    #[test]
    fn every_section_of_an_update() {
        // UPDATE for example.com: zone, one prerequisite (NS example.com, class ANY, no data:
        // "RRset exists"), one update (delete all A at www, class ANY, no data), no additional.
        let mut m = vec![0, 7, 0x28, 0, 0, 1, 0, 1, 0, 1, 0, 0];
        m.extend_from_slice(b"\x07example\x03com\x00\x00\x06\x00\x01");
        m.extend_from_slice(&[0xc0, 12, 0, 2, 0, 255, 0, 0, 0, 0, 0, 0]);
        m.extend_from_slice(b"\x03www");
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 255, 0, 0, 0, 0, 0, 0]);
        let s = sections(&m).unwrap();
        assert_eq!(s.questions[0].name.to_string(), "example.com.");
        assert_eq!(s.questions[0].rtype, 6);
        assert_eq!(s.answers[0].rtype, 2);
        assert_eq!(s.answers[0].class, 255);
        assert!(s.answers[0].rdata.is_empty());
        assert_eq!(s.authorities[0].name.to_string(), "www.example.com.");
        assert!(s.additionals.is_empty());
        let mut trailing = m.clone();
        trailing.push(0);
        assert!(sections(&trailing).is_err());
    }

    #[test]
    fn hostile_messages_are_errors() {
        assert!(answers(&[0; 5]).is_err());
        let mut loop_msg = vec![0, 1, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0];
        loop_msg.extend_from_slice(&[0xc0, 12]);
        assert!(answers(&loop_msg).is_err());
        let mut long = vec![0, 1, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0];
        long.extend_from_slice(&[0xff, 0xff, 0xff]);
        assert!(answers(&long).is_err());
    }
}
