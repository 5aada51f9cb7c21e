//! Hardening item 3: the hidden primary under load. Two thousand connections from many
//! loopback addresses, idle or sending a hundred queries and never reading the answers, at
//! both of the transfer server's listeners; a flood of SOA datagrams for zones that do not
//! exist. Meanwhile the fleet (the embedded nameserver, from 127.0.0.1, the only address
//! `APEX_TRANSFER_ALLOW` lets on the fleet's listener) still transfers a change, and the API
//! still answers.

// Test helpers panic on the unexpected, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use common::{Env, a_records, shared_redis, test_config};
use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RecordType};
use sqlx::PgPool;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream, UdpSocket};

/// A connection to `to` from 127.0.`net`.`host`.
async fn connect_from(net: u8, host: u8, to: SocketAddr) -> Option<TcpStream> {
    let socket = TcpSocket::new_v4().ok()?;
    socket
        .bind(SocketAddr::from((Ipv4Addr::new(127, 0, net, host), 0)))
        .ok()?;
    tokio::time::timeout(Duration::from_secs(2), socket.connect(to))
        .await
        .ok()?
        .ok()
}

fn soa_query(id: u16, zone: &str) -> Vec<u8> {
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.add_query(Query::query(
        Name::from_ascii(zone).unwrap(),
        RecordType::SOA,
    ));
    m.to_vec().unwrap()
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn the_fleet_transfers_while_the_primary_is_flooded(pool: PgPool) {
    let (mut config, key) = test_config(&shared_redis(), 3600);
    config.transfer_allow = vec!["127.0.0.1".into()];
    config.transfer_customer_listen = Some("127.0.0.1:0".parse().unwrap());
    let env = Env::start(pool, config, key).await;
    let fleet = env.platform.transfer;
    let customers = env.platform.customer_transfer.unwrap();
    env.create_domain("example.com").await;
    env.add_record("example.com", "www", "A", "192.0.2.1").await;
    env.wait_for(
        "www.example.com.",
        RecordType::A,
        Duration::from_secs(10),
        |m| a_records(m) == ["192.0.2.1"],
    )
    .await;

    // 2,000 connections from 127.0.1.0/24 .. 127.0.8.0/24: half to each listener; every
    // other one sends a hundred pipelined queries and never reads.
    let started = Instant::now();
    let mut opening = tokio::task::JoinSet::new();
    for i in 0..2000u32 {
        let net = 1 + (i / 250) as u8;
        let host = 1 + (i % 250) as u8;
        let to = if i % 2 == 0 { fleet } else { customers };
        opening.spawn(async move {
            let mut stream = connect_from(net, host, to).await?;
            if i % 4 < 2 {
                let mut burst = Vec::new();
                for id in 0..100u16 {
                    let q = soa_query(id, "example.com.");
                    burst.extend_from_slice(&(q.len() as u16).to_be_bytes());
                    burst.extend_from_slice(&q);
                }
                let _ = tokio::time::timeout(Duration::from_millis(200), stream.write_all(&burst))
                    .await;
            }
            Some(stream)
        });
    }
    let held: Vec<TcpStream> = opening.join_all().await.into_iter().flatten().collect();
    let opened = held.len();
    eprintln!("{opened} connections opened in {:?}", started.elapsed());

    // SOA datagrams for zones that do not exist, from one address: answered up to its
    // budget, and from memory.
    let udp = UdpSocket::bind("127.0.0.9:0").await.unwrap();
    for id in 0..3000u16 {
        let _ = udp
            .send_to(&soa_query(id, &format!("z{id}.example.net.")), customers)
            .await;
    }
    let mut answered = 0;
    let mut buf = [0u8; 512];
    while let Ok(Ok(_)) =
        tokio::time::timeout(Duration::from_millis(300), udp.recv_from(&mut buf)).await
    {
        answered += 1;
    }
    eprintln!("{answered} of 3000 SOA datagrams answered");
    assert!(
        answered <= 1_100,
        "{answered} answered over a budget of 1,000 a second"
    );

    // With all that held open: a change reaches the fleet, and the API answers.
    let t = Instant::now();
    let (s, b) = env.api(reqwest::Method::GET, "/api/v1/domains", None).await;
    assert_eq!(s, 200, "{b}");
    let api = t.elapsed();
    env.add_record("example.com", "www", "A", "192.0.2.2").await;
    let served = env
        .wait_for(
            "www.example.com.",
            RecordType::A,
            Duration::from_secs(5),
            |m| a_records(m).contains(&"192.0.2.2".to_string()),
        )
        .await;
    eprintln!("under load: API answered in {api:?}; a change served {served:?} after the API call");
    assert!(api < Duration::from_secs(2), "{api:?}");
    drop(held);
}
