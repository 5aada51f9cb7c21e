//! RFC 7766 (DNS over TCP) and RFC 5936 (AXFR) on the server side: pipelined queries answered
//! in order on one connection, idle connections closed, a per-client connection limit, and
//! zone transfers out refused unless the client is allowed (by network or by TSIG).

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use apex_dnsserver::Config;
use common::peers::TempDir;
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ZONE: &str = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 host 5 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.1\nmail A 192.0.2.2\n";

async fn start(extra: &str) -> (apex_dnsserver::Running, TempDir) {
    let dir = TempDir::new("tcp");
    let file = dir.path().join("example.com.zone");
    std::fs::write(&file, ZONE).unwrap();
    let toml = format!(
        "listen = [\"127.0.0.1:0\"]\n[[zone]]\nname = \"example.com\"\nfile = \"{}\"\n{extra}",
        file.display()
    );
    let config = Config::from_toml(&toml).unwrap();
    (apex_dnsserver::start(config).await.unwrap(), dir)
}

fn query(id: u16, name: &str, rtype: RecordType) -> Vec<u8> {
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), rtype));
    m.to_vec().unwrap()
}

async fn send(stream: &mut TcpStream, bytes: &[u8]) {
    stream.write_u16(bytes.len() as u16).await.unwrap();
    stream.write_all(bytes).await.unwrap();
}

async fn receive(stream: &mut TcpStream) -> Option<Message> {
    let len = tokio::time::timeout(Duration::from_secs(3), stream.read_u16())
        .await
        .ok()?
        .ok()?;
    let mut buf = vec![0u8; usize::from(len)];
    stream.read_exact(&mut buf).await.ok()?;
    Some(Message::from_vec(&buf).unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn pipelined_queries_are_answered_in_order() {
    let (server, _dir) = start("").await;
    let mut stream = TcpStream::connect(server.local_addrs()[0]).await.unwrap();
    // Three queries in one write, before reading anything.
    let mut burst = Vec::new();
    for (id, name) in [
        (1u16, "www.example.com."),
        (2, "mail.example.com."),
        (3, "nope.example.com."),
    ] {
        let q = query(id, name, RecordType::A);
        burst.extend_from_slice(&(q.len() as u16).to_be_bytes());
        burst.extend_from_slice(&q);
    }
    stream.write_all(&burst).await.unwrap();
    for (id, rcode) in [
        (1, ResponseCode::NoError),
        (2, ResponseCode::NoError),
        (3, ResponseCode::NXDomain),
    ] {
        let m = receive(&mut stream).await.expect("reply");
        assert_eq!(m.metadata.id, id);
        assert_eq!(m.metadata.response_code, rcode);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_connections_are_closed_and_clients_limited() {
    let (server, _dir) = start("[tcp]\nidle_timeout_secs = 1\nmax_per_client = 2\n").await;
    let addr = server.local_addrs()[0];
    let mut idle = TcpStream::connect(addr).await.unwrap();
    let mut second = TcpStream::connect(addr).await.unwrap();
    // A third connection from the same address is closed at once.
    let mut third = TcpStream::connect(addr).await.unwrap();
    let q = query(9, "www.example.com.", RecordType::A);
    // (Writing may already fail: the server closed it.)
    let _ = third.write_u16(q.len() as u16).await;
    let _ = third.write_all(&q).await;
    assert!(
        receive(&mut third).await.is_none(),
        "third connection was served"
    );
    // The second still works.
    send(&mut second, &query(7, "www.example.com.", RecordType::A)).await;
    assert_eq!(receive(&mut second).await.unwrap().metadata.id, 7);
    // The idle one is closed after the timeout: reading gives end of stream.
    let mut buf = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(3), idle.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "idle connection still open: {read:?}"
    );
}

async fn axfr(addr: std::net::SocketAddr, key: Option<&apex_net::TsigKey>) -> Vec<Message> {
    let mut m = Message::new(77, MessageType::Query, OpCode::Query);
    m.add_query(Query::query(
        Name::from_ascii("example.com.").unwrap(),
        RecordType::AXFR,
    ));
    let mut verifier = None;
    if let Some(key) = key {
        let (tsig, v) = key
            .signer()
            .sign_message(&m, apex_net::tsig::now())
            .unwrap();
        m.set_signature(tsig);
        verifier = v;
    }
    let mut stream = TcpStream::connect(addr).await.unwrap();
    send(&mut stream, &m.to_vec().unwrap()).await;
    let mut out = Vec::new();
    loop {
        let Ok(Ok(len)) = tokio::time::timeout(Duration::from_secs(3), stream.read_u16()).await
        else {
            break;
        };
        let mut buf = vec![0u8; usize::from(len)];
        stream.read_exact(&mut buf).await.unwrap();
        let message = match verifier.as_mut() {
            Some(v) => v.verify(&buf).expect("reply TSIG verifies").into_message(),
            None => Message::from_vec(&buf).unwrap(),
        };
        let total =
            out.iter().map(|m: &Message| m.answers.len()).sum::<usize>() + message.answers.len();
        let done = total > 1
            && message
                .answers
                .last()
                .is_some_and(|r| r.record_type() == RecordType::SOA);
        let refused = message.metadata.response_code != ResponseCode::NoError;
        out.push(message);
        if done || refused {
            break;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn transfers_out_only_when_allowed() {
    // Not allowed: refused.
    let (server, _dir) = start("").await;
    let replies = axfr(server.local_addrs()[0], None).await;
    assert_eq!(replies[0].metadata.response_code, ResponseCode::Refused);
    drop(server);

    // Allowed by network: the whole zone, SOA first and last.
    let (server, _dir) = start("[transfer]\nallow = [\"127.0.0.0/8\"]\n").await;
    let replies = axfr(server.local_addrs()[0], None).await;
    let records: Vec<_> = replies.iter().flat_map(|m| m.answers.clone()).collect();
    assert_eq!(records.first().unwrap().record_type(), RecordType::SOA);
    assert_eq!(records.last().unwrap().record_type(), RecordType::SOA);
    assert_eq!(records.len(), 6, "{records:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn transfers_out_to_a_client_signing_with_the_catalog_key() {
    let key_text = apex_net::TsigKey::generate_text("apex-fleet");
    let key = apex_net::TsigKey::parse(&key_text).unwrap();
    // The catalog's primary is unreachable; the key is what matters here.
    let (server, _dir) = start(&format!(
        "[catalog]\nname = \"catalog.invalid.\"\nprimaries = [\"127.0.0.1:9\"]\ntsig_key = \"{key_text}\"\n"
    ))
    .await;
    let replies = axfr(server.local_addrs()[0], Some(&key)).await;
    let records: Vec<_> = replies.iter().flat_map(|m| m.answers.clone()).collect();
    assert_eq!(records.len(), 6, "{replies:?}");
    // With another key: NOTAUTH (BADKEY), nothing transferred.
    let other = apex_net::TsigKey::parse(&apex_net::TsigKey::generate_text("apex-fleet")).unwrap();
    let mut m = Message::new(78, MessageType::Query, OpCode::Query);
    m.add_query(Query::query(
        Name::from_ascii("example.com.").unwrap(),
        RecordType::AXFR,
    ));
    let (tsig, _) = other
        .signer()
        .sign_message(&m, apex_net::tsig::now())
        .unwrap();
    m.set_signature(tsig);
    let mut stream = TcpStream::connect(server.local_addrs()[0]).await.unwrap();
    send(&mut stream, &m.to_vec().unwrap()).await;
    let reply = receive(&mut stream).await.unwrap();
    assert_eq!(reply.metadata.response_code, ResponseCode::NotAuth);
    assert!(reply.answers.is_empty());
}
