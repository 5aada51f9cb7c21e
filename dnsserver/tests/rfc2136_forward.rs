//! RFC 2136 section 6: UPDATE sent to a nameserver goes to the primary untouched, over UDP
//! or TCP, and the primary's answer comes back untouched; with no primary it is refused, and
//! a primary that does not answer gets the client a SERVFAIL.

#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use apex_dnsserver::{CatalogConfig, Config};
use common::*;
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Record, RecordType};
use tokio::net::TcpListener;

/// A primary's UPDATE listener: keeps what it is sent, answers YXRRSET (so the relayed rcode
/// is its own, not the nameserver's).
async fn primary() -> (SocketAddr, Arc<Mutex<Vec<Vec<u8>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let kept = seen.clone();
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let Some(request) = apex_net::frame::read_frame(&mut stream).await.unwrap() else {
                continue;
            };
            kept.lock().unwrap().push(request.clone());
            let m = Message::from_vec(&request).unwrap();
            let mut reply = Message::response(m.metadata.id, OpCode::Update);
            reply.metadata.response_code = ResponseCode::YXRRSet;
            reply.queries = m.queries.clone();
            apex_net::frame::write_frame(
                &mut stream,
                &reply.to_vec().unwrap(),
                apex_net::frame::Oversize::Error,
            )
            .await
            .unwrap();
        }
    });
    (addr, seen)
}

fn update_message() -> Message {
    let mut m = Message::new(0x4242, MessageType::Query, OpCode::Update);
    m.add_query(Query::query(n("example.com."), RecordType::SOA));
    let mut add = Record::from_rdata(n("www.example.com."), 60, a(7));
    add.dns_class = DNSClass::IN;
    m.authorities.push(add);
    m
}

/// A nameserver following a catalog from a primary that is not there (transfers fail, which
/// UPDATE does not need), forwarding UPDATE to `forward`.
async fn server(forward: SocketAddr) -> apex_dnsserver::Running {
    let mut config = Config::new(
        vec!["127.0.0.1:0".parse().unwrap()],
        CatalogConfig::new(&n(CATALOG), vec![closed_port()], key()),
    );
    config.update_forward = Some(forward);
    apex_dnsserver::start(config).await.unwrap()
}

/// A loopback port nobody listens on: connections to it are refused at once.
fn closed_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

#[tokio::test]
async fn section_6_update_is_forwarded_untouched_and_answered_by_the_primary() {
    let (primary, seen) = primary().await;
    let running = server(primary).await;
    let addr = running.local_addrs()[0];
    let m = update_message();
    for reply in [exchange_udp(addr, &m).await, exchange_tcp(addr, &m).await] {
        assert_eq!(reply.metadata.id, 0x4242);
        assert_eq!(reply.metadata.response_code, ResponseCode::YXRRSet);
    }
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert!(
        seen.iter().all(|s| s == &m.to_vec().unwrap()),
        "forwarded byte for byte"
    );
}

#[tokio::test]
async fn section_6_without_a_primary_update_is_refused() {
    // Zone files alone: no primary at all.
    let dir = std::env::temp_dir().join(format!("apex-rfc2136-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("example.com.zone");
    std::fs::write(
        &file,
        "example.com. 300 IN SOA ns1.example.com. h.example.com. 1 3600 600 86400 300\n\
         example.com. 300 IN NS ns1.example.com.\n",
    )
    .unwrap();
    let mut config = Config::new(
        vec!["127.0.0.1:0".parse().unwrap()],
        CatalogConfig::new(&n(CATALOG), vec![closed_port()], key()),
    );
    config.catalogs.clear();
    config.zones.push(apex_dnsserver::config::StaticZone {
        name: apex_zone::dname::DName::from_name(&n("example.com.")),
        file,
    });
    assert_eq!(config.update_target(), None);
    let running = apex_dnsserver::start(config).await.unwrap();
    let addr = running.local_addrs()[0];
    let reply = exchange_udp(addr, &update_message()).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::Refused);
}

#[tokio::test]
async fn section_6_a_silent_primary_gets_the_client_a_servfail() {
    let running = server(closed_port()).await;
    let addr = running.local_addrs()[0];
    let reply = exchange_tcp(addr, &update_message()).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::ServFail);
}
