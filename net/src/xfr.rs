//! Zone transfers for a secondary, read at the byte level: AXFR (RFC 5936) and IXFR (RFC 1995),
//! TSIG-verified message by message. Records arrive exactly as the primary sent them (owners
//! lowercased, data untouched), so a zone signed elsewhere keeps every byte its signatures
//! cover, and nothing is decoded into typed records and encoded again.

use std::net::SocketAddr;
use std::time::Duration;

use apex_zone::dname::DName;
use apex_zone::rdata::RrType;
use apex_zone::record::ZoneRecord;
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::SOA;
use hickory_proto::rr::{Name, RData, Record, RecordType, TSigVerifier};
use tokio::net::TcpStream;

use crate::client::{ClientError, MAX_TRANSFER_RECORDS};
use crate::frame::{Oversize, read_frame, write_frame};
use crate::message::{self, RawRecord};
use crate::tsig::{TsigKey, now};

/// Most bytes of names and record data one transfer may bring: a broken or hostile primary
/// cannot make a secondary hold more than this per transfer in flight.
pub const MAX_TRANSFER_BYTES: usize = 512 << 20;

/// What to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// The whole zone.
    Axfr,
    /// The changes since the serial we hold.
    Ixfr {
        /// Our serial.
        serial: u32,
    },
}

/// One step of an incremental transfer: the records to remove from the version at `from` and
/// the records to add to make the version at `to` (SOAs not included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delta {
    /// The serial the step starts from.
    pub from: u32,
    /// The serial it leads to.
    pub to: u32,
    /// Records removed.
    pub removed: Vec<ZoneRecord>,
    /// Records added.
    pub added: Vec<ZoneRecord>,
}

/// What a transfer brought.
#[derive(Debug)]
pub enum Transferred {
    /// IXFR answered with just the SOA: we are current.
    UpToDate {
        /// The primary's serial.
        serial: u32,
    },
    /// The whole zone, SOA first (AXFR, or IXFR answered AXFR-style).
    Full(Vec<ZoneRecord>),
    /// Incremental: the new SOA and the steps to it, oldest first.
    Incremental {
        /// The new SOA.
        soa: ZoneRecord,
        /// The steps.
        deltas: Vec<Delta>,
    },
}

fn soa_serial(r: &ZoneRecord) -> Option<u32> {
    let mut w = apex_zone::rdata::Wire::new(&r.rdata);
    w.name().ok()?;
    w.name().ok()?;
    w.u32().ok()
}

fn to_zone_record(r: RawRecord) -> Result<ZoneRecord, ClientError> {
    if r.class != 1 {
        return Err(ClientError::Malformed(format!(
            "{} has class {}, only IN is served",
            r.name, r.class
        )));
    }
    Ok(ZoneRecord {
        name: r.name,
        ttl: r.ttl,
        rtype: RrType(r.rtype),
        rdata: r.rdata.into_boxed_slice(),
        comment: None,
        line: 0,
    })
}

fn query(zone: &DName, ask: Ask, id: u16) -> Message {
    let name: Name = zone.to_name();
    let mut q = Message::new(id, MessageType::Query, OpCode::Query);
    match ask {
        Ask::Axfr => {
            q.add_query(Query::query(name, RecordType::AXFR));
        }
        Ask::Ixfr { serial } => {
            q.add_query(Query::query(name.clone(), RecordType::IXFR));
            // RFC 1995 section 3: our SOA in the authority section; only the serial matters.
            let soa = SOA::new(Name::root(), Name::root(), serial, 0, 0, 0, 0);
            q.add_authority(Record::from_rdata(name, 0, RData::SOA(soa)));
        }
    }
    q
}

/// Transfers `zone` from `primary` over TCP, signing the request with `key` and verifying
/// every reply message with it.
pub async fn transfer(
    primary: SocketAddr,
    zone: &DName,
    ask: Ask,
    key: Option<&TsigKey>,
    timeout: Duration,
) -> Result<Transferred, ClientError> {
    tokio::time::timeout(timeout, transfer_inner(primary, zone, ask, key))
        .await
        .map_err(|_| ClientError::Timeout)?
}

/// Reads the records of a transfer as they arrive, deciding the kind from the first two.
#[derive(Default)]
struct Reader {
    records: Vec<ZoneRecord>,
    /// Bytes of names and data held so far (bounded by [`MAX_TRANSFER_BYTES`]).
    bytes: usize,
    /// Serial of the first SOA (the primary's current one).
    last: Option<u32>,
    done: bool,
}

impl Reader {
    /// Takes one record; true when the closing SOA has arrived.
    fn push(&mut self, r: ZoneRecord, ask: Ask) -> Result<(), ClientError> {
        if self.done {
            return Err(ClientError::Malformed(
                "records after the closing SOA".into(),
            ));
        }
        let is_soa = r.rtype == RrType::SOA;
        match self.last {
            None => {
                if !is_soa {
                    return Err(ClientError::Malformed(
                        "transfer does not start with the SOA".into(),
                    ));
                }
                self.last =
                    Some(soa_serial(&r).ok_or_else(|| ClientError::Malformed("bad SOA".into()))?);
            }
            Some(last) => {
                if is_soa && soa_serial(&r) == Some(last) {
                    // The closing SOA, except in an incremental reply, where the SOA with the
                    // new serial also opens the last step's additions.
                    let incremental = matches!(ask, Ask::Ixfr { .. })
                        && self.records.get(1).is_some_and(|r| r.rtype == RrType::SOA);
                    if !incremental || self.closes_incremental() {
                        self.done = true;
                        return Ok(());
                    }
                }
            }
        }
        if self.records.len() >= MAX_TRANSFER_RECORDS {
            return Err(ClientError::Malformed(
                "transfer exceeds the record limit".into(),
            ));
        }
        self.bytes += r.name.wire().len() + r.rdata.len() + 16;
        if self.bytes > MAX_TRANSFER_BYTES {
            return Err(ClientError::Malformed(
                "transfer exceeds the size limit".into(),
            ));
        }
        self.records.push(r);
        Ok(())
    }

    /// In an incremental reply, a SOA with the new serial closes the transfer when it comes
    /// in an additions part (after the step's "to" SOA), and opens that part otherwise.
    fn closes_incremental(&self) -> bool {
        // Count SOAs after the first: odd count means we are in an additions part.
        let soas = self.records[1..]
            .iter()
            .filter(|r| r.rtype == RrType::SOA)
            .count();
        soas % 2 == 0
    }

    fn finish(self, ask: Ask) -> Result<Transferred, ClientError> {
        let last = self
            .last
            .ok_or_else(|| ClientError::Malformed("empty transfer".into()))?;
        if !self.done {
            // An IXFR answered with a single SOA: nothing newer (RFC 1995 section 4).
            if let Ask::Ixfr { .. } = ask
                && self.records.len() == 1
            {
                return Ok(Transferred::UpToDate { serial: last });
            }
            return Err(ClientError::Malformed(
                "connection closed before the closing SOA".into(),
            ));
        }
        let incremental = matches!(ask, Ask::Ixfr { .. })
            && self.records.get(1).is_some_and(|r| r.rtype == RrType::SOA);
        if !incremental {
            return Ok(Transferred::Full(self.records));
        }
        let mut it = self.records.into_iter();
        let soa = it
            .next()
            .ok_or_else(|| ClientError::Malformed("empty transfer".into()))?;
        // [old SOA, removed..., new SOA, added...] per step.
        let mut deltas: Vec<Delta> = Vec::new();
        let mut adding = true;
        for r in it {
            if r.rtype == RrType::SOA {
                let serial =
                    soa_serial(&r).ok_or_else(|| ClientError::Malformed("bad SOA".into()))?;
                if adding {
                    deltas.push(Delta {
                        from: serial,
                        to: serial,
                        removed: Vec::new(),
                        added: Vec::new(),
                    });
                    adding = false;
                } else if let Some(d) = deltas.last_mut() {
                    d.to = serial;
                    adding = true;
                }
                continue;
            }
            let Some(d) = deltas.last_mut() else {
                return Err(ClientError::Malformed("IXFR record outside a step".into()));
            };
            if adding {
                d.added.push(r);
            } else {
                d.removed.push(r);
            }
        }
        if !adding {
            return Err(ClientError::Malformed(
                "IXFR step without its new SOA".into(),
            ));
        }
        Ok(Transferred::Incremental { soa, deltas })
    }
}

async fn transfer_inner(
    primary: SocketAddr,
    zone: &DName,
    ask: Ask,
    key: Option<&TsigKey>,
) -> Result<Transferred, ClientError> {
    let id = crate::client::new_id();
    let mut request = query(zone, ask, id);
    let mut verifier: Option<TSigVerifier> = None;
    if let Some(key) = key {
        let (tsig, v) = key
            .signer()
            .sign_message(&request, now())
            .map_err(|e| ClientError::Tsig(e.to_string()))?;
        request.set_signature(tsig);
        verifier = v;
    }
    let bytes = request
        .to_vec()
        .map_err(|e| ClientError::Malformed(e.to_string()))?;
    let mut stream = TcpStream::connect(primary).await?;
    stream.set_nodelay(true)?;
    write_frame(&mut stream, &bytes, Oversize::Error).await?;
    let mut reader = Reader::default();
    loop {
        let Some(frame) = read_frame(&mut stream).await? else {
            break;
        };
        if let Some(v) = verifier.as_mut() {
            v.verify(&frame)
                .map_err(|e| ClientError::Tsig(e.to_string()))?;
        }
        let header = message::header(&frame).map_err(|e| ClientError::Malformed(e.to_string()))?;
        if header.id != id || !header.response {
            return Err(ClientError::Malformed(
                "reply does not match the request".into(),
            ));
        }
        if header.rcode != 0 {
            return Err(ClientError::Rcode(ResponseCode::from_low(header.rcode)));
        }
        for raw in message::answers(&frame).map_err(|e| ClientError::Malformed(e.to_string()))? {
            if raw.rtype == 250 {
                continue; // TSIG is in additional; never an answer, but be safe
            }
            reader.push(to_zone_record(raw)?, ask)?;
        }
        if reader.done {
            break;
        }
    }
    reader.finish(ask)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(name: &str, rtype: RrType, rdata: &[u8]) -> ZoneRecord {
        ZoneRecord {
            name: DName::parse(name.as_bytes(), None).unwrap(),
            ttl: 60,
            rtype,
            rdata: rdata.into(),
            comment: None,
            line: 0,
        }
    }

    fn soa(serial: u32) -> ZoneRecord {
        let mut rdata = vec![0, 0];
        rdata.extend_from_slice(&serial.to_be_bytes());
        rdata.extend_from_slice(&[0; 16]);
        rec("example.", RrType::SOA, &rdata)
    }

    fn a(last: u8) -> ZoneRecord {
        rec("www.example.", RrType::A, &[192, 0, 2, last])
    }

    fn read(ask: Ask, records: Vec<ZoneRecord>) -> Result<Transferred, ClientError> {
        let mut r = Reader::default();
        for x in records {
            r.push(x, ask)?;
            if r.done {
                break;
            }
        }
        r.finish(ask)
    }

    #[test]
    fn axfr_ends_at_the_closing_soa() {
        let t = read(Ask::Axfr, vec![soa(5), a(1), a(2), soa(5)]).unwrap();
        let Transferred::Full(records) = t else {
            panic!("{t:?}")
        };
        assert_eq!(records.len(), 3);
        assert!(read(Ask::Axfr, vec![soa(5), a(1)]).is_err());
        assert!(read(Ask::Axfr, vec![a(1), soa(5)]).is_err());
    }

    #[test]
    fn ixfr_forms() {
        let ixfr = Ask::Ixfr { serial: 3 };
        // Up to date: the SOA alone.
        assert!(matches!(
            read(ixfr, vec![soa(3)]).unwrap(),
            Transferred::UpToDate { serial: 3 }
        ));
        // AXFR-style.
        let t = read(ixfr, vec![soa(5), a(1), soa(5)]).unwrap();
        assert!(
            matches!(t, Transferred::Full(ref r) if r.len() == 2),
            "{t:?}"
        );
        // Two steps: 3 -> 4 (remove .1, add .2), 4 -> 5 (add .3).
        let t = read(
            ixfr,
            vec![
                soa(5),
                soa(3),
                a(1),
                soa(4),
                a(2),
                soa(4),
                soa(5),
                a(3),
                soa(5),
            ],
        )
        .unwrap();
        let Transferred::Incremental { soa: new, deltas } = t else {
            panic!("{t:?}")
        };
        assert_eq!(soa_serial(&new), Some(5));
        assert_eq!(deltas.len(), 2);
        assert_eq!((deltas[0].from, deltas[0].to), (3, 4));
        assert_eq!(deltas[0].removed, vec![a(1)]);
        assert_eq!(deltas[0].added, vec![a(2)]);
        assert_eq!((deltas[1].from, deltas[1].to), (4, 5));
        assert!(deltas[1].removed.is_empty());
        assert_eq!(deltas[1].added, vec![a(3)]);
    }
}
