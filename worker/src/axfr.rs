//! Zone transfers framed straight from stored bytes, and the newest version of each zone kept
//! in memory for them.
//!
//! A version is stored in canonical wire form (`APZ2`, [`apex_zone::wire`]): each record is
//! already what goes into a DNS message (owner and record data uncompressed). A transfer copies
//! those bytes into messages of about [`MESSAGE_TARGET`] bytes, writing an owner as a pointer
//! to the one before it when they are the same (RFC 1035 section 4.1.4), and signs each message
//! in turn. Nothing is decoded into typed records and encoded again, which for a signed
//! 100k-name zone (820,000 records) took seconds per secondary.
//!
//! [`Versions`] keeps the newest version of each zone (the publish that stored it puts it
//! there; otherwise the first transfer that needs it reads it from Postgres, once for all the
//! secondaries asking at the same time), within a memory budget, least recently used out
//! first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use apex_core::CoreError;
use apex_core::ids::DomainId;
use apex_net::tsig::ResponseSigner;
use apex_zone::wire;
use tokio::sync::mpsc;

/// Payload bytes per transfer message before a new one is started.
pub const MESSAGE_TARGET: usize = 16 * 1024;

/// Memory kept for versions, over all zones ([`Versions`]).
pub const VERSIONS_BUDGET: usize = 512 * 1024 * 1024;

/// One version's data in canonical form, shared by the transfers sending it.
pub type Data = Arc<Vec<u8>>;

struct Kept {
    serial: u32,
    data: Data,
    used: Instant,
}

/// The newest version of each zone transferred or published lately, in canonical form.
pub struct Versions {
    /// The versions and their bytes in all.
    kept: Mutex<(HashMap<DomainId, Kept>, usize)>,
    /// One load at a time per zone: secondaries asking together wait for the first.
    loading: Mutex<HashMap<DomainId, Arc<tokio::sync::Mutex<()>>>>,
    budget: usize,
}

impl Versions {
    /// Keeps at most `budget` bytes of versions.
    pub fn new(budget: usize) -> Self {
        Self {
            kept: Mutex::default(),
            loading: Mutex::default(),
            budget,
        }
    }

    /// Keeps `data` (canonical) as `domain`'s version at `serial`, the newest.
    pub fn put(&self, domain: DomainId, serial: u32, data: Data) {
        if data.len() > self.budget || !wire::is_canonical(&data) {
            self.forget(domain);
            return;
        }
        let Ok(mut guard) = self.kept.lock() else {
            return;
        };
        let (kept, total) = &mut *guard;
        *total += data.len();
        if let Some(old) = kept.insert(
            domain,
            Kept {
                serial,
                data,
                used: Instant::now(),
            },
        ) {
            *total -= old.data.len();
        }
        while *total > self.budget {
            let Some(oldest) = kept
                .iter()
                .filter(|(d, _)| **d != domain)
                .min_by_key(|(_, k)| k.used)
                .map(|(d, _)| *d)
            else {
                break;
            };
            if let Some(k) = kept.remove(&oldest) {
                *total -= k.data.len();
            }
        }
    }

    /// Drops what is kept of `domain` (a newer version was published without its whole data).
    pub fn forget(&self, domain: DomainId) {
        if let Ok(mut guard) = self.kept.lock() {
            let (kept, total) = &mut *guard;
            if let Some(k) = kept.remove(&domain) {
                *total -= k.data.len();
            }
        }
    }

    fn kept(&self, domain: DomainId, serial: u32) -> Option<Data> {
        let mut guard = self.kept.lock().ok()?;
        let k = guard.0.get_mut(&domain).filter(|k| k.serial == serial)?;
        k.used = Instant::now();
        Some(k.data.clone())
    }

    /// `domain`'s version at `serial` in canonical form: kept, or read from Postgres (and kept).
    /// `None` when no such version is stored.
    pub async fn get(
        &self,
        pool: &sqlx::PgPool,
        domain: DomainId,
        serial: u32,
    ) -> Result<Option<Data>, CoreError> {
        if let Some(data) = self.kept(domain, serial) {
            return Ok(Some(data));
        }
        let gate = self
            .loading
            .lock()
            .map_err(|_| CoreError::Internal("transfer versions poisoned".into()))?
            .entry(domain)
            .or_default()
            .clone();
        let result = async {
            let _one = gate.lock().await;
            if let Some(data) = self.kept(domain, serial) {
                return Ok(Some(data));
            }
            let Some(version) = apex_core::versions::load(pool, domain, serial).await? else {
                return Ok(None);
            };
            let data: Data = Arc::new(
                tokio::task::spawn_blocking(move || {
                    wire::to_canonical(&version.data).map(std::borrow::Cow::into_owned)
                })
                .await
                .map_err(|e| CoreError::Internal(format!("reading a version: {e}")))?
                .map_err(|e| CoreError::Internal(format!("stored version: {e}")))?,
            );
            self.put(domain, serial, data.clone());
            Ok(Some(data))
        }
        .await;
        // The gate goes when nobody else waits on it.
        if let Ok(mut loading) = self.loading.lock()
            && loading
                .get(&domain)
                .is_some_and(|g| Arc::strong_count(g) <= 2)
        {
            loading.remove(&domain);
        }
        result
    }
}

/// Records of a transfer, in order: a stored blob's records, or only its first one (a
/// version's SOA, which closes an AXFR and opens and closes an IXFR).
pub enum Part {
    /// Every record of the blob.
    All(Data),
    /// Its first record.
    First(Data),
}

impl Part {
    /// Records this part sends.
    pub fn count(&self) -> usize {
        match self {
            Part::All(d) => d
                .get(4..8)
                .map_or(0, |c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize),
            Part::First(_) => 1,
        }
    }
}

/// Sends `parts` as a sequence of messages, each `first_head` (the first) or `next_head`
/// (header and, for the first, the question: answer count zero) followed by records, each
/// signed when the request was. A blob that is not canonical cuts the transfer short (the
/// client sees the connection close before the closing SOA, and tries again).
pub fn stream(
    first_head: Vec<u8>,
    next_head: Vec<u8>,
    parts: Vec<Part>,
    mut signer: Option<ResponseSigner>,
) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel(8);
    tokio::spawn(async move {
        let mut framer = Framer::new(first_head, next_head);
        for part in &parts {
            let (blob, only_first) = match part {
                Part::All(d) => (d, false),
                Part::First(d) => (d, true),
            };
            let records = match wire::raw_records(blob) {
                Ok(r) if wire::is_canonical(blob) => r,
                Ok(_) | Err(_) => {
                    tracing::error!(
                        "a stored version is not in canonical form; transfer cut short"
                    );
                    return;
                }
            };
            let take = if only_first { 1 } else { records.len() };
            for record in records.into_iter().take(take) {
                if let Some(full) = framer.push(record) {
                    let Some(buf) = sign(full, signer.as_mut()) else {
                        return;
                    };
                    if tx.send(buf).await.is_err() {
                        return;
                    }
                }
            }
        }
        if let Some(buf) = sign(framer.finish(), signer.as_mut()) {
            let _ = tx.send(buf).await;
        }
    });
    rx
}

fn sign(mut buf: Vec<u8>, signer: Option<&mut ResponseSigner>) -> Option<Vec<u8>> {
    if let Some(s) = signer
        && let Err(e) = s.sign(&mut buf)
    {
        tracing::error!(error = %e, "could not sign a transfer message; transfer cut short");
        return None;
    }
    Some(buf)
}

/// Packs records into messages.
struct Framer {
    next_head: Vec<u8>,
    buf: Vec<u8>,
    count: u16,
    /// Where the last owner written in full starts in `buf`, and its bytes.
    owner: Option<(usize, Vec<u8>)>,
}

impl Framer {
    fn new(first_head: Vec<u8>, next_head: Vec<u8>) -> Self {
        let mut buf = Vec::with_capacity(MESSAGE_TARGET + 1024);
        buf.extend_from_slice(&first_head);
        Self {
            next_head,
            buf,
            count: 0,
            owner: None,
        }
    }

    /// Adds `record` (uncompressed wire form); answers the message it completed, if it did.
    fn push(&mut self, record: &[u8]) -> Option<Vec<u8>> {
        let full = if self.count > 0 && self.buf.len() + record.len() > MESSAGE_TARGET {
            Some(self.finish())
        } else {
            None
        };
        let owner_len = wire::raw_owner_len(record);
        let same = owner_len.and_then(|len| {
            let (at, prev) = self.owner.as_ref()?;
            (prev.as_slice() == &record[..len] && *at < 0x3fff).then_some((*at, len))
        });
        match same {
            Some((at, len)) => {
                self.buf
                    .extend_from_slice(&(0xc000 | at as u16).to_be_bytes());
                self.buf.extend_from_slice(&record[len..]);
            }
            None => {
                self.owner = owner_len.map(|len| (self.buf.len(), record[..len].to_vec()));
                self.buf.extend_from_slice(record);
            }
        }
        self.count += 1;
        full
    }

    /// The message being filled, with its answer count; the next one starts.
    fn finish(&mut self) -> Vec<u8> {
        let mut next = Vec::with_capacity(MESSAGE_TARGET + 1024);
        next.extend_from_slice(&self.next_head);
        let mut done = std::mem::replace(&mut self.buf, next);
        done[6..8].copy_from_slice(&self.count.to_be_bytes());
        self.count = 0;
        self.owner = None;
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apex_zone::Name;
    use apex_zone::dname::DName;
    use apex_zone::rdata::RrType;
    use apex_zone::record::ZoneRecord;
    use hickory_proto::op::{Message, OpCode, Query};
    use hickory_proto::rr::RecordType;

    fn rec(name: &str, rtype: RrType, rdata: Vec<u8>) -> ZoneRecord {
        ZoneRecord {
            name: DName::parse(name.as_bytes(), None).unwrap(),
            ttl: 300,
            rtype,
            rdata: rdata.into(),
            comment: None,
            line: 0,
        }
    }

    fn zone(n: usize) -> Vec<ZoneRecord> {
        let mut soa = vec![0, 0];
        soa.extend_from_slice(&7u32.to_be_bytes());
        soa.extend_from_slice(&[0; 16]);
        let mut out = vec![rec("example.", RrType::SOA, soa)];
        for i in 0..n {
            let owner = format!("host{i}.example.");
            out.push(rec(&owner, RrType::A, vec![192, 0, 2, (i % 250) as u8]));
            out.push(rec(&owner, RrType::TXT, b"\x0bsome text..".to_vec()));
        }
        out
    }

    fn heads() -> (Vec<u8>, Vec<u8>) {
        let mut m = Message::response(77, OpCode::Query);
        m.metadata.authoritative = true;
        m.queries.push(Query::query(
            Name::from_ascii("example.").unwrap(),
            RecordType::AXFR,
        ));
        let first = m.to_vec().unwrap();
        m.queries.clear();
        (first, m.to_vec().unwrap())
    }

    async fn collect(parts: Vec<Part>) -> Vec<Message> {
        let (first, next) = heads();
        let mut rx = stream(first, next, parts, None);
        let mut out = Vec::new();
        while let Some(buf) = rx.recv().await {
            assert!(buf.len() <= MESSAGE_TARGET + 600, "{}", buf.len());
            out.push(Message::from_vec(&buf).unwrap());
        }
        out
    }

    #[tokio::test]
    async fn a_version_goes_out_as_messages_hickory_reads_back() {
        let records = zone(3000);
        let data: Data = Arc::new(wire::encode_raw(&records).unwrap());
        let messages = collect(vec![Part::All(data.clone()), Part::First(data)]).await;
        assert!(messages.len() > 3, "{} messages", messages.len());
        assert_eq!(messages[0].queries.len(), 1);
        assert!(messages[1..].iter().all(|m| m.queries.is_empty()));
        assert!(messages.iter().all(|m| m.metadata.id == 77));
        let got: Vec<ZoneRecord> = messages
            .iter()
            .flat_map(|m| m.answers.iter())
            .map(|r| ZoneRecord::from_record(r).unwrap())
            .collect();
        let mut want = records.clone();
        want.push(records[0].clone());
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(
                (&g.name, g.rtype, &g.rdata, g.ttl),
                (&w.name, w.rtype, &w.rdata, w.ttl)
            );
        }
    }

    #[tokio::test]
    async fn repeated_owners_are_written_once_per_message() {
        let records = zone(500);
        let data: Data = Arc::new(wire::encode_raw(&records).unwrap());
        let (first, next) = heads();
        let mut rx = stream(
            first.clone(),
            next.clone(),
            vec![Part::All(data.clone())],
            None,
        );
        let (mut sent, mut messages) = (0, 0);
        while let Some(buf) = rx.recv().await {
            sent += buf.len();
            messages += 1;
        }
        // Each TXT's owner is a two-byte pointer to its A's, unless a message starts between
        // them.
        let raw = data.len() - 8 - 2 * records.len();
        let heads = first.len() + (messages - 1) * next.len();
        let saved: Vec<usize> = (0..500)
            .map(|i| format!("host{i}.example.").len() + 1 - 2)
            .collect();
        let least = raw + heads - saved.iter().sum::<usize>();
        let most = least + (messages - 1) * saved.iter().max().unwrap();
        assert!(
            (least..=most).contains(&sent),
            "{sent} not in {least}..={most}"
        );
    }

    #[tokio::test]
    async fn versions_are_kept_within_the_budget() {
        // Versions of 51 bytes (a SOA) and 121 (three records).
        let v = Versions::new(130);
        v.put(
            DomainId(1),
            5,
            Arc::new(wire::encode_raw(&zone(0)).unwrap()),
        );
        assert!(v.kept(DomainId(1), 5).is_some());
        assert!(v.kept(DomainId(1), 6).is_none());
        v.put(
            DomainId(2),
            1,
            Arc::new(wire::encode_raw(&zone(1)).unwrap()),
        );
        v.put(
            DomainId(3),
            1,
            Arc::new(wire::encode_raw(&zone(1)).unwrap()),
        );
        // Over 130 bytes: the least recently used went first.
        assert!(v.kept(DomainId(1), 5).is_none());
        assert!(v.kept(DomainId(3), 1).is_some());
        v.forget(DomainId(3));
        assert!(v.kept(DomainId(3), 1).is_none());
    }
}
