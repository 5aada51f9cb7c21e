//! Shared pieces of the wire tests: a tiny fake hidden primary (AXFR and SOA with TSIG, built
//! on apex-net's serving loops), a nameserver started against it, and query helpers.

// Each test file uses a different subset of these helpers, and test helpers may panic
// (outside `#[test]` functions clippy's allow-unwrap-in-tests does not reach them).
#![allow(dead_code, clippy::unwrap_used)]

pub mod peers;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apex_dnsserver::{CatalogConfig, Config, Running};
use apex_net::TsigKey;
use apex_net::server::{
    Allow, DnsHandler, Reply, Request, TcpLimits, UdpLimits, bind_both, serve_tcp, serve_udp,
};
use apex_net::tsig::{RequestAuth, verify_request};
use apex_zone::catalog::{Member, render};
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{NS, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::net::{TcpStream, UdpSocket};
use tokio::task::JoinSet;

/// The catalog every test follows.
pub const CATALOG: &str = "catalog.apex.invalid.";

pub fn n(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

/// A fresh fleet key.
pub fn key() -> TsigKey {
    other_key("apex-fleet")
}

/// A fresh random key named `name`: not the fleet's, even with the fleet's name.
pub fn other_key(name: &str) -> TsigKey {
    TsigKey::parse(&TsigKey::generate_text(name)).unwrap()
}

/// SOA timers of a test zone: (refresh, retry, expire).
pub type Timers = (i32, i32, i32);

/// Timers that never fire during a test: NOTIFY must do the work.
pub const QUIET: Timers = (3600, 600, 86400);

/// A zone: SOA (with `timers`), NS at the apex, then `records` as (owner, data).
pub fn zone_with(
    origin: &str,
    serial: u32,
    timers: Timers,
    records: Vec<(&str, RData)>,
) -> Vec<Record> {
    let (refresh, retry, expire) = timers;
    let soa = SOA::new(
        n(&format!("ns1.{origin}")),
        n(&format!("hostmaster.{origin}")),
        serial,
        refresh,
        retry,
        expire,
        300,
    );
    let mut out = vec![
        Record::from_rdata(n(origin), 3600, RData::SOA(soa)),
        Record::from_rdata(n(origin), 3600, RData::NS(NS(n(&format!("ns1.{origin}"))))),
    ];
    out.extend(
        records
            .into_iter()
            .map(|(owner, data)| Record::from_rdata(n(owner), 300, data)),
    );
    out
}

pub fn zone(origin: &str, serial: u32, records: Vec<(&str, RData)>) -> Vec<Record> {
    zone_with(origin, serial, QUIET, records)
}

pub fn a(last: u8) -> RData {
    RData::A(hickory_proto::rr::rdata::A::new(192, 0, 2, last))
}

/// The catalog at `serial` listing `members` as (unique id, zone).
pub fn catalog(serial: u32, members: &[(&str, &str)]) -> Vec<Record> {
    let members: Vec<Member> = members
        .iter()
        .map(|(id, zone)| Member {
            id: (*id).to_string(),
            zone: n(zone),
        })
        .collect();
    render(&n(CATALOG), serial, &members)
}

#[derive(Default)]
struct PrimaryState {
    zones: Mutex<HashMap<Name, Vec<Record>>>,
    transfers: Mutex<HashMap<Name, usize>>,
    soa_queries: AtomicUsize,
}

struct PrimaryHandler {
    state: Arc<PrimaryState>,
    key: TsigKey,
}

impl DnsHandler for PrimaryHandler {
    async fn handle(&self, request: Request) -> Reply {
        let mut signer = match verify_request(
            &request.raw,
            &request.message,
            std::slice::from_ref(&self.key),
        ) {
            RequestAuth::Signed(signer) => signer,
            RequestAuth::Failed(failure) => {
                return failure
                    .reply(&request.message)
                    .map_or(Reply::None, Reply::One);
            }
            // The hidden primary talks to the fleet only, and the fleet signs.
            RequestAuth::Unsigned => {
                let mut m = Message::response(request.message.metadata.id, OpCode::Query);
                m.metadata.response_code = ResponseCode::Refused;
                m.queries = request.message.queries.clone();
                return Reply::One(m.to_vec().unwrap());
            }
        };
        let mut reply = Message::response(request.message.metadata.id, OpCode::Query);
        reply.queries = request.message.queries.clone();
        let query = &request.message.queries[0];
        let name = query.name().to_lowercase();
        let records = self.state.zones.lock().unwrap().get(&name).cloned();
        match (records, query.query_type()) {
            (Some(records), RecordType::AXFR) => {
                *self
                    .state
                    .transfers
                    .lock()
                    .unwrap()
                    .entry(name)
                    .or_default() += 1;
                reply.metadata.authoritative = true;
                reply.answers = records.clone();
                reply.answers.push(records[0].clone());
            }
            (Some(records), RecordType::SOA) => {
                self.state.soa_queries.fetch_add(1, Ordering::SeqCst);
                reply.metadata.authoritative = true;
                reply.answers.push(records[0].clone());
            }
            _ => reply.metadata.response_code = ResponseCode::Refused,
        }
        let mut bytes = reply.to_vec().unwrap();
        signer.sign(&mut bytes).unwrap();
        Reply::One(bytes)
    }
}

/// A hidden primary serving zones by AXFR and SOA, TSIG required, on 127.0.0.1.
pub struct FakePrimary {
    pub addr: SocketAddr,
    state: Arc<PrimaryState>,
    _tasks: JoinSet<()>,
}

impl FakePrimary {
    pub async fn start(key: &TsigKey) -> Self {
        let (udp, tcp, addr) = bind_both("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let state = Arc::new(PrimaryState::default());
        let handler = Arc::new(PrimaryHandler {
            state: state.clone(),
            key: key.clone(),
        });
        let mut tasks = JoinSet::new();
        tasks.spawn(serve_udp(
            udp,
            handler.clone(),
            UdpLimits::default(),
            Allow::default(),
        ));
        tasks.spawn(serve_tcp(
            tcp,
            handler,
            TcpLimits::default(),
            Allow::default(),
        ));
        Self {
            addr,
            state,
            _tasks: tasks,
        }
    }

    /// Serves `records` (SOA first) as the zone named by the SOA owner.
    pub fn set_zone(&self, records: Vec<Record>) {
        let name = records[0].name.to_lowercase();
        self.state.zones.lock().unwrap().insert(name, records);
    }

    /// Stops serving `zone` (SOA and AXFR are refused).
    pub fn drop_zone(&self, zone: &str) {
        self.state.zones.lock().unwrap().remove(&n(zone));
    }

    /// AXFRs of `zone` served so far.
    pub fn transfers(&self, zone: &str) -> usize {
        self.state
            .transfers
            .lock()
            .unwrap()
            .get(&n(zone))
            .copied()
            .unwrap_or_default()
    }

    /// SOA queries answered so far, all zones.
    pub fn soa_queries(&self) -> usize {
        self.state.soa_queries.load(Ordering::SeqCst)
    }
}

/// A nameserver on 127.0.0.1 (port 0) following [`CATALOG`] from `primaries`.
pub async fn start_server(primaries: Vec<SocketAddr>, key: &TsigKey) -> Running {
    start_server_with(primaries, key, None).await
}

/// [`start_server`] keeping its zones in `data_dir`.
pub async fn start_server_with(
    primaries: Vec<SocketAddr>,
    key: &TsigKey,
    data_dir: Option<&std::path::Path>,
) -> Running {
    let catalog = CatalogConfig::new(&n(CATALOG), primaries, key.clone());
    let mut config = Config::new(vec!["127.0.0.1:0".parse().unwrap()], catalog);
    config.data_dir = data_dir.map(std::path::Path::to_path_buf);
    apex_dnsserver::start(config).await.unwrap()
}

/// A query message with id 1 and an optional EDNS payload size.
pub fn query_message(name: &str, rtype: RecordType, edns: Option<u16>) -> Message {
    let mut m = Message::new(0x1234, MessageType::Query, OpCode::Query);
    m.add_query(Query::query(n(name), rtype));
    if let Some(size) = edns {
        let mut e = Edns::new();
        e.set_max_payload(size);
        m.set_edns(e);
    }
    m
}

/// Sends `message` over UDP from `local` and decodes the reply.
pub async fn exchange_udp_from(local: &str, server: SocketAddr, message: &Message) -> Message {
    let socket = UdpSocket::bind(local).await.unwrap();
    socket
        .send_to(&message.to_vec().unwrap(), server)
        .await
        .unwrap();
    let mut buf = vec![0u8; 65_535];
    let (len, _) = tokio::time::timeout(Duration::from_secs(2), socket.recv_from(&mut buf))
        .await
        .expect("no reply within 2 s")
        .unwrap();
    Message::from_vec(&buf[..len]).unwrap()
}

/// Sends `message` over UDP and decodes the reply.
pub async fn exchange_udp(server: SocketAddr, message: &Message) -> Message {
    exchange_udp_from("127.0.0.1:0", server, message).await
}

/// Sends `message` over TCP and decodes the reply.
pub async fn exchange_tcp(server: SocketAddr, message: &Message) -> Message {
    let mut stream = TcpStream::connect(server).await.unwrap();
    apex_net::frame::write_frame(
        &mut stream,
        &message.to_vec().unwrap(),
        apex_net::frame::Oversize::Error,
    )
    .await
    .unwrap();
    let frame = tokio::time::timeout(
        Duration::from_secs(2),
        apex_net::frame::read_frame(&mut stream),
    )
    .await
    .expect("no reply within 2 s")
    .unwrap()
    .unwrap();
    Message::from_vec(&frame).unwrap()
}

/// Asks `server` over UDP, with EDNS (payload 1232).
pub async fn ask(server: SocketAddr, name: &str, rtype: RecordType) -> Message {
    exchange_udp(server, &query_message(name, rtype, Some(1232))).await
}

/// Polls `check` every 20 ms until it holds or `timeout` passes; true if it held.
pub async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The IPv4 addresses in the answer section.
pub fn addresses(m: &Message) -> Vec<String> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0.to_string()),
            _ => None,
        })
        .collect()
}

/// A primary serving the catalog with `members` (id, zone) and each member zone with one
/// `www` A record ending in `last`; and a nameserver following it, waited on until every
/// member answers.
pub async fn setup(members: &[(&str, &str)]) -> (FakePrimary, Running, TsigKey) {
    let key = key();
    let primary = FakePrimary::start(&key).await;
    primary.set_zone(catalog(1, members));
    for (_, zone_name) in members {
        let www = format!("www.{zone_name}");
        primary.set_zone(zone(zone_name, 1, vec![(&www, a(1))]));
    }
    let server = start_server(vec![primary.addr], &key).await;
    let addr = server.local_addrs()[0];
    for (_, zone_name) in members {
        let www = format!("www.{zone_name}");
        let www = www.as_str();
        let loaded = eventually(Duration::from_secs(5), move || async move {
            ask(addr, www, RecordType::A).await.metadata.response_code == ResponseCode::NoError
        })
        .await;
        assert!(loaded, "{zone_name} was not loaded");
    }
    (primary, server, key)
}

/// A NOTIFY for `zone`, TSIG-signed with `key` if given.
pub fn notify_message(zone: &str, key: Option<&TsigKey>) -> Message {
    let mut m = Message::new(0x4242, MessageType::Query, OpCode::Notify);
    m.metadata.authoritative = true;
    m.add_query(Query::query(n(zone), RecordType::SOA));
    if let Some(key) = key {
        let (tsig, _) = key
            .signer()
            .sign_message(&m, apex_net::tsig::now())
            .unwrap();
        m.set_signature(tsig);
    }
    m
}
