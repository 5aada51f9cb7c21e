//! RFC 768 and RFC 1035 section 4.2.1 with batched receiving and sending (`recvmmsg`,
//! `sendmmsg`): many datagrams queued at once from several clients, more than one batch's
//! worth, are each answered once, to the address and port they came from, with their own id
//! and question.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use apex_dnsserver::Config;
use common::peers::TempDir;
use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RData, RecordType};
use tokio::net::UdpSocket;

const ZONE: &str = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 host 5 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.53\n";

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_from_many_clients_is_answered_each_to_its_sender() {
    let dir = TempDir::new("udp-batches");
    let file = dir.path().join("example.com.zone");
    // h0..h99, each with an address of its own, so every answer says which question it is for.
    let mut zone = ZONE.to_string();
    for i in 0..100 {
        zone.push_str(&format!("h{i} A 192.0.2.{}\n", i + 1));
    }
    std::fs::write(&file, zone).unwrap();
    let toml = format!(
        "listen = [\"127.0.0.1:0\"]\nudp_threads = 1\n[[zone]]\nname = \"example.com\"\nfile = \"{}\"\n[rrl]\nresponses_per_second = 0\n",
        file.display()
    );
    let server = apex_dnsserver::start(Config::from_toml(&toml).unwrap())
        .await
        .unwrap();
    let addr = server.local_addrs()[0];

    // Four clients, 100 queries each, all sent before any answer is read: the server finds
    // them queued and takes them in batches.
    let mut clients = Vec::new();
    for c in 0..4u16 {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        for q in 0..100u16 {
            let id = c * 1000 + q;
            let mut m = Message::new(id, MessageType::Query, OpCode::Query);
            m.add_query(Query::query(
                Name::from_ascii(format!("h{q}.example.com.")).unwrap(),
                RecordType::A,
            ));
            socket.send_to(&m.to_vec().unwrap(), addr).await.unwrap();
        }
        clients.push((c, socket));
    }
    for (c, socket) in &clients {
        let mut seen: HashMap<u16, u32> = HashMap::new();
        let mut buf = vec![0u8; 4096];
        while seen.len() < 100 {
            let (len, from) =
                tokio::time::timeout(Duration::from_secs(5), socket.recv_from(&mut buf))
                    .await
                    .unwrap_or_else(|_| panic!("client {c}: only {} answers", seen.len()))
                    .unwrap();
            assert_eq!(from, addr);
            let m = Message::from_vec(&buf[..len]).unwrap();
            let id = m.metadata.id;
            assert_eq!(id / 1000, *c, "client {c} got another client's answer {id}");
            let q = id % 1000;
            assert_eq!(m.queries[0].name().to_ascii(), format!("h{q}.example.com."));
            let RData::A(a) = &m.answers[0].data else {
                panic!("not an A answer: {m:?}");
            };
            assert_eq!(a.0.octets()[3], (q + 1) as u8);
            assert!(
                seen.insert(id, 1).is_none(),
                "client {c}: {id} answered twice"
            );
        }
    }
    server.shutdown();
}
