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

/// The records of the answer section (the question is skipped).
pub fn answers(msg: &[u8]) -> Result<Vec<RawRecord>, MessageError> {
    let h = header(msg)?;
    let mut pos = 12;
    let mut scratch = Vec::with_capacity(256);
    for _ in 0..h.counts[0] {
        scratch.clear();
        pos = read_name(msg, pos, &mut scratch)? + 4;
    }
    let mut out = Vec::with_capacity(h.counts[1] as usize);
    for _ in 0..h.counts[1] {
        scratch.clear();
        pos = read_name(msg, pos, &mut scratch)?;
        let name = DName::from_wire(&scratch)
            .map(|(n, _)| n)
            .ok_or(MessageError("bad owner name"))?;
        let fixed = msg
            .get(pos..pos + 10)
            .ok_or(MessageError("record runs past the end"))?;
        let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let class = u16::from_be_bytes([fixed[2], fixed[3]]);
        let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
        let len = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
        let start = pos + 10;
        let end = start + len;
        if end > msg.len() {
            return Err(MessageError("record data runs past the end"));
        }
        let mut rdata = Vec::with_capacity(len + 16);
        expand_rdata(msg, rtype, start, end, &mut rdata)?;
        out.push(RawRecord {
            name,
            rtype,
            class,
            ttl,
            rdata,
        });
        pos = end;
    }
    Ok(out)
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
