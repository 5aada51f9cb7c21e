//! The HTTP server's limits, on a real socket: a client that does not finish its request
//! headers is cut off, a stalled body fails, and past the concurrency limit the answer is 503.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use apex_core::Core;
use apex_core::config::{Config, HttpServer};
use apex_core::queue::Queue;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The platform on a port of its own with `limits`. The handlers used need no database: the
/// pool connects lazily.
async fn server(limits: HttpServer) -> std::net::SocketAddr {
    let mut config = Config::defaults();
    config.rate_limit = false;
    server_with(config, limits).await
}

async fn server_with(config: Config, limits: HttpServer) -> std::net::SocketAddr {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .connect_lazy("postgres://postgres@127.0.0.1:1/none")
        .unwrap();
    let core = Core {
        pool,
        queue: Queue::disabled(),
        platform: Arc::new(config.platform().unwrap()),
    };
    let (addr, task) = apex::start_http_with(core, "127.0.0.1:0".parse().unwrap(), limits)
        .await
        .unwrap();
    // Runs until the test's runtime ends.
    std::mem::drop(task);
    addr
}

fn limits() -> HttpServer {
    HttpServer {
        header_timeout: Duration::from_secs(1),
        body_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(30),
        max_concurrent: 16,
    }
}

/// Reads until the server closes the connection (or `wait` passes); answers what was read
/// and whether it was closed.
async fn read_until_closed(stream: &mut TcpStream, wait: Duration) -> (String, bool) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&got).into(), true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&got).into(), false),
        }
    }
}

#[tokio::test]
async fn half_a_request_line_is_cut_off_after_the_header_timeout() {
    let addr = server(limits()).await;
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /healthz HT").await.unwrap();
    let started = Instant::now();
    let (_, closed) = read_until_closed(&mut slow, Duration::from_secs(5)).await;
    assert!(closed, "the server kept a connection without headers open");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "{took:?}"
    );

    // A whole request is answered as ever.
    let mut ok = TcpStream::connect(addr).await.unwrap();
    ok.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (text, _) = read_until_closed(&mut ok, Duration::from_secs(5)).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
}

#[tokio::test]
async fn a_stalled_body_fails_and_busy_servers_answer_503() {
    let mut l = limits();
    l.max_concurrent = 1;
    let addr = server(l).await;
    // A sign-in whose body never comes: it holds the one request slot while it waits.
    let mut stalled = TcpStream::connect(addr).await.unwrap();
    stalled
        .write_all(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"email\"",
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut other = TcpStream::connect(addr).await.unwrap();
    other
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (text, _) = read_until_closed(&mut other, Duration::from_secs(5)).await;
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("retry-after: 1"),
        "{text}"
    );
    assert!(text.contains("urn:apex:problem:overloaded"), "{text}");

    // The stalled body times out: the request fails, and the slot is free again.
    let (text, _) = read_until_closed(&mut stalled, Duration::from_secs(5)).await;
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    let mut again = TcpStream::connect(addr).await.unwrap();
    again
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (text, _) = read_until_closed(&mut again, Duration::from_secs(5)).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
}

#[tokio::test]
async fn rate_limits_see_the_peer_address() {
    let mut config = Config::defaults();
    config.rate_limit_anonymous_per_minute = 60;
    config.rate_limit_anonymous_burst = 2;
    let addr = server_with(config, limits()).await;
    let mut statuses = vec![];
    for _ in 0..3 {
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"GET /api/v1/domains HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let (text, _) = read_until_closed(&mut c, Duration::from_secs(5)).await;
        assert!(
            text.to_ascii_lowercase()
                .contains("ratelimit-policy: \"anonymous\";q=2;w=2"),
            "{text}"
        );
        statuses.push(text[9..12].to_string());
    }
    // Each connection is new; the address is the same: the third is over the limit.
    assert_eq!(statuses, ["401", "401", "429"]);
}
