//! Response rate limiting on the wire (responses over the rate dropped, every `slip`th sent
//! empty with TC so a real client retries over TCP, TCP unaffected), and
//! the Prometheus metrics that count it all.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use apex_dnsserver::Config;
use common::peers::TempDir;
use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UdpSocket;

const ZONE: &str = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 host 5 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.1\n";

fn query(id: u16) -> Vec<u8> {
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.add_query(Query::query(
        Name::from_ascii("www.example.com.").unwrap(),
        RecordType::A,
    ));
    m.to_vec().unwrap()
}

async fn metrics(addr: std::net::SocketAddr) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).await.unwrap();
    text
}

fn value(text: &str, series: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limited_responses_are_dropped_or_slipped_and_counted() {
    let dir = TempDir::new("rrl");
    let file = dir.path().join("example.com.zone");
    std::fs::write(&file, ZONE).unwrap();
    let toml = format!(
        "listen = [\"127.0.0.1:0\"]\nudp_threads = 1\nmetrics = \"127.0.0.1:0\"\n[[zone]]\nname = \"example.com\"\nfile = \"{}\"\n[rrl]\nresponses_per_second = 10\nslip = 2\n",
        file.display()
    );
    let server = apex_dnsserver::start(Config::from_toml(&toml).unwrap())
        .await
        .unwrap();
    let addr = server.local_addrs()[0];

    // 60 identical queries at once from one client.
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for id in 0..60u16 {
        socket.send_to(&query(id), addr).await.unwrap();
    }
    let (mut full, mut truncated) = (0, 0);
    let mut buf = [0u8; 1500];
    while let Ok(Ok((len, _))) =
        tokio::time::timeout(Duration::from_millis(500), socket.recv_from(&mut buf)).await
    {
        let m = Message::from_vec(&buf[..len]).unwrap();
        if m.metadata.truncation {
            assert!(m.answers.is_empty());
            truncated += 1;
        } else {
            assert_eq!(m.answers.len(), 1);
            full += 1;
        }
    }
    assert!(
        (10..=12).contains(&full),
        "{full} full answers for a budget of 10 per second"
    );
    assert!(
        truncated >= 20,
        "only {truncated} slipped (every second limited response)"
    );
    assert!(full + truncated < 60, "nothing was dropped");

    // Over TCP nothing is limited (the client has proved its address).
    let reply = common::exchange_tcp(addr, &Message::from_vec(&query(999)).unwrap()).await;
    assert_eq!(reply.answers.len(), 1);

    let text = metrics(server.metrics_addr().unwrap()).await;
    assert!(value(&text, "apex_dns_rrl_dropped_total") >= 20, "{text}");
    assert!(value(&text, "apex_dns_rrl_slipped_total") >= 20);
    assert_eq!(value(&text, "apex_dns_queries_total{qtype=\"A\"}"), 61);
    assert_eq!(
        value(&text, "apex_dns_responses_total{rcode=\"NOERROR\"}"),
        61
    );
    assert_eq!(value(&text, "apex_dns_zones{state=\"loaded\"}"), 1);
    assert_eq!(
        value(&text, "apex_dns_zone_queries_total{zone=\"example.com.\"}"),
        61
    );
    assert_eq!(
        value(&text, "apex_dns_zone_serial{zone=\"example.com.\"}"),
        5
    );
}

/// Hardening item 11: one `[[zone]]` file that cannot be loaded (a syntax error, a missing
/// file) does not stop the server: the good zone is served, the bad ones answer SERVFAIL,
/// the failure is in the metrics, and `--check-config` names every bad file and line.
#[tokio::test(flavor = "multi_thread")]
async fn a_bad_zone_file_does_not_stop_the_others() {
    let dir = TempDir::new("badzone");
    let good = dir.path().join("example.com.zone");
    std::fs::write(&good, ZONE).unwrap();
    let bad = dir.path().join("example.org.zone");
    std::fs::write(
        &bad,
        "$ORIGIN example.org.\n$TTL 300\n@ SOA ns1 host 5 3600 600 86400 300\n@ NS ns1\nwww A 192.0.2.300\n",
    )
    .unwrap();
    let missing = dir.path().join("example.net.zone");
    let toml = format!(
        "listen = [\"127.0.0.1:0\"]\nudp_threads = 1\nmetrics = \"127.0.0.1:0\"\n\
         [[zone]]\nname = \"example.org\"\nfile = \"{}\"\n\
         [[zone]]\nname = \"example.com\"\nfile = \"{}\"\n\
         [[zone]]\nname = \"example.net\"\nfile = \"{}\"\n",
        bad.display(),
        good.display(),
        missing.display()
    );
    let config = Config::from_toml(&toml).unwrap();

    let e = format!(
        "{:#}",
        apex_dnsserver::check_zone_files(&config).unwrap_err()
    );
    assert!(e.contains("2 of 3 zone files"), "{e}");
    assert!(e.contains(&format!("{}:5:", bad.display())), "{e}");
    assert!(e.contains("example.net"), "{e}");

    let server = apex_dnsserver::start(config).await.unwrap();
    let addr = server.local_addrs()[0];
    let rcode = |name: &str| {
        let name = name.to_string();
        async move {
            common::ask(addr, &name, RecordType::A)
                .await
                .metadata
                .response_code
        }
    };
    assert_eq!(
        rcode("www.example.com.").await,
        hickory_proto::op::ResponseCode::NoError
    );
    assert_eq!(
        rcode("www.example.org.").await,
        hickory_proto::op::ResponseCode::ServFail
    );
    assert_eq!(
        rcode("www.example.net.").await,
        hickory_proto::op::ResponseCode::ServFail
    );
    let text = metrics(server.metrics_addr().unwrap()).await;
    assert_eq!(
        value(&text, "apex_dns_zone_file_failed{zone=\"example.org.\"}"),
        1
    );
    assert_eq!(
        value(&text, "apex_dns_zone_file_failed{zone=\"example.net.\"}"),
        1
    );
    assert_eq!(value(&text, "apex_dns_zones{state=\"loaded\"}"), 1);
    assert_eq!(value(&text, "apex_dns_zones{state=\"expired\"}"), 2);
}
