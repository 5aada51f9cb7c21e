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

/// Sends `queries` (id, name, type) at once from one socket; answers the replies received
/// within half a second after the last: (full answers, slipped, bytes received).
async fn flood(
    addr: std::net::SocketAddr,
    queries: &[(String, RecordType)],
) -> (usize, usize, usize) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for (id, (name, rtype)) in queries.iter().enumerate() {
        let m = common::query_message(name, *rtype, Some(1232));
        let mut bytes = m.to_vec().unwrap();
        bytes[0..2].copy_from_slice(&(id as u16).to_be_bytes());
        socket.send_to(&bytes, addr).await.unwrap();
    }
    let (mut full, mut slipped, mut bytes) = (0, 0, 0);
    let mut buf = [0u8; 4096];
    while let Ok(Ok((len, _))) =
        tokio::time::timeout(Duration::from_millis(500), socket.recv_from(&mut buf)).await
    {
        bytes += len;
        let m = Message::from_vec(&buf[..len]).unwrap();
        if m.metadata.truncation {
            slipped += 1;
        } else {
            full += 1;
        }
    }
    (full, slipped, bytes)
}

/// Hardening item 4: random labels under a big wildcard, or under a delegation, share one
/// budget (the wildcard's, the delegation point's), and so do errors from the slow path
/// (here: unsigned NOTIFYs, refused). Before, each random name had a budget of its own.
#[tokio::test(flavor = "multi_thread")]
async fn random_labels_under_a_wildcard_or_a_delegation_share_one_budget() {
    let dir = TempDir::new("rrl-amp");
    let file = dir.path().join("example.com.zone");
    // Five TXT strings of 200 bytes: an RRset of about 1,050 bytes on the wire, which still
    // fits a 1,232-byte UDP reply.
    let big: Vec<String> = (0..5)
        .map(|i| format!("\"{}\"", char::from(b'a' + i).to_string().repeat(200)))
        .collect();
    let mut zone = ZONE.to_string();
    for s in &big {
        zone.push_str(&format!("*.amp TXT {s}\n"));
    }
    zone.push_str("sub NS ns.sub\nns.sub A 192.0.2.99\n");
    std::fs::write(&file, zone).unwrap();
    let toml = format!(
        "listen = [\"127.0.0.1:0\"]\nudp_threads = 1\nmetrics = \"127.0.0.1:0\"\n[[zone]]\nname = \"example.com\"\nfile = \"{}\"\n[rrl]\nresponses_per_second = 10\nslip = 2\n",
        file.display()
    );
    let server = apex_dnsserver::start(Config::from_toml(&toml).unwrap())
        .await
        .unwrap();
    let addr = server.local_addrs()[0];

    let amp: Vec<_> = (0..300)
        .map(|i| {
            (
                format!("r{i}x{}.amp.example.com.", i * 7919),
                RecordType::TXT,
            )
        })
        .collect();
    let (full, slipped, bytes) = flood(addr, &amp).await;
    eprintln!("wildcard flood: {full} full, {slipped} slipped, {bytes} bytes for 300 queries");
    assert!(
        full <= 12,
        "{full} full answers for a budget of 10 per second"
    );
    assert!(slipped >= 100, "{slipped} slipped");
    // 300 amplified answers would be over 300 KB.
    assert!(bytes < 12 * 1232 + slipped * 100, "{bytes} bytes sent");

    let referrals: Vec<_> = (0..300)
        .map(|i| (format!("r{i}.sub.example.com."), RecordType::A))
        .collect();
    let (full, _, _) = flood(addr, &referrals).await;
    assert!(full <= 12, "{full} referrals for a budget of 10 per second");

    let notifies: Vec<Vec<u8>> = (0..300u16)
        .map(|id| {
            let mut m = common::notify_message("example.com.", None);
            m.metadata.id = id;
            m.to_vec().unwrap()
        })
        .collect();
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for n in &notifies {
        socket.send_to(n, addr).await.unwrap();
    }
    let mut replies = 0;
    let mut buf = [0u8; 512];
    while let Ok(Ok(_)) =
        tokio::time::timeout(Duration::from_millis(500), socket.recv_from(&mut buf)).await
    {
        replies += 1;
    }
    // At most the budget plus every second one slipped: not 300.
    assert!(
        replies <= 12 + 150,
        "{replies} replies to 300 refused NOTIFYs"
    );
    assert!(replies < 200, "{replies}");

    let text = metrics(server.metrics_addr().unwrap()).await;
    assert!(value(&text, "apex_dns_rrl_dropped_total") >= 300, "{text}");
}
