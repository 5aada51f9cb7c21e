//! The compact binary form of a zone version: a magic, a record count and the records in DNS
//! wire form. Stored in Postgres by the worker and on disk by the nameserver.

use hickory_proto::rr::Record;
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, BinEncodable, BinEncoder};

const MAGIC: &[u8; 4] = b"APZ1";

/// A zone blob that cannot be read back.
#[derive(Debug, thiserror::Error)]
#[error("invalid zone data: {0}")]
pub struct WireError(String);

/// Encodes records (the SOA first, by convention) into the compact form.
pub fn encode(records: &[Record]) -> Result<Vec<u8>, WireError> {
    let mut body = Vec::with_capacity(records.len() * 48);
    let mut encoder = BinEncoder::new(&mut body);
    for r in records {
        r.emit(&mut encoder).map_err(|e| WireError(e.to_string()))?;
    }
    let mut buf = Vec::with_capacity(8 + body.len());
    buf.extend_from_slice(MAGIC);
    buf.extend_from_slice(&(records.len() as u32).to_be_bytes());
    buf.extend_from_slice(&body);
    Ok(buf)
}

/// Decodes the compact form back into records.
pub fn decode(data: &[u8]) -> Result<Vec<Record>, WireError> {
    if data.len() < 8 || &data[..4] != MAGIC {
        return Err(WireError("bad magic".into()));
    }
    let count = u32::from_be_bytes([data[4], data[5], data[6], data[7]]) as usize;
    let mut decoder = BinDecoder::new(&data[8..]);
    let mut out = Vec::with_capacity(count.min(data.len() / 11));
    for _ in 0..count {
        out.push(Record::read(&mut decoder).map_err(|e| WireError(e.to_string()))?);
    }
    if !decoder.is_empty() {
        return Err(WireError("trailing bytes".into()));
    }
    Ok(out)
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
    }
}
