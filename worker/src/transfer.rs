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
//! - A domain's own TSIG keys ([`apex_core::tsig_keys`], looked up by the name a message is
//!   signed with): a key that may transfer gets AXFR and IXFR of its own zone and no other;
//!   a key that may update gets RFC 2136 UPDATE of its zone ([`apex_core::dns_update`]), the
//!   answer signed with it. Every use is audited (`tsig_key.use`).
//! - A customer catalog's key ([`apex_core::account_catalogs`]): SOA, AXFR and IXFR of that
//!   catalog (`<user id>.<catalog>`) and of its members, nothing else; a customer's catalog
//!   answers nobody else (not even the fleet's keys). Audited like a domain's key.
//! - UPDATE unsigned, or signed with a fleet key or a catalog key: REFUSED.
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

use crate::axfr::{self, MESSAGE_TARGET};

/// A customer's key a message was signed with.
#[derive(Debug, Clone)]
enum Customer {
    /// A domain's TSIG key.
    Domain(apex_core::tsig_keys::LoadedKey),
    /// An account's catalog key.
    Catalog(apex_core::account_catalogs::CatalogKey),
}

impl Customer {
    fn name(&self) -> &str {
        match self {
            Customer::Domain(k) => &k.name,
            Customer::Catalog(k) => &k.name,
        }
    }

    fn config_text(&self) -> String {
        match self {
            Customer::Domain(k) => k.config_text(),
            Customer::Catalog(k) => k.config_text(),
        }
    }
}

struct TransferServer {
    ctx: Arc<Context>,
    keys: Vec<TsigKey>,
    /// UPDATE's limits per key and per zone (buckets shared through Redis by the workers).
    update_limiter: apex_core::ratelimit::Limiter,
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
    /// A listener for RFC 2136 UPDATE from anywhere (`APEX_UPDATE_LISTEN`), when the fleet's
    /// listener is kept to the fleet (the nameservers forward UPDATE to either).
    pub update: Option<SocketAddr>,
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
            update: None,
            tcp: TcpLimits::default(),
            udp: UdpLimits::default(),
        }
    }
}

/// The addresses the transfer server listens on.
#[derive(Debug, Clone, Copy)]
pub struct Bound {
    /// The fleet's.
    pub fleet: SocketAddr,
    /// The customers' secondaries', if configured.
    pub customers: Option<SocketAddr>,
    /// UPDATE's, if configured.
    pub update: Option<SocketAddr>,
}

/// Binds the transfer server's UDP and TCP sockets and starts serving in `tasks`.
pub async fn start(
    tasks: &mut JoinSet<()>,
    ctx: Arc<Context>,
    listeners: Listeners,
    keys: Vec<TsigKey>,
) -> anyhow::Result<Bound> {
    // An UPDATE waits for Redis up to a second (the API's checks wait 50 ms): it is not
    // latency-bound, and a check that gives up on Redis counts in this process alone, whose
    // buckets do not know what Redis counted, so a slow moment would let a burst more through.
    let update_limiter = apex_core::ratelimit::Limiter::new(
        apex_core::ratelimit::Settings {
            redis_timeout: std::time::Duration::from_secs(1),
            ..apex_core::ratelimit::Settings::off()
        },
        ctx.core.queue.clone(),
    );
    let handler = Arc::new(TransferServer {
        ctx,
        keys,
        update_limiter,
    });
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
    let mut open = async |addr: Option<SocketAddr>| -> anyhow::Result<Option<SocketAddr>> {
        let Some(addr) = addr else { return Ok(None) };
        let (udp, tcp, bound) = bind_both(addr).await?;
        tasks.spawn(serve_udp(
            udp,
            handler.clone(),
            listeners.udp,
            Allow::default(),
        ));
        tasks.spawn(serve_tcp(
            tcp,
            handler.clone(),
            listeners.tcp,
            Allow::default(),
        ));
        Ok(Some(bound))
    };
    let customers = open(listeners.customers).await?;
    let update = open(listeners.update).await?;
    Ok(Bound {
        fleet,
        customers,
        update,
    })
}

/// How long a SOA answer is kept. This worker puts a zone's new SOA in before it announces a
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

    /// Keeps `soa` as `zone`'s answer (its new version, just stored).
    pub fn fresh(&self, zone: &Name, soa: Record) {
        self.put(zone, Some(soa));
    }

    fn get(&self, zone: &Name) -> Option<Option<Record>> {
        let e = self.entries.lock().ok()?;
        let (at, soa) = e.get(&zone.to_lowercase())?;
        (at.elapsed() < SOA_KEPT).then(|| soa.clone())
    }

    /// Keeps `soa` for `zone`, unless a newer serial is kept already (RFC 1982): a publish
    /// that got here first, or the answer of a read of Postgres that began before it.
    fn put(&self, zone: &Name, soa: Option<Record>) {
        let serial = |r: &Record| match &r.data {
            RData::SOA(s) => Some(s.serial),
            _ => None,
        };
        if let Ok(mut e) = self.entries.lock() {
            let key = zone.to_lowercase();
            let kept = e
                .get(&key)
                .and_then(|(at, r)| (at.elapsed() < SOA_KEPT).then_some(r.as_ref()?))
                .and_then(serial);
            if let (Some(kept), Some(new)) = (kept, soa.as_ref().and_then(serial))
                && apex_zone::serial::serial_gt(kept, new)
            {
                return;
            }
            if e.len() >= SOA_ENTRIES {
                e.clear();
            }
            e.insert(key, (std::time::Instant::now(), soa));
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

/// A transfer answered from stored blobs ([`axfr::stream`]): the reply's header and question
/// come from hickory, the records are copied as stored.
fn raw_reply(request: &Message, parts: Vec<axfr::Part>, signer: Option<ResponseSigner>) -> Reply {
    let mut m = reply_to(request, ResponseCode::NoError);
    m.metadata.authoritative = true;
    let Ok(first) = m.to_vec() else {
        return Reply::None;
    };
    m.queries.clear();
    let Ok(next) = m.to_vec() else {
        return Reply::None;
    };
    Reply::Stream(axfr::stream(first, next, parts, signer))
}

impl DnsHandler for TransferServer {
    async fn handle(&self, request: Request) -> Reply {
        let msg = &request.message;
        let (auth, customer) = match self.verify(&request).await {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(peer = %request.src, error = %e, "could not look up a TSIG key");
                return finish(reply_to(msg, ResponseCode::ServFail), None);
            }
        };
        let mut signer = match auth {
            RequestAuth::Unsigned => None,
            RequestAuth::Signed(s) => Some(s),
            RequestAuth::Failed(failure) => {
                if apex_net::quiet::allow() {
                    tracing::warn!(peer = %request.src, error = ?failure.error, "request with a bad TSIG");
                }
                return failure.reply(msg).map_or(Reply::None, Reply::One);
            }
        };
        if msg.metadata.op_code == OpCode::Update {
            return self.update(&request, customer.as_ref(), signer).await;
        }
        if msg.metadata.op_code != OpCode::Query {
            return finish(reply_to(msg, ResponseCode::NotImp), signer.as_mut());
        }
        let [query] = msg.queries.as_slice() else {
            return finish(reply_to(msg, ResponseCode::FormErr), signer.as_mut());
        };
        let zone = ZoneName::from_name(query.name().clone());
        let qtype = query.query_type();
        let platform = &self.ctx.core.platform;
        let account_catalog = apex_core::account_catalogs::account_of(platform, zone.name());
        if let Some(key) = &customer {
            let allowed = match self.in_scope(key, &zone, qtype).await {
                Ok(a) => a,
                Err(e) => {
                    tracing::error!(zone.name = %zone, error = %e, "could not check a key's scope");
                    return finish(reply_to(msg, ResponseCode::ServFail), signer.as_mut());
                }
            };
            if qtype != RecordType::SOA {
                let detail = serde_json::json!({
                    "op": qtype.to_string(), "zone": zone.as_text(), "allowed": allowed,
                });
                self.audit(key, &request, allowed, detail).await;
            }
            if !allowed {
                if apex_net::quiet::allow() {
                    tracing::warn!(peer = %request.src, zone.name = %zone, tsig_key.name = %key.name(), "request outside the key's scope refused");
                }
                return finish(reply_to(msg, ResponseCode::Refused), signer.as_mut());
            }
        } else if account_catalog.is_some() {
            // A customer's catalog is for their catalog key only (not even the fleet's).
            return finish(reply_to(msg, ResponseCode::Refused), signer.as_mut());
        }
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
        if qtype == RecordType::IXFR
            && zone.name() != &self.ctx.core.platform.catalog
            && account_catalog.is_none()
        {
            let client = msg.authorities.iter().find_map(|r| match &r.data {
                RData::SOA(soa) => Some(soa.serial),
                _ => None,
            });
            if let Some(client) = client {
                match self.incremental(&zone, client).await {
                    Ok(Some(parts)) => {
                        tracing::info!(peer = %request.src, zone.name = %zone, from = client, records = parts.iter().map(axfr::Part::count).sum::<usize>(), "incremental zone transfer");
                        return raw_reply(msg, parts, signer);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(zone.name = %zone, error = %e, "IXFR from stored diffs failed; sending the zone");
                    }
                }
            }
        }
        let started = std::time::Instant::now();
        let catalog = zone.name() == &self.ctx.core.platform.catalog || account_catalog.is_some();
        if !catalog {
            let data = match self.version(&zone).await {
                Ok(Some(d)) => d,
                Ok(None) => {
                    return finish(reply_to(msg, ResponseCode::Refused), signer.as_mut());
                }
                Err(e) => {
                    tracing::error!(zone.name = %zone, error = %e, "could not load zone for transfer");
                    return finish(reply_to(msg, ResponseCode::ServFail), signer.as_mut());
                }
            };
            // AXFR form: the SOA again at the end.
            let parts = vec![axfr::Part::All(data.clone()), axfr::Part::First(data)];
            tracing::info!(peer = %request.src, zone.name = %zone, records = parts.iter().map(axfr::Part::count).sum::<usize>(), signed = signer.is_some(), load_ms = started.elapsed().as_secs_f64() * 1000.0, "zone transfer");
            return raw_reply(msg, parts, signer);
        }
        let records = match self.catalog_records(&zone).await {
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
    /// Checks the request's TSIG: against the fleet's keys when it names one of them, else
    /// against the domain key of that name (returned too, when the message verifies).
    async fn verify(&self, request: &Request) -> anyhow::Result<(RequestAuth, Option<Customer>)> {
        let msg = &request.message;
        let Some(tsig) = msg.signature() else {
            return Ok((RequestAuth::Unsigned, None));
        };
        let name = tsig.name.to_lowercase();
        if self.keys.iter().any(|k| k.name() == &name) {
            return Ok((verify_request(&request.raw, msg, &self.keys), None));
        }
        let core = &self.ctx.core;
        let loaded = apex_core::tsig_keys::by_name(
            &core.pool,
            core.platform.master_key.as_ref(),
            &name.to_ascii(),
        )
        .await?;
        let loaded = match loaded {
            Some(k) => Some(Customer::Domain(k)),
            None => apex_core::account_catalogs::key_by_name(&core.pool, &core.platform, &name)
                .await?
                .map(Customer::Catalog),
        };
        let Some(loaded) = loaded else {
            return Ok((verify_request(&request.raw, msg, &[]), None));
        };
        let key = TsigKey::parse(&loaded.config_text())?;
        match verify_request(&request.raw, msg, std::slice::from_ref(&key)) {
            RequestAuth::Signed(s) => Ok((RequestAuth::Signed(s), Some(loaded))),
            other => Ok((other, None)),
        }
    }

    /// Whether a customer's key may ask `qtype` of `zone`: a domain's key its own zone (SOA,
    /// and transfers when it may transfer); a catalog key the catalog and its members (SOA
    /// and transfers).
    async fn in_scope(
        &self,
        key: &Customer,
        zone: &ZoneName,
        qtype: RecordType,
    ) -> anyhow::Result<bool> {
        let transfer = matches!(qtype, RecordType::AXFR | RecordType::IXFR);
        if qtype != RecordType::SOA && !transfer {
            return Ok(false);
        }
        Ok(match key {
            Customer::Domain(k) => zone.as_text() == k.zone && (!transfer || k.transfer),
            Customer::Catalog(k) => {
                let core = &self.ctx.core;
                apex_core::account_catalogs::account_of(&core.platform, zone.name()) == Some(k.user)
                    || apex_core::account_catalogs::is_member(&core.pool, k.user, &zone.as_text())
                        .await?
            }
        })
    }

    /// Notes a use of a customer's key (audit log and last use); a failure to write is
    /// logged.
    async fn audit(
        &self,
        key: &Customer,
        request: &Request,
        success: bool,
        detail: serde_json::Value,
    ) {
        let pool = &self.ctx.core.pool;
        let source = Some(request.src.ip());
        let written = match key {
            Customer::Domain(k) => {
                apex_core::tsig_keys::record_use(pool, k, source, success, detail).await
            }
            Customer::Catalog(k) => {
                apex_core::account_catalogs::record_use(pool, k, source, success, detail).await
            }
        };
        if let Err(e) = written {
            tracing::error!(tsig_key.name = %key.name(), error = %e, "could not audit a TSIG key's use");
        }
    }

    /// RFC 2136 UPDATE: signed with a domain's key that may update, applied through
    /// apex-core; the answer signed with the same key.
    async fn update(
        &self,
        request: &Request,
        customer: Option<&Customer>,
        mut signer: Option<ResponseSigner>,
    ) -> Reply {
        let msg = &request.message;
        let Some(key @ Customer::Domain(domain_key)) = customer else {
            if let Some(other) = customer {
                let detail = serde_json::json!({"op": "UPDATE", "rcode": "REFUSED", "reason": "a catalog key transfers; it does not update"});
                self.audit(other, request, false, detail).await;
            }
            if apex_net::quiet::allow() {
                tracing::warn!(peer = %request.src, signed = signer.is_some(), "UPDATE without a domain's TSIG key refused");
            }
            return finish(reply_to(msg, ResponseCode::Refused), signer.as_mut());
        };
        if let Some(why) = self.over_limit(domain_key).await {
            if apex_net::quiet::allow() {
                tracing::warn!(peer = %request.src, zone.name = %domain_key.zone, tsig_key.name = %domain_key.name, "UPDATE over the rate limit refused");
            }
            let detail = serde_json::json!({"op": "UPDATE", "rcode": "REFUSED", "reason": why});
            self.audit(key, request, false, detail).await;
            return finish(reply_to(msg, ResponseCode::Refused), signer.as_mut());
        }
        let parsed = match update_message(&request.raw) {
            Ok(m) => m,
            Err(e) => {
                let detail = serde_json::json!({"op": "UPDATE", "rcode": "FORMERR", "reason": e});
                self.audit(key, request, false, detail).await;
                return finish(reply_to(msg, ResponseCode::FormErr), signer.as_mut());
            }
        };
        let actor = domain_key.actor(Some(request.src.ip()));
        let verdict = match apex_core::dns_update::apply(
            &self.ctx.core,
            &actor,
            &domain_key.zone,
            &parsed,
        )
        .await
        {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(zone.name = %domain_key.zone, tsig_key.name = %domain_key.name, error = %e, "UPDATE failed");
                apex_core::dns_update::Verdict {
                    rcode: apex_core::dns_update::Rcode::ServFail,
                    reason: "the server could not apply the update".into(),
                    change: None,
                }
            }
        };
        let rcode = ResponseCode::from_low(verdict.rcode as u8);
        tracing::info!(peer = %request.src, zone.name = %domain_key.zone, tsig_key.name = %domain_key.name, rcode = %rcode, reason = %verdict.reason, "UPDATE");
        let detail = serde_json::json!({
            "op": "UPDATE",
            "rcode": rcode.to_str(),
            "reason": verdict.reason,
            "change": verdict.change,
        });
        self.audit(
            key,
            request,
            verdict.rcode == apex_core::dns_update::Rcode::NoError,
            detail,
        )
        .await;
        finish(reply_to(msg, rcode), signer.as_mut())
    }

    /// Takes one UPDATE from the key's and the zone's buckets; `Some(reason)` when either is
    /// empty (then neither is drawn from).
    async fn over_limit(&self, key: &apex_core::tsig_keys::LoadedKey) -> Option<String> {
        use apex_core::ratelimit::Draw;
        let limits = self.ctx.core.platform.update_limits;
        let mut draws = Vec::with_capacity(2);
        if let Some(policy) = limits.key {
            draws.push(Draw {
                policy,
                subject: format!("tsig-key:{}", key.id),
            });
        }
        if let Some(policy) = limits.zone {
            draws.push(Draw {
                policy,
                subject: format!("domain:{}", key.domain),
            });
        }
        let verdict = self.update_limiter.check(&draws, 1).await;
        if verdict.allowed {
            return None;
        }
        let empty: Vec<String> = verdict
            .buckets
            .iter()
            .filter(|b| b.remaining == 0)
            .map(|b| {
                format!(
                    "{} a minute per {}",
                    b.policy.per_minute,
                    match b.policy.name {
                        "update-key" => "key",
                        _ => "zone",
                    }
                )
            })
            .collect();
        Some(format!(
            "rate limit ({}); retry in {} s",
            empty.join(", "),
            verdict.retry_after.as_secs().max(1)
        ))
    }

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
        if let Some(user) = apex_core::account_catalogs::account_of(&core.platform, zone.name()) {
            return Ok(apex_core::account_catalogs::snapshot(&core.pool, user)
                .await?
                .map(|(serial, _)| catalog::soa(zone.name(), serial)));
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
    ) -> anyhow::Result<Option<Vec<axfr::Part>>> {
        let core = &self.ctx.core;
        let Some((domain, serial, _)) = versions::published_serial(&core.pool, zone).await? else {
            return Ok(None);
        };
        let canonical = |blob: &[u8]| -> anyhow::Result<axfr::Data> {
            Ok(Arc::new(wire::to_canonical(blob)?.into_owned()))
        };
        if !apex_zone::serial::serial_gt(serial, client) {
            let soa = versions::soa(&core.pool, domain, serial).await?;
            return soa
                .map(|soa| {
                    let soa = apex_zone::record::ZoneRecord::from_record(&soa)?;
                    Ok(vec![axfr::Part::All(Arc::new(wire::encode_raw(&[soa])?))])
                })
                .transpose();
        }
        let Some(steps) = versions::diffs_between(&core.pool, domain, client, serial).await? else {
            return Ok(None);
        };
        let mut parts = Vec::with_capacity(2 * steps.len() + 2);
        for step in &steps {
            let (removed, added) = versions::split_diff(step)
                .ok_or_else(|| anyhow::anyhow!("malformed stored diff"))?;
            parts.push(axfr::Part::All(canonical(removed)?));
            parts.push(axfr::Part::All(canonical(added)?));
        }
        // The newest SOA is the last step's "added" SOA: it opens and closes the answer.
        let Some(axfr::Part::All(newest)) = parts.last() else {
            return Ok(None);
        };
        let newest = newest.clone();
        parts.insert(0, axfr::Part::First(newest.clone()));
        parts.push(axfr::Part::First(newest));
        Ok(Some(parts))
    }

    /// The newest published version of a domain's zone, in canonical form.
    async fn version(&self, zone: &ZoneName) -> anyhow::Result<Option<axfr::Data>> {
        let pool = &self.ctx.core.pool;
        let Some((domain, serial, _)) = versions::published_serial(pool, zone).await? else {
            return Ok(None);
        };
        Ok(self.ctx.versions.get(pool, domain, serial).await?)
    }

    /// The records of the platform's catalog or a customer's, SOA first.
    async fn catalog_records(&self, zone: &ZoneName) -> anyhow::Result<Option<Vec<Record>>> {
        let core = &self.ctx.core;
        if zone.name() == &core.platform.catalog {
            let (serial, members) = apex_core::catalog::snapshot(&core.pool).await?;
            return Ok(Some(catalog::render(
                &core.platform.catalog,
                serial,
                &members,
            )));
        }
        let Some(user) = apex_core::account_catalogs::account_of(&core.platform, zone.name())
        else {
            return Ok(None);
        };
        Ok(apex_core::account_catalogs::snapshot(&core.pool, user)
            .await?
            .map(|(serial, members)| catalog::render(zone.name(), serial, &members)))
    }
}

/// An UPDATE message's sections, as apex-core evaluates them: the zone, the prerequisites,
/// the updates (names and data read at the byte level, so nothing is lost to decoding).
fn update_message(raw: &[u8]) -> Result<apex_core::dns_update::Message, String> {
    let s = apex_net::message::sections(raw).map_err(|e| e.to_string())?;
    let [zone] = s.questions.as_slice() else {
        return Err("the zone section must hold exactly one zone".into());
    };
    let rr = |r: apex_net::message::RawRecord| apex_core::dns_update::Rr {
        name: r.name,
        rtype: r.rtype,
        class: r.class,
        ttl: r.ttl,
        rdata: r.rdata,
    };
    Ok(apex_core::dns_update::Message {
        zone: zone.name.clone(),
        zone_type: zone.rtype,
        zone_class: zone.class,
        prerequisites: s.answers.into_iter().map(rr).collect(),
        updates: s.authorities.into_iter().map(rr).collect(),
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::rdata::SOA;

    fn soa(zone: &Name, serial: u32) -> Record {
        let rdata = SOA::new(zone.clone(), zone.clone(), serial, 3600, 600, 86400, 300);
        Record::from_rdata(zone.clone(), 3600, RData::SOA(rdata))
    }

    fn kept_serial(cache: &SoaCache, zone: &Name) -> Option<u32> {
        match cache.get(zone)??.data {
            RData::SOA(s) => Some(s.serial),
            _ => None,
        }
    }

    #[test]
    fn a_publish_puts_its_soa_and_never_an_older_one() {
        let cache = SoaCache::default();
        let zone = Name::from_ascii("Example.com.").unwrap();
        let lower = Name::from_ascii("example.com.").unwrap();
        assert_eq!(kept_serial(&cache, &zone), None);
        cache.fresh(&zone, soa(&zone, 5));
        assert_eq!(kept_serial(&cache, &lower), Some(5));
        cache.fresh(&zone, soa(&zone, 7));
        assert_eq!(kept_serial(&cache, &zone), Some(7));
        // A publish announcing after a later one got here first does not undo it, nor does
        // a read of Postgres that began before the later one.
        cache.fresh(&zone, soa(&zone, 6));
        assert_eq!(kept_serial(&cache, &zone), Some(7));
        cache.put(&zone, Some(soa(&zone, 6)));
        assert_eq!(kept_serial(&cache, &zone), Some(7));
        cache.forget(&zone);
        assert_eq!(kept_serial(&cache, &zone), None);
        // Past the wrap (RFC 1982), 1 is newer than u32::MAX.
        cache.fresh(&zone, soa(&zone, u32::MAX));
        cache.fresh(&zone, soa(&zone, 1));
        assert_eq!(kept_serial(&cache, &zone), Some(1));
    }
}
