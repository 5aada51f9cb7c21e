//! The compact binary form of a zone version: a magic, a record count and the records in DNS
//! wire form, each prefixed with its length (DNS name compression only reaches 16 KiB back,
//! and one encoder holds at most 64 KiB, so records are encoded one by one). Stored in
//! Postgres by the worker and on disk by the nameserver.
//!
//! Two magics: `APZ1` for records encoded by hickory ([`encode`]: names in record data may be
//! compressed, case kept), `APZ2` for records in canonical form ([`encode_raw`]: names
//! uncompressed, names in record data lowercase, RFC 4034 section 6.2). Two `APZ2` records are
//! the same record exactly when their bytes are, so versions and diffs in that form are
//! combined without decoding a record ([`raw_records`], [`encode_slices`]).

use std::borrow::Cow;

use hickory_proto::rr::Record;
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, BinEncodable, BinEncoder};

const MAGIC: &[u8; 4] = b"APZ1";
const MAGIC_RAW: &[u8; 4] = b"APZ2";

/// A zone blob that cannot be read back.
#[derive(Debug, thiserror::Error)]
#[error("invalid zone data: {0}")]
pub struct WireError(String);

/// Encodes records (the SOA first, by convention) into the compact form.
pub fn encode(records: &[Record]) -> Result<Vec<u8>, WireError> {
    let mut buf = Vec::with_capacity(8 + records.len() * 40);
    buf.extend_from_slice(MAGIC);
    buf.extend_from_slice(&(records.len() as u32).to_be_bytes());
    let mut one = Vec::with_capacity(512);
    for r in records {
        one.clear();
        let mut encoder = BinEncoder::new(&mut one);
        r.emit(&mut encoder).map_err(|e| WireError(e.to_string()))?;
        let len =
            u16::try_from(one.len()).map_err(|_| WireError("record over 65535 bytes".into()))?;
        buf.extend_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(&one);
    }
    Ok(buf)
}

/// Encodes records already in wire form (a signer's output) into the compact form, canonical
/// (`APZ2`), without building typed records.
pub fn encode_raw(records: &[crate::record::ZoneRecord]) -> Result<Vec<u8>, WireError> {
    let size: usize = records
        .iter()
        .map(|r| r.name.wire().len() + 12 + r.rdata.len())
        .sum();
    let mut buf = Vec::with_capacity(8 + size);
    buf.extend_from_slice(MAGIC_RAW);
    buf.extend_from_slice(&(records.len() as u32).to_be_bytes());
    for r in records {
        let len = r.name.wire().len() + 10 + r.rdata.len();
        let len = u16::try_from(len).map_err(|_| WireError("record over 65535 bytes".into()))?;
        buf.extend_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(r.name.wire());
        buf.extend_from_slice(&r.rtype.0.to_be_bytes());
        buf.extend_from_slice(&1u16.to_be_bytes());
        buf.extend_from_slice(&r.ttl.to_be_bytes());
        buf.extend_from_slice(&(r.rdata.len() as u16).to_be_bytes());
        buf.extend_from_slice(&r.rdata);
    }
    Ok(buf)
}

/// Decodes the compact form (either magic) back into records.
pub fn decode(data: &[u8]) -> Result<Vec<Record>, WireError> {
    raw_records(data)?
        .into_iter()
        .map(|bytes| {
            let mut decoder = BinDecoder::new(bytes);
            let r = Record::read(&mut decoder).map_err(|e| WireError(e.to_string()))?;
            if !decoder.is_empty() {
                return Err(WireError("record length mismatch".into()));
            }
            Ok(r)
        })
        .collect()
}

/// Whether `data` is in canonical form (`APZ2`).
pub fn is_canonical(data: &[u8]) -> bool {
    data.get(..4) == Some(MAGIC_RAW)
}

/// The records of the compact form (either magic), each as its wire bytes, not decoded.
pub fn raw_records(data: &[u8]) -> Result<Vec<&[u8]>, WireError> {
    if data.len() < 8 || (&data[..4] != MAGIC && &data[..4] != MAGIC_RAW) {
        return Err(WireError("bad magic".into()));
    }
    let count = u32::from_be_bytes([data[4], data[5], data[6], data[7]]) as usize;
    let mut rest = &data[8..];
    // Each record takes at least 13 bytes: never trust the count for the allocation.
    let mut out = Vec::with_capacity(count.min(rest.len() / 13));
    for _ in 0..count {
        let (len, tail) = rest
            .split_first_chunk::<2>()
            .ok_or_else(|| WireError("truncated".into()))?;
        let len = u16::from_be_bytes(*len) as usize;
        let bytes = tail
            .get(..len)
            .ok_or_else(|| WireError("truncated".into()))?;
        if len < 11 {
            return Err(WireError("record too short".into()));
        }
        out.push(bytes);
        rest = &tail[len..];
    }
    if !rest.is_empty() {
        return Err(WireError("trailing bytes".into()));
    }
    Ok(out)
}

/// The compact form in canonical form (`APZ2`): `data` itself when it already is, else
/// decoded and encoded again.
pub fn to_canonical(data: &[u8]) -> Result<Cow<'_, [u8]>, WireError> {
    if is_canonical(data) {
        return Ok(Cow::Borrowed(data));
    }
    let records = decode(data)?
        .iter()
        .map(crate::record::ZoneRecord::from_record)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| WireError(e.to_string()))?;
    encode_raw(&records).map(Cow::Owned)
}

/// Encodes records given as wire bytes (from [`raw_records`] of canonical data) into the
/// canonical compact form.
pub fn encode_slices(records: &[&[u8]]) -> Result<Vec<u8>, WireError> {
    let size: usize = records.iter().map(|r| r.len() + 2).sum();
    let mut buf = Vec::with_capacity(8 + size);
    buf.extend_from_slice(MAGIC_RAW);
    buf.extend_from_slice(&(records.len() as u32).to_be_bytes());
    for r in records {
        let len =
            u16::try_from(r.len()).map_err(|_| WireError("record over 65535 bytes".into()))?;
        buf.extend_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(r);
    }
    Ok(buf)
}

/// The length of the uncompressed owner name a record given as wire bytes starts with.
pub fn raw_owner_len(record: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        let len = *record.get(at)? as usize;
        if len & 0xc0 != 0 {
            return None;
        }
        at += 1 + len;
        if len == 0 {
            return (at <= record.len()).then_some(at);
        }
    }
}

/// The type of a record given as wire bytes with an uncompressed owner.
pub fn raw_type(record: &[u8]) -> Option<u16> {
    let at = raw_owner_len(record)?;
    let t = record.get(at..at + 2)?;
    Some(u16::from_be_bytes([t[0], t[1]]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::rdata::{A, MX, TXT};
    use hickory_proto::rr::{Name, RData};

    #[test]
    fn round_trip() {
        let n = |s: &str| Name::from_ascii(s).unwrap();
        let records = vec![
            Record::from_rdata(n("a.example.com."), 300, RData::A(A::new(192, 0, 2, 1))),
            Record::from_rdata(
                n("example.com."),
                300,
                RData::MX(MX::new(10, n("mail.example.com."))),
            ),
            Record::from_rdata(
                n("t.example.com."),
                60,
                RData::TXT(TXT::new(vec!["hi".into()])),
            ),
        ];
        let blob = encode(&records).unwrap();
        assert_eq!(decode(&blob).unwrap(), records);
        assert!(decode(&blob[..blob.len() - 1]).is_err());
        assert!(decode(b"nope").is_err());
        // Zones far larger than one DNS message.
        let many: Vec<Record> = (0..5000u32)
            .map(|i| {
                Record::from_rdata(
                    n(&format!("h{i}.example.com.")),
                    300,
                    RData::A(A::from(std::net::Ipv4Addr::from(i))),
                )
            })
            .collect();
        assert_eq!(decode(&encode(&many).unwrap()).unwrap(), many);
    }

    #[test]
    fn canonical_form() {
        let n = |s: &str| Name::from_ascii(s).unwrap();
        let records = vec![
            Record::from_rdata(
                n("example.com."),
                300,
                RData::MX(MX::new(10, n("Mail.Example.com."))),
            ),
            Record::from_rdata(n("a.example.com."), 300, RData::A(A::new(192, 0, 2, 1))),
        ];
        let hickory = encode(&records).unwrap();
        assert!(!is_canonical(&hickory));
        let canonical = to_canonical(&hickory).unwrap().into_owned();
        assert!(is_canonical(&canonical));
        // Same records, names in record data lowercase.
        let back = decode(&canonical).unwrap();
        assert_eq!(back[1], records[1]);
        assert_eq!(back[0].data, RData::MX(MX::new(10, n("mail.example.com."))));
        assert!(matches!(
            to_canonical(&canonical).unwrap(),
            Cow::Borrowed(_)
        ));
        let raw = raw_records(&canonical).unwrap();
        assert_eq!(raw_type(raw[0]), Some(15));
        assert_eq!(raw_type(raw[1]), Some(1));
        assert_eq!(encode_slices(&raw).unwrap(), canonical);
        assert!(raw_records(b"APZ3\0\0\0\0").is_err());
    }
}
