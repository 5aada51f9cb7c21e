//! The transfer server, the fleet's hidden primary: SOA queries and AXFR (RFC 5936) of the
//! published zone versions and of the catalog zone, TSIG-signed (RFC 8945).
//!
//! - AXFR and IXFR need a fleet key (any of `APEX_TSIG_KEY` and `APEX_TSIG_KEYS`); without it: REFUSED, except from an address of one of
//!   the zone's own secondaries (`domains.secondaries`, set by the customer), which gets the
//!   zone unsigned; with a bad key: NOTAUTH.
//!   IXFR (RFC 1995) is answered from the diffs stored with each version: the SOA alone when
//!   the client is current, the steps from its serial when the kept versions reach back that
//!   far, the whole zone in AXFR form otherwise (section 4 allows it).
//! - SOA is answered to anyone (it is what secondaries poll, and harmless), signed when asked
//!   with the key.
//! - Anything else: REFUSED. This is not a public nameserver.
//!
//! Transfers go out over TCP in messages of at most ~16 KiB, each signed in turn.

use std::net::SocketAddr;
use std::sync::Arc;

use apex_core::versions;
use apex_net::TsigKey;
use apex_net::server::{
    Allow, DnsHandler, Reply, Request, TcpLimits, Transport, UdpLimits, bind_both, serve_tcp,
    serve_udp,
};
use apex_net::tsig::{RequestAuth, ResponseSigner, verify_request};
use apex_zone::name::ZoneName;
use apex_zone::{RData, Record, RecordType, catalog, render, wire};
use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::Name;
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::Context;

/// Payload bytes per transfer message before a new one is started.
const MESSAGE_TARGET: usize = 16 * 1024;

struct TransferServer {
    ctx: Arc<Context>,
    keys: Vec<TsigKey>,
}

/// Where the transfer server listens, and who may use each listener.
#[derive(Debug, Clone)]
pub struct Listeners {
    /// The fleet's listener (`APEX_TRANSFER_LISTEN`).
    pub fleet: SocketAddr,
    /// Networks allowed on the fleet's listener (`APEX_TRANSFER_ALLOW`); empty: anyone.
    pub fleet_allow: Allow,
    /// A listener for customers' own secondaries (`APEX_TRANSFER_CUSTOMER_LISTEN`), with
    /// connection slots of its own, so the fleet's transfers never queue behind theirs.
    pub customers: Option<SocketAddr>,
    /// TCP limits of each listener.
    pub tcp: TcpLimits,
    /// UDP limits of each listener.
    pub udp: UdpLimits,
}

impl Listeners {
    /// One listener on `addr`, open to anyone, with the default limits.
    pub fn on(addr: SocketAddr) -> Self {
        Self {
            fleet: addr,
            fleet_allow: Allow::default(),
            customers: None,
            tcp: TcpLimits::default(),
            udp: UdpLimits::default(),
        }
    }
}

/// Binds the transfer server's UDP and TCP sockets and starts serving in `tasks`: the bound
/// fleet address, and the customers' one if asked for.
pub async fn start(
    tasks: &mut JoinSet<()>,
    ctx: Arc<Context>,
    listeners: Listeners,
    keys: Vec<TsigKey>,
) -> anyhow::Result<(SocketAddr, Option<SocketAddr>)> {
    let handler = Arc::new(TransferServer { ctx, keys });
    let (udp, tcp, fleet) = bind_both(listeners.fleet).await?;
    tasks.spawn(serve_udp(
        udp,
        handler.clone(),
        listeners.udp,
        listeners.fleet_allow.clone(),
    ));
    tasks.spawn(serve_tcp(
        tcp,
        handler.clone(),
        listeners.tcp,
        listeners.fleet_allow,
    ));
    let customers = match listeners.customers {
        None => None,
        Some(addr) => {
            let (udp, tcp, bound) = bind_both(addr).await?;
            tasks.spawn(serve_udp(
                udp,
                handler.clone(),
                listeners.udp,
                Allow::default(),
            ));
            tasks.spawn(serve_tcp(tcp, handler, listeners.tcp, Allow::default()));
            Some(bound)
        }
    };
    Ok((fleet, customers))
}

/// How long a SOA answer is kept. This worker forgets a zone's entry before it announces a
/// new version; another worker's publish is seen within this long.
const SOA_KEPT: std::time::Duration = std::time::Duration::from_millis(250);
/// Entries kept at most (zones asked about, existing or not); beyond, the table starts over.
const SOA_ENTRIES: usize = 100_000;

/// SOA answers by zone, kept for [`SOA_KEPT`]: a flood of SOA queries (for zones that exist
/// or not) costs one Postgres query per zone and quarter second, not one per datagram.
#[derive(Debug, Default)]
pub struct SoaCache {
    entries:
        std::sync::Mutex<std::collections::HashMap<Name, (std::time::Instant, Option<Record>)>>,
}

impl SoaCache {
    /// Forgets `zone` (its new version is about to be announced).
    pub fn forget(&self, zone: &Name) {
        if let Ok(mut e) = self.entries.lock() {
            e.remove(&zone.to_lowercase());
        }
    }

    fn get(&self, zone: &Name) -> Option<Option<Record>> {
        let e = self.entries.lock().ok()?;
        let (at, soa) = e.get(&zone.to_lowercase())?;
        (at.elapsed() < SOA_KEPT).then(|| soa.clone())
    }

    fn put(&self, zone: &Name, soa: Option<Record>) {
        if let Ok(mut e) = self.entries.lock() {
            if e.len() >= SOA_ENTRIES {
                e.clear();
            }
            e.insert(zone.to_lowercase(), (std::time::Instant::now(), soa));
        }
    }
}

fn reply_to(request: &Message, rcode: ResponseCode) -> Message {
    let mut m = Message::response(request.metadata.id, request.metadata.op_code);
    m.metadata.response_code = rcode;
    m.queries = request.queries.clone();
    m
}

fn finish(m: Message, signer: Option<&mut ResponseSigner>) -> Reply {
    let Ok(mut buf) = m.to_vec() else {
        return Reply::None;
    };
    if let Some(s) = signer
        && let Err(e) = s.sign(&mut buf)
    {
        tracing::error!(error = %e, "could not sign reply");
        return Reply::None;
    }
    Reply::One(buf)
}

impl DnsHandler for TransferServer {
    async fn handle(&self, request: Request) -> Reply {
        let msg = &request.message;
        let mut signer = match verify_request(&request.raw, msg, &self.keys) {
            RequestAuth::Unsigned => None,
            RequestAuth::Signed(s) => Some(s),
            RequestAuth::Failed(failure) => {
                if apex_net::quiet::allow() {
                    tracing::warn!(peer = %request.src, error = ?failure.error, "transfer request with a bad TSIG");
                }
                return failure.reply(msg).map_or(Reply::None, Reply::One);
            }
        };
        if msg.metadata.op_code != OpCode::Query {
            return finish(reply_to(msg, ResponseCode::NotImp), signer.as_mut());
        }
        let [query] = msg.queries.as_slice() else {
            return finish(reply_to(msg, ResponseCode::FormErr), signer.as_mut());
        };
        let zone = ZoneName::from_name(query.name().clone());
        let qtype = query.query_type();
        match qtype {
            RecordType::SOA => {}
            RecordType::AXFR | RecordType::IXFR if signer.is_some() => {}
            RecordType::AXFR | RecordType::IXFR => {
                match self.own_secondary(&zone, request.src).await {
                    Ok(true) => {}
                    Ok(false) => {
                        if apex_net::quiet::allow() {
                            tracing::warn!(peer = %request.src, zone.name = %zone, "unsigned transfer request refused");
                        }
                        return finish(reply_to(msg, ResponseCode::Refused), None);
                    }
                    Err(e) => {
                        tracing::error!(zone.name = %zone, error = %e, "could not read the zone's secondaries");
                        return finish(reply_to(msg, ResponseCode::ServFail), None);
                    }
                }
            }
            _ => return finish(reply_to(msg, ResponseCode::Refused), signer.as_mut()),
        }
        if qtype == RecordType::SOA || request.transport == Transport::Udp {
            // Over UDP a transfer request gets the SOA alone: the client goes on over TCP.
            let soa = match self.soa(&zone).await {
                Ok(Some(soa)) => soa,
                Ok(None) => return finish(reply_to(msg, ResponseCode::Refused), signer.as_mut()),
                Err(e) => {
                    tracing::error!(zone.name = %zone, error = %e, "could not read the zone's serial");
                    return finish(reply_to(msg, ResponseCode::ServFail), signer.as_mut());
                }
            };
            let mut m = reply_to(msg, ResponseCode::NoError);
            m.metadata.authoritative = true;
            m.answers.push(soa);
            return finish(m, signer.as_mut());
        }
        if qtype == RecordType::IXFR && zone.name() != &self.ctx.core.platform.catalog {
            let client = msg.authorities.iter().find_map(|r| match &r.data {
                RData::SOA(soa) => Some(soa.serial),
                _ => None,
            });
            if let Some(client) = client {
                match self.incremental(&zone, client).await {
                    Ok(Some(records)) => {
                        tracing::info!(peer = %request.src, zone.name = %zone, from = client, records = records.len(), "incremental zone transfer");
                        return Reply::Stream(stream_records(msg.clone(), records, signer));
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(zone.name = %zone, error = %e, "IXFR from stored diffs failed; sending the zone");
                    }
                }
            }
        }
        let records = match self.zone_records(&zone).await {
            Ok(Some(r)) if !r.is_empty() => r,
            Ok(_) => return finish(reply_to(msg, ResponseCode::Refused), signer.as_mut()),
            Err(e) => {
                tracing::error!(zone.name = %zone, error = %e, "could not load zone for transfer");
                return finish(reply_to(msg, ResponseCode::ServFail), signer.as_mut());
            }
        };
        tracing::info!(peer = %request.src, zone.name = %zone, records = records.len(), signed = signer.is_some(), "zone transfer");
        // AXFR form: the SOA again at the end.
        let mut records = records;
        records.push(records[0].clone());
        Reply::Stream(stream_records(msg.clone(), records, signer))
    }
}

impl TransferServer {
    /// Whether `peer` is an address of one of `zone`'s own secondaries (never for the
    /// catalog, which only the fleet may read).
    async fn own_secondary(&self, zone: &ZoneName, peer: SocketAddr) -> anyhow::Result<bool> {
        if zone.name() == &self.ctx.core.platform.catalog {
            return Ok(false);
        }
        let Some(list) = apex_core::domain::secondaries_of(&self.ctx.core.pool, zone).await? else {
            return Ok(false);
        };
        let ip = peer.ip().to_canonical();
        // Stored while the platform allowed non-public addresses, such an address stops
        // counting once it no longer does (as it stops getting NOTIFY).
        if !self.ctx.core.platform.secondary_allow_private
            && apex_core::address::refused(ip).is_some()
        {
            return Ok(false);
        }
        Ok(list
            .iter()
            .any(|s| s.addresses.iter().any(|a| a.to_canonical() == ip)))
    }

    /// The SOA of the newest published version, without loading the zone: SOA queries are
    /// frequent (every secondary's refresh check) and must stay cheap, so answers are kept
    /// briefly ([`SoaCache`]).
    async fn soa(&self, zone: &ZoneName) -> anyhow::Result<Option<Record>> {
        if let Some(soa) = self.ctx.soa_cache.get(zone.name()) {
            return Ok(soa);
        }
        let soa = self.soa_now(zone).await?;
        self.ctx.soa_cache.put(zone.name(), soa.clone());
        Ok(soa)
    }

    async fn soa_now(&self, zone: &ZoneName) -> anyhow::Result<Option<Record>> {
        let core = &self.ctx.core;
        if zone.name() == &core.platform.catalog {
            let (serial, _) = apex_core::catalog::serials(&core.pool).await?;
            return Ok(Some(catalog::soa(&core.platform.catalog, serial)));
        }
        Ok(versions::published_serial(&core.pool, zone)
            .await?
            .map(|(_, serial, timers)| {
                render::soa_record(zone, serial, &timers.apply(&core.platform.soa)).to_record()
            })
            .transpose()?)
    }

    /// The IXFR answer for a client at serial `client`: the current SOA alone when the client
    /// is current, or the current SOA, each stored step (old SOA, removed records, new SOA,
    /// added records) and the current SOA again. `None` when the steps are not all kept.
    async fn incremental(
        &self,
        zone: &ZoneName,
        client: u32,
    ) -> anyhow::Result<Option<Vec<Record>>> {
        let core = &self.ctx.core;
        let Some((domain, serial, _)) = versions::published_serial(&core.pool, zone).await? else {
            return Ok(None);
        };
        if !apex_zone::serial::serial_gt(serial, client) {
            let soa = versions::soa(&core.pool, domain, serial).await?;
            return Ok(soa.map(|soa| vec![soa]));
        }
        let Some(steps) = versions::diffs_between(&core.pool, domain, client, serial).await? else {
            return Ok(None);
        };
        let mut records = Vec::new();
        for step in &steps {
            let (removed, added) = versions::split_diff(step)
                .ok_or_else(|| anyhow::anyhow!("malformed stored diff"))?;
            records.extend(wire::decode(removed)?);
            records.extend(wire::decode(added)?);
        }
        // The newest SOA is the last step's "added" SOA: it opens and closes the answer.
        let Some(newest) = steps
            .last()
            .and_then(|s| versions::split_diff(s))
            .and_then(|(_, added)| wire::decode(added).ok())
            .and_then(|a| a.into_iter().next())
        else {
            return Ok(None);
        };
        records.insert(0, newest.clone());
        records.push(newest);
        Ok(Some(records))
    }

    /// The records of the newest published version of `zone` (or the catalog), SOA first.
    async fn zone_records(&self, zone: &ZoneName) -> anyhow::Result<Option<Vec<Record>>> {
        let core = &self.ctx.core;
        if zone.name() == &core.platform.catalog {
            let (serial, members) = apex_core::catalog::snapshot(&core.pool).await?;
            return Ok(Some(catalog::render(
                &core.platform.catalog,
                serial,
                &members,
            )));
        }
        let Some((domain, serial, _)) = versions::published_serial(&core.pool, zone).await? else {
            return Ok(None);
        };
        let Some(version) = versions::load(&core.pool, domain, serial).await? else {
            return Ok(None);
        };
        Ok(Some(wire::decode(&version.data)?))
    }
}

/// Sends `records`, in order, as a sequence of messages, each signed when the request was.
fn stream_records(
    request: Message,
    records: Vec<Record>,
    mut signer: Option<ResponseSigner>,
) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel(8);
    tokio::spawn(async move {
        let all = records.into_iter();
        let mut batch: Vec<Record> = Vec::new();
        let mut size = 0;
        let mut first = true;
        let mut send = |batch: Vec<Record>, first: bool| -> Option<Vec<u8>> {
            let mut m = reply_to(&request, ResponseCode::NoError);
            m.metadata.authoritative = true;
            if !first {
                m.queries.clear();
            }
            m.answers = batch;
            let mut buf = m.to_vec().ok()?;
            if let Some(signer) = signer.as_mut() {
                signer.sign(&mut buf).ok()?;
            }
            Some(buf)
        };
        for r in all {
            let len = encoded_len(&r);
            if !batch.is_empty() && size + len > MESSAGE_TARGET {
                let Some(buf) = send(std::mem::take(&mut batch), first) else {
                    tracing::error!(
                        "could not encode or sign a transfer message; transfer cut short"
                    );
                    return;
                };
                first = false;
                size = 0;
                if tx.send(buf).await.is_err() {
                    return;
                }
            }
            size += len;
            batch.push(r);
        }
        if let Some(buf) = send(batch, first) {
            let _ = tx.send(buf).await;
        }
    });
    rx
}

fn encoded_len(r: &Record) -> usize {
    let mut buf = Vec::with_capacity(64);
    let mut enc = BinEncoder::new(&mut buf);
    r.emit(&mut enc).map(|_| buf.len()).unwrap_or(512)
}
